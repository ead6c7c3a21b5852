import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum } from '../helpers/forum.js'
import { members } from '../helpers/members.js'

t.setTimeout(300_000)

t.test('staff build a survey in the browser, a member answers it (with and without JavaScript), staff read the results', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const admin = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  await admin.addCookies([...f.admin.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const page = await admin.newPage()

  // The builder.
  await page.goto(`${base}/admin/surveys`)
  await page.screenshot({ path: screenshotPath('surveys-admin-empty-1280'), fullPage: true })
  await page.getByRole('link', { name: 'New survey' }).click()
  await page.getByLabel('Title').fill('How are we doing this spring?')
  await page.locator('#f-intro').fill('Two minutes, **four questions**. Thank you!')
  await page.getByLabel('Anonymous answers').uncheck()
  await page.locator('#f-closesAt').fill('2030-06-30T18:00')
  await page.locator('#q1-label').fill('How likely are you to recommend this community to a friend?')
  await page.locator('#q1-kind').selectOption('nps')
  await page.locator('input[name="q1_required"]').check()
  await page.locator('#q2-label').fill('What is the one thing we should improve?')
  await page.locator('#q2-kind').selectOption('text')
  await page.locator('#q3-label').fill('Which parts do you use?')
  await page.locator('#q3-kind').selectOption('multiple')
  await page.locator('#q3-choices').fill('Forums\nIdeas\nBetas')
  await page.locator('#q4-label').fill('How satisfied are you with the forum?')
  await page.locator('#q4-kind').selectOption('csat')
  await page.screenshot({ path: screenshotPath('surveys-builder-1280'), fullPage: true })
  await page.getByRole('button', { name: 'Create survey' }).click()
  await page.waitForURL(/\/surveys\/\d+\/results\?created=1$/)
  const id = Number(/\/surveys\/(\d+)\//.exec(page.url())![1])
  t.match(await page.locator('.notice.success').textContent(), /The survey is created/)

  // A member answers with JavaScript at 390 px; another without JavaScript at 1280 px.
  const crowd = await members(app, db, 12, { trustLevel: 1 })
  for (const [i, [width, js]] of ([[390, true], [1280, false]] as const).entries()) {
    const m = crowd[i]!
    const context = await browser.newContext({ viewport: { width, height: 900 }, javaScriptEnabled: js })
    await context.addCookies([...m.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    const p = await context.newPage()
    await p.goto(`${base}/surveys/${id}`)
    t.equal(await p.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth'), true, `answer page fits ${width}px`)
    await p.screenshot({ path: screenshotPath(`surveys-answer-${width}`), fullPage: true })
    // Sending without the required NPS: the page says which question.
    await p.getByRole('button', { name: 'Send my answers' }).click()
    await p.locator('.survey-question.has-error').waitFor()
    t.match(await p.locator('.survey-question.has-error').textContent(), /Question 1 needs an answer/)
    await p.locator('#q1 label.scale-step', { hasText: i === 0 ? '10' : '3' }).first().click()
    await p.locator('#f-q2').fill(i === 0 ? 'More events in the evening' : 'Search should find old threads')
    await p.getByLabel('Forums').check()
    await p.locator('#q4 label.scale-step', { hasText: i === 0 ? '5' : '2' }).click()
    await p.getByRole('button', { name: 'Send my answers' }).click()
    await p.waitForURL(/\?thanks=/)
    t.match(await p.locator('.notice.success').textContent(), /Thank you!/)
    if (i === 0) t.match(await p.locator('.notice.success').textContent(), /Your personal invite link/, 'the promoter is asked to share their link')
    await p.screenshot({ path: screenshotPath(`surveys-thanks-${width}`), fullPage: true })
    await context.close()
  }
  // More answers through the API so the results have shape.
  for (const [i, m] of crowd.slice(2).entries()) {
    await m.client.api('POST', `/api/v1/surveys/${id}/answers`, { answers: { q1: [10, 9, 9, 8, 7, 6, 3, 10, 9, 0][i], q3: ['Forums', 'Ideas'].slice(0, 1 + (i % 2)), q4: 1 + (i % 5) } })
  }

  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 900 })
    await page.goto(`${base}/surveys/${id}/results`)
    t.match(await page.locator('.nps-box').textContent(), /95% interval/)
    t.equal(await page.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth'), true, `results fit ${width}px`)
    await page.screenshot({ path: screenshotPath(`surveys-results-${width}`), fullPage: true })
  }
  // Turn the detractor's words into an idea, in one click.
  await page.locator('.text-answers li', { hasText: 'Search should find old threads' }).getByRole('button', { name: 'Turn into an idea' }).click()
  await page.waitForLoadState()
  t.match(page.url(), /\/ideas\/\d+$/, 'on the new idea', { body: (await page.content()).slice(0, 3000) })
  t.match(await page.locator('h1').textContent(), /Search should find old threads/)
  t.match(await page.locator('.idea-source').textContent(), /comes from an answer to the community survey/)
  await page.goto(`${base}/admin/surveys/followups`)
  // Detractors (0–6) of an attributed survey: the 3 from the browser, and the 6, 3 and 0 sent through the API.
  t.equal(await page.locator('.followup').count(), 4, 'a follow-up per attributed detractor')
  await page.locator('.followup').first().getByLabel('Status').selectOption('contacted')
  await page.locator('.followup').first().getByRole('button', { name: 'Save' }).click()
  await page.waitForURL(/\/admin\/surveys\/followups$/)
  await page.screenshot({ path: screenshotPath('surveys-followups-1280'), fullPage: true })
  await page.goto(`${base}/admin/surveys`)
  await page.screenshot({ path: screenshotPath('surveys-admin-1280'), fullPage: true })
})
