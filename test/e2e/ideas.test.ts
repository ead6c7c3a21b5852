import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { persona } from '../helpers/personas.js'

t.test('a member proposes an idea, votes for it, and joins a full beta’s waitlist in a real browser', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const base = await serve(testApp)
  const admin = await persona(app, db, { stem: 'admin', role: 'admin', trustLevel: 4 })
  const early = await persona(app, db, { stem: 'early', trustLevel: 1 })
  const member = await persona(app, db, { stem: 'maple', trustLevel: 1 })
  const program = await admin.client.api('POST', '/api/v1/beta', {
    title: 'Offline sync beta',
    description: 'Try **offline sync** before everyone else.',
    capacity: 1,
    questions: [{ id: 'device', label: 'Which device will you test on?', type: 'single_choice', required: true, choices: ['Phone', 'Laptop'] }],
  })
  await early.client.api('POST', `/api/v1/beta/${program.data.id}/signups`, { answers: { device: 'Phone' } })

  const browser = await launchBrowser(t)
  const context = await browser.newContext()
  await context.addCookies([{ name: 'hearth_session', value: member.client.cookies.get('hearth_session')!, url: base }])
  const page = await context.newPage()
  const cspViolations: string[] = []
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text())
  })

  await page.goto(`${base}/ideas`)
  await page.getByRole('link', { name: 'Propose an idea' }).click()
  await page.getByLabel('Title').fill('Offline sync for notes')
  await page.getByLabel('Description').fill('Keep editing notes on the train, and sync when back online.')
  await page.getByLabel('Tags').fill('sync, mobile')
  await page.getByRole('button', { name: 'Post idea' }).click()
  await page.waitForURL(/\/ideas\/\d+\?proposed=1/)
  t.match(await page.locator('.notice.success').textContent(), /Your idea is posted/)
  const ideaId = /\/ideas\/(\d+)/.exec(page.url())![1]!
  const count = page.locator(`.idea-head [data-vote-count-for="${ideaId}"]`)
  t.equal(await count.textContent(), '1', 'the author’s own vote came with the idea')
  await page.getByRole('button', { name: 'Take back your vote for Offline sync for notes' }).click()
  await page.waitForLoadState()
  t.equal(await count.textContent(), '0', 'and can be taken back')

  await page.getByRole('button', { name: 'Vote for Offline sync for notes' }).click()
  await page.waitForLoadState()
  t.equal(await count.textContent(), '1', 'the count went up')
  t.equal(await page.getByRole('button', { name: 'Take back your vote for Offline sync for notes' }).getAttribute('aria-pressed'), 'true')
  t.match(await page.locator('#voters').textContent(), new RegExp(member.username), 'the member is listed as a voter')
  await page.screenshot({ path: screenshotPath('idea'), fullPage: true })

  await page.goto(`${base}/ideas/new`)
  await page.getByLabel('Title').fill('Sync notes when offline')
  await page.getByLabel('Description').fill('Notes should sync after working offline.')
  await page.getByRole('button', { name: 'Post idea' }).click()
  t.match(await page.locator('#similar').textContent(), /Offline sync for notes/, 'a similar idea is shown before saving')
  await page.screenshot({ path: screenshotPath('idea-similar'), fullPage: true })
  await page.getByRole('button', { name: 'Post anyway' }).click()
  await page.waitForURL(/\/ideas\/\d+\?proposed=1/)

  await page.goto(`${base}/ideas`)
  t.equal(await page.locator(`[data-vote-count-for="${ideaId}"]`).textContent(), '1', 'the board shows the count')
  await page.screenshot({ path: screenshotPath('ideas-board'), fullPage: true })

  await page.getByRole('link', { name: 'Beta' }).click()
  await page.getByRole('link', { name: 'Offline sync beta' }).click()
  t.equal(await page.locator('#seats-left').textContent(), '0', 'no seats left')
  await page.getByRole('button', { name: 'Join the waitlist' }).click()
  t.match(await page.locator('.field .error').first().textContent(), /Answer "Which device will you test on\?"/, 'a missing answer is explained')
  await page.getByLabel('Laptop').check()
  await page.getByRole('button', { name: 'Join the waitlist' }).click()
  await page.waitForURL(/\/beta\/\d+/)
  t.match(await page.locator('#my-state').textContent(), /you are #1 on the waitlist/, 'the member sees their waitlist position')
  await page.screenshot({ path: screenshotPath('beta-waitlist'), fullPage: true })

  await early.client.api('DELETE', `/api/v1/beta/${program.data.id}/signups/me`)
  await page.reload()
  t.match(await page.locator('#my-state').textContent(), /You are in/, 'a withdrawal promoted them')
  await page.goto(`${base}/notifications`)
  t.match(await page.locator('main').textContent(), /A seat opened up: you are in the "Offline sync beta" beta/)
  t.same(cspViolations, [], 'no Content-Security-Policy violations')
})
