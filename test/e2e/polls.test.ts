import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum, startThread } from '../helpers/forum.js'
import { persona } from '../helpers/personas.js'

t.setTimeout(300_000)

const POLLS = [
  '```poll\ntitle: Which city for the meet-up?\n- Lisbon\n- Porto\n- Faro\n```',
  '```poll\ntitle: What do you use us for?\ntype: multiple\nmin: 1\nmax: 2\npublic: true\n- Notes\n- Tasks\n- Calendars\n```',
  '```poll\ntitle: Rank the next features\ntype: ranked\n- Offline mode\n- Dark theme\n- Sharing\n```',
  '```poll\ntitle: How likely are you to come?\ntype: number\nmin: 1\nmax: 5\nresults: voted\n```',
]

async function pollsOf(page: Page) {
  return page.locator('section.poll')
}

t.test('taking polls in a browser: with JavaScript in place (and live for another reader), without JavaScript by form', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Meet-up planning: four polls', `Help us plan.\n\n${POLLS.join('\n\n')}`)
  const others = await Promise.all([1, 2, 3].map((i) => persona(app, db, { stem: `early${i}`, trustLevel: 1 })))
  const ids = (await db.selectFrom('polls').select('id').where('post_id', '=', thread.postId).orderBy('position').execute()).map((p) => Number(p.id))
  const opts = async (pollId: number) => (await db.selectFrom('poll_options').select('id').where('poll_id', '=', pollId).orderBy('position').execute()).map((o) => Number(o.id))
  // A few votes already in, so results have shape.
  for (const [i, o] of others.entries()) {
    await o.client.api('POST', `/api/v1/polls/${ids[0]}/votes`, { choices: [(await opts(ids[0]!))[i % 2]] })
    await o.client.api('POST', `/api/v1/polls/${ids[1]}/votes`, { choices: [(await opts(ids[1]!))[i % 3]] })
    await o.client.api('POST', `/api/v1/polls/${ids[2]}/votes`, { choices: (await opts(ids[2]!)).slice(i % 2).reverse() })
    await o.client.api('POST', `/api/v1/polls/${ids[3]}/votes`, { choices: [(await opts(ids[3]!))[2 + (i % 3)]] })
  }

  const base = await serve(testApp)
  const browser = await launchBrowser(t)

  for (const width of [390, 1280]) {
    const voter = await persona(app, db, { stem: `voter${width}`, trustLevel: 1 })
    const context = await browser.newContext({ viewport: { width, height: 900 } })
    await context.addCookies([...voter.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    const page = await context.newPage()
    // A second reader with the page open sees the count change live.
    const watcherContext = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    await watcherContext.addCookies([...f.regular.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    const watcher = await watcherContext.newPage()
    await watcher.goto(`${base}${thread.url}`)
    await page.goto(`${base}${thread.url}`)
    t.equal(await (await pollsOf(page)).count(), 4, 'four polls under the opening post')
    await page.locator('.post').first().screenshot({ path: screenshotPath(`polls-before-${width}`) })
    const scroll = await page.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth')
    t.ok(scroll, `no sideways scroll at ${width}px`)

    // Single choice, in place: no page load.
    const marker = await page.evaluate('window.__stay = Math.random()')
    const single = page.locator(`#poll-${ids[0]}`)
    await single.getByLabel('Porto').check()
    await single.getByRole('button', { name: 'Vote' }).click()
    await page.locator(`#poll-${ids[0]} .poll-mine`).waitFor()
    t.equal(await page.evaluate('window.__stay'), marker, 'voted in place, the page did not reload')
    t.match(await page.locator(`#poll-${ids[0]}`).textContent(), /your vote/)
    await watcher.locator(`#poll-${ids[0]} [data-poll-voters]`, { hasText: /^(4|5) voters$/ }).waitFor()
    t.pass('the other reader’s page updated live')

    // Multiple: two boxes.
    const multiple = page.locator(`#poll-${ids[1]}`)
    await multiple.getByLabel('Notes').check()
    await multiple.getByLabel('Calendars').check()
    await multiple.getByRole('button', { name: 'Vote' }).click()
    await page.locator(`#poll-${ids[1]} .poll-mine`).waitFor()
    t.match(await page.locator(`#poll-${ids[1]} .poll-names`).first().textContent(), new RegExp(voter.username), 'public poll: my name by my choice')

    // Ranked: choose ranks in the selects.
    const ranked = page.locator(`#poll-${ids[2]}`)
    await ranked.getByLabel('Sharing').selectOption('1')
    await ranked.getByLabel('Offline mode').selectOption('2')
    await ranked.getByRole('button', { name: 'Vote' }).click()
    await page.locator(`#poll-${ids[2]} .poll-mine`).waitFor()
    t.match(await page.locator(`#poll-${ids[2]} .poll-mine`).textContent(), /1\. Sharing 2\. Offline mode/)
    t.match(await page.locator(`#poll-${ids[2]}`).textContent(), /Round 1/)

    // Number, results after voting: hidden before, shown after.
    const number = page.locator(`#poll-${ids[3]}`)
    t.match(await number.textContent(), /Vote to see the results/)
    await number.locator('label.poll-step', { hasText: '4' }).click()
    await number.getByRole('button', { name: 'Vote' }).click()
    await page.locator(`#poll-${ids[3]} .poll-average`).waitFor()
    await page.locator('.post').first().screenshot({ path: screenshotPath(`polls-after-${width}`) })

    // A bad ballot says why, in place.
    await page.locator(`#poll-${ids[1]} details.poll-change summary`).click()
    const change = page.locator(`#poll-${ids[1]} details.poll-change form`).first()
    for (const box of await change.locator('input[type=checkbox]').all()) await box.check()
    await change.getByRole('button', { name: 'Save my vote' }).click()
    await page.locator(`#poll-${ids[1]} [data-poll-error]:not([hidden])`).waitFor()
    t.match(await page.locator(`#poll-${ids[1]} [data-poll-error]:not([hidden])`).textContent(), /Choose between 1 and 2 options/)

    const counted = await db.selectFrom('poll_ballots').select('poll_id').where('user_id', '=', voter.id).orderBy('poll_id').execute()
    t.same(counted.map((c) => Number(c.poll_id)), ids, `all four votes counted at ${width}px`)
    await context.close()
    await watcherContext.close()
  }

  // Without JavaScript: the form posts, the server answers with the post, at the poll.
  const nojsVoter = await persona(app, db, { stem: 'nojs', trustLevel: 1 })
  const context = await browser.newContext({ viewport: { width: 390, height: 900 }, javaScriptEnabled: false })
  await context.addCookies([...nojsVoter.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const page = await context.newPage()
  await page.goto(`${base}${thread.url}`)
  const single = page.locator(`#poll-${ids[0]}`)
  await single.getByLabel('Faro').check()
  await single.getByRole('button', { name: 'Vote' }).click()
  await page.waitForURL(new RegExp(`#poll-${ids[0]}$`))
  t.match(await page.locator(`#poll-${ids[0]}`).textContent(), /You voted/)
  const ranked = page.locator(`#poll-${ids[2]}`)
  await ranked.getByLabel('Dark theme').selectOption('1')
  await ranked.getByRole('button', { name: 'Vote' }).click()
  await page.waitForURL(new RegExp(`#poll-${ids[2]}$`))
  t.match(await page.locator(`#poll-${ids[2]} .poll-mine`).textContent(), /1\. Dark theme/)
  // A ballot that does not fit: the poll's own page with the message.
  const multiple = page.locator(`#poll-${ids[1]}`)
  await multiple.getByRole('button', { name: 'Vote' }).click()
  t.match(await page.locator('.notice.error').textContent(), /Your vote was not counted: Choose an option/)
  await page.screenshot({ path: screenshotPath('polls-nojs-error-390'), fullPage: true })
  await page.locator(`#poll-${ids[1]}`).getByLabel('Tasks').check()
  await page.locator(`#poll-${ids[1]}`).getByRole('button', { name: 'Vote' }).click()
  await page.waitForURL(new RegExp(`/t/${thread.id}/.*#poll-${ids[1]}$`))
  // Take it back, then the vote form is there again.
  await page.locator(`#poll-${ids[0]} details.poll-change summary`).click()
  await page.locator(`#poll-${ids[0]}`).getByRole('button', { name: 'Take my vote back' }).click()
  await page.waitForURL(new RegExp(`#poll-${ids[0]}$`))
  t.equal(await page.locator(`#poll-${ids[0]} .poll-mine`).count(), 0, 'vote taken back')
  const rows = await db.selectFrom('poll_ballots').select('poll_id').where('user_id', '=', nojsVoter.id).orderBy('poll_id').execute()
  t.same(rows.map((r) => Number(r.poll_id)), [ids[1], ids[2]], 'without JavaScript: two votes stand, one taken back')
  await context.close()
})
