import tap from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { launchBrowser, loggedIn, serve, shoot } from '../helpers/browser.js'
import { persona, restrict } from '../helpers/personas.js'

tap.test('staff merge a duplicate: it keeps its page with a banner, the board drops it; a silenced member sees why they cannot vote', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const base = await serve(testApp)
  const admin = await persona(app, db, { stem: 'admin', role: 'admin', trustLevel: 4 })
  const other = await persona(app, db, { stem: 'willow', trustLevel: 1 })
  const member = await persona(app, db, { stem: 'maple', trustLevel: 1 })
  const silenced = await persona(app, db, { stem: 'quiet', trustLevel: 1 })
  const ideaId = (await member.client.api('POST', '/api/v1/ideas', { title: 'Dark mode for the reader and the editor', body: 'Reading and writing at night hurts the eyes.' })).data.id as number
  const browser = await launchBrowser(t)
  const cspViolations: string[] = []
  const watch = (page: Page) =>
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text())
    })
  const page = await loggedIn(await browser.newContext({ viewport: { width: 1280, height: 844 } }), member, base)
  watch(page)
  const count = page.locator(`.idea-head [data-vote-count-for="${ideaId}"]`)

  // Staff merge a duplicate into it; the duplicate keeps its page with a banner.
  const duplicate = await other.client.api('POST', '/api/v1/ideas', { title: 'Night theme for reading', body: 'A darker theme for reading at night.' })
  const staff = await loggedIn(await browser.newContext({ viewport: { width: 1280, height: 844 } }), admin, base)
  watch(staff)
  await staff.goto(`${base}/ideas/${duplicate.data.id}`)
  await staff.getByLabel('Merge this idea into idea #').fill(String(ideaId))
  await staff.getByRole('button', { name: 'Merge' }).click()
  await staff.waitForURL(`${base}/ideas/${ideaId}?merged_from=${duplicate.data.id}`)
  t.match(await staff.locator('.idea-page > .notice').first().textContent(), new RegExp(`Idea #${duplicate.data.id} was merged into this one`))
  await page.goto(`${base}/ideas/${duplicate.data.id}`)
  const banner = page.locator('#merged-into')
  t.match(await banner.textContent(), /Merged into Dark mode for the reader and the editor/, 'the merged idea says where it went')
  t.match(await page.locator('.body').textContent(), /A darker theme for reading at night/, 'and keeps its text')
  t.equal(await page.getByRole('button', { name: /Vote for/ }).count(), 0, 'with no vote button of its own')
  await shoot(t, page, 'idea-merged')
  await banner.getByRole('link', { name: 'Go to “Dark mode for the reader and the editor”' }).click()
  await page.waitForURL(`${base}/ideas/${ideaId}`)
  t.equal(await count.textContent(), '2', 'the duplicate’s author vote moved here')
  await page.goto(`${base}/ideas`)
  t.equal(await page.getByRole('link', { name: 'Night theme for reading' }).count(), 0, 'the board does not list the merged idea')

  // A silenced member sees the count and the reason, not a vote button.
  await restrict(db, silenced.id, 'silenced')
  const quiet = await loggedIn(await browser.newContext({ viewport: { width: 1280, height: 844 } }), silenced, base)
  await quiet.goto(`${base}/ideas/${ideaId}`)
  t.equal(await quiet.getByRole('button', { name: /Vote for/ }).count(), 0, 'silenced: no vote button')
  t.match(await quiet.locator('.vote-block').textContent(), /You are silenced until .* and cannot vote/, 'silenced: the reason instead')
  await shoot(t, quiet, 'idea-vote-blocked')

  t.same(cspViolations, [], 'no Content-Security-Policy violations')
})
