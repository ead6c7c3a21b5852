import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum, startThread } from '../helpers/forum.js'

/**
 * A reply or a new thread being written survives a reload (and so a crash or a lost
 * connection: it is kept in the browser as the member types), and is dropped once posted.
 */
t.test('drafts: a reply and a new thread survive a reload, and are gone once posted', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const thread = await startThread(f.admin, f.cats.open.id, 'Which keyboard should I buy?', 'Looking for advice.')
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 390, height: 900 } })
  await context.addCookies([...f.member.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const page = await context.newPage()
  const violations: string[] = []
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text())
  })
  const reply = page.getByLabel('Your reply')
  const text = 'A long answer I do not want to lose.\n\n    with code\n\nand a last line'

  await page.goto(`${base}${thread.url}`)
  await reply.fill(text)
  await page.waitForTimeout(500)
  await page.reload()
  t.equal(await reply.inputValue(), text, 'after a reload the reply is back, byte for byte')
  t.match(await page.locator('.draft-note').textContent(), /unsent draft is back/, 'and the page says so')
  await page.screenshot({ path: screenshotPath('draft-restored-390') })

  // A preview keeps the draft; posting drops it.
  await page.getByRole('button', { name: 'Preview' }).click()
  await page.waitForSelector('.preview')
  await page.reload()
  t.equal(await reply.inputValue(), text, 'a preview (and a reload after it) keeps the text')
  await page.getByRole('button', { name: 'Post reply' }).click()
  await page.waitForURL(/#p\d+$/)
  t.equal(await reply.inputValue(), '', 'once posted, the composer is empty')
  t.equal(await page.locator('.draft-note').count(), 0, 'and no draft comes back')
  await page.reload()
  t.equal(await reply.inputValue(), '', 'not even after a reload')
  const stored = await db.selectFrom('posts').select('body_md').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow()
  t.equal(stored.body_md, text, 'the reply was stored once, as written')

  // A new thread: title and body come back; discarding clears them.
  await page.goto(`${base}/c/general/new`)
  await page.getByLabel('Title').fill('Mechanical or membrane?')
  await page.getByLabel('Your post').fill('Tell me what you type on.')
  await page.waitForTimeout(500)
  await page.goto(`${base}/`)
  await page.goto(`${base}/c/general/new`)
  t.equal(await page.getByLabel('Title').inputValue(), 'Mechanical or membrane?', 'the title is back')
  t.equal(await page.getByLabel('Your post').inputValue(), 'Tell me what you type on.', 'and the body')
  await page.getByRole('button', { name: 'Discard it' }).click()
  t.equal(await page.getByLabel('Title').inputValue(), '', 'discarding clears the form')
  await page.reload()
  t.equal(await page.getByLabel('Your post').inputValue(), '', 'and the draft is gone')
  t.same(violations, [], 'no CSP violations')
})
