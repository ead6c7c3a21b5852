import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { launchBrowser, loggedIn, screenshotPath, serve } from '../helpers/browser.js'
import { forum, startThread } from '../helpers/forum.js'

async function noSidewaysScroll(page: Page): Promise<boolean> {
  return page.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth')
}

t.test('the edit history shows what each edit changed, the title change included', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const body = ['My first keyboard was a membrane one.', '', 'It came with the computer.', '', 'Its keys were grey.', '', 'It lasted ten years.', '', 'Then I switched.'].join('\n')
  const thread = await startThread(f.member, f.cats.open.id, 'Keybord stories', body)
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await loggedIn(context, f.member, base)

  await page.goto(`${base}/p/${thread.postId}/edit`)
  await page.getByLabel('Title').fill('Keyboard stories')
  await page.getByLabel('Your post').fill(body.replace('ten years', 'twelve years').replace('Then I switched.', 'Then I switched to mechanical.'))
  await page.getByLabel('Reason for the edit (optional)').fill('Fixed the title and the dates')
  await page.getByRole('button', { name: 'Save changes' }).click()
  await page.waitForURL(/\/t\/\d+\//)
  // A second edit changes only the text.
  await page.goto(`${base}/p/${thread.postId}/edit`)
  await page.getByLabel('Your post').fill(`${body.replace('ten years', 'twelve years').replace('Then I switched.', 'Then I switched to mechanical.')}\n\nAnd never looked back.`)
  await page.getByRole('button', { name: 'Save changes' }).click()
  await page.waitForURL(/\/t\/\d+\//)
  const revisions = await db.selectFrom('post_revisions').select(['number', 'title', 'reason']).where('post_id', '=', thread.postId).orderBy('number').execute()
  t.same(revisions, [
    { number: 1, title: 'Keybord stories', reason: 'Fixed the title and the dates' },
    { number: 2, title: 'Keyboard stories', reason: '' },
  ], 'each revision keeps the title it replaced and the reason')

  await page.getByRole('link', { name: /edited/ }).first().click()
  await page.waitForURL(/\/revisions$/)
  const edits = page.locator('article.revision')
  t.equal(await edits.count(), 2, 'one entry per edit')
  const newest = edits.nth(0)
  const first = edits.nth(1)
  t.match(await newest.locator('h2').textContent(), /Edit 2/, 'newest first')
  t.equal(await newest.locator('.title-change').count(), 0, 'the second edit did not touch the title')
  t.same(await newest.locator('.diff ins').allTextContents(), ['\n\nAnd never looked back.'], 'it shows only the added paragraph as added')
  t.equal(await newest.locator('.diff del').count(), 0, 'and nothing removed')
  t.match(await first.locator('.title-change').textContent(), 'Title changed from “Keybord stories” to “Keyboard stories”', 'the title change is said in words')
  t.match(await first.locator('.edit-reason').textContent(), 'Fixed the title and the dates', 'with the reason')
  t.same(await first.locator('.diff del').allTextContents(), ['ten'], 'word-level: the replaced word is removed')
  t.same(await first.locator('.diff ins').allTextContents(), ['twelve', ' to mechanical'], 'and the new words added')
  t.notMatch(await first.locator('.diff').textContent(), /My first keyboard/, 'unchanged lines far from a change are left out')
  t.match(await first.locator('.diff-gap').first().textContent(), /unchanged line/, 'and said to be')
  t.equal(await page.locator('.current-text pre').textContent(), `${body.replace('ten years', 'twelve years').replace('Then I switched.', 'Then I switched to mechanical.')}\n\nAnd never looked back.`, 'the whole current text is one click away')

  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 900 })
    t.ok(await noSidewaysScroll(page), `${width}px: the history does not scroll sideways`)
    await page.screenshot({ path: screenshotPath(`revisions-diff-${width}`), fullPage: true })
  }

  // The same history is readable without JavaScript, and only where the post is.
  const guestPage = await (await browser.newContext({ javaScriptEnabled: false })).newPage()
  await guestPage.goto(`${base}/p/${thread.postId}/revisions`)
  t.equal(await guestPage.locator('.title-change').count(), 1, 'a guest who sees the thread sees its history')
  const lounge = await startThread(f.member, f.cats.members.id, 'Members only talk', 'root')
  await f.member.client.api('PATCH', `/api/v1/posts/${lounge.postId}`, { body: 'root, edited', title: 'Members only talk, edited' })
  t.equal((await guestPage.goto(`${base}/p/${lounge.postId}/revisions`))?.status(), 404, 'but not of a members-only thread')
  const api = await f.member.client.api('GET', `/api/v1/posts/${lounge.postId}/revisions`)
  t.match(api.data, { current: { title: 'Members only talk, edited' }, revisions: [{ number: 1, title: 'Members only talk', body: 'root' }] }, 'the API gives titles too')
})
