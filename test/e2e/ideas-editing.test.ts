import tap from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { launchBrowser, loggedIn, serve, shoot } from '../helpers/browser.js'
import { persona } from '../helpers/personas.js'

tap.test('a member proposes with live similar ideas, edits the idea and reads its history', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const base = await serve(testApp)
  const admin = await persona(app, db, { stem: 'admin', role: 'admin', trustLevel: 4 })
  const other = await persona(app, db, { stem: 'willow', trustLevel: 1 })
  const member = await persona(app, db, { stem: 'maple', trustLevel: 1 })
  const existing = await other.client.api('POST', '/api/v1/ideas', { title: 'Offline sync for notes', body: 'Keep editing notes on the train, and sync when back online.' })
  await admin.client.api('PUT', `/api/v1/ideas/${existing.data.id}/vote`)

  const browser = await launchBrowser(t)
  const cspViolations: string[] = []
  const watch = (page: Page) =>
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text())
    })
  const page = await loggedIn(await browser.newContext({ viewport: { width: 1280, height: 844 } }), member, base)
  watch(page)

  // Live similar ideas while typing the title.
  await page.goto(`${base}/ideas/new`)
  const live = page.locator('[data-similar-live]')
  t.equal(await live.isHidden(), true, 'nothing to say before typing')
  await page.getByLabel('Title').pressSequentially('Sync my notes offl', { delay: 20 })
  await live.getByRole('link', { name: 'Offline sync for notes' }).waitFor()
  t.match(await live.textContent(), /Similar ideas: is yours among them\?.*2 votesOffline sync for notesOpen/s, 'the similar idea shows with its votes and status')
  t.equal(await live.getByRole('link', { name: 'Offline sync for notes' }).getAttribute('href'), `/ideas/${existing.data.id}`)
  await page.getByLabel('Description').fill('Notes should sync after working offline.')
  await shoot(t, page, 'idea-new-similar-live')

  await page.getByLabel('Title').fill('Dark mode for the reader')
  await page.getByLabel('Title').press('End')
  await live.waitFor({ state: 'hidden' })
  t.pass('the list goes away when nothing is similar')
  await page.getByLabel('Description').fill('Reading at night hurts the eyes.')
  await page.getByRole('button', { name: 'Post idea' }).click()
  await page.waitForURL(/\/ideas\/\d+\?proposed=1/)
  const ideaId = Number(/\/ideas\/(\d+)/.exec(page.url())![1])
  t.match(await page.locator('.notice.success').textContent(), /Your idea is posted with your vote/)
  const count = page.locator(`.idea-head [data-vote-count-for="${ideaId}"]`)
  t.equal(await count.textContent(), '1', 'the author’s vote is in')
  await page.getByRole('button', { name: 'Take back your vote for Dark mode for the reader' }).click()
  await page.waitForLoadState()
  t.equal(await count.textContent(), '0', 'and can be taken back')
  await page.getByRole('button', { name: 'Vote for Dark mode for the reader' }).click()
  await page.waitForLoadState()
  t.equal(await count.textContent(), '1')

  // Editing, then the history.
  await page.getByRole('link', { name: 'Edit idea' }).click()
  await page.waitForURL(`${base}/ideas/${ideaId}/edit`)
  t.equal(await page.getByLabel('Title').inputValue(), 'Dark mode for the reader')
  await page.getByLabel('Title').fill('Dark mode for the reader and the editor')
  await page.getByLabel('Description').fill('Reading and writing at night hurts the eyes.')
  await shoot(t, page, 'idea-edit-form')
  await page.getByRole('button', { name: 'Save changes' }).click()
  await page.waitForURL(`${base}/ideas/${ideaId}?saved=1`)
  t.match(await page.locator('h1').textContent(), /Dark mode for the reader and the editor/)
  t.match(await page.locator('.notice.success').textContent(), /Your changes are saved/)
  await shoot(t, page, 'idea-page-edited')
  await page.getByRole('link', { name: /^edited/ }).click()
  await page.waitForURL(`${base}/ideas/${ideaId}/history`)
  t.match(await page.locator('.revision ins').first().textContent(), /^\s*and the editor\s*$/, 'the history marks what was added')
  t.match(await page.locator('.revision').first().textContent(), new RegExp(`Edit 1 by ${member.username}`))
  await shoot(t, page, 'idea-history')

  t.same(cspViolations, [], 'no Content-Security-Policy violations')
})
