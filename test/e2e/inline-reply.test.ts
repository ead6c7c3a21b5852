import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { launchBrowser, loggedIn, screenshotPath, serve, watchCsp } from '../helpers/browser.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

async function noSidewaysScroll(page: Page): Promise<boolean> {
  return page.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth')
}

t.test('inline reply: opens under the post, posts without a reload, appears once, clears its draft', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const thread = await startThread(f.admin, f.cats.open.id, 'Show your desk setup', 'Photos welcome.')
  const answered = await replyTo(f.regular, thread.id, 'Mine is a **plain** table and a lamp.')
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const violations: string[] = []

  for (const width of [390, 1280]) {
    const context = await browser.newContext({ viewport: { width, height: 900 } })
    const page = await loggedIn(context, f.member, base)
    watchCsp(page, violations)
    await page.goto(`${base}${thread.url}`)
    // A marker on the window: it survives only if the page is never reloaded.
    await page.evaluate('window.__sameDocument = true')
    const post = page.locator(`#p${answered}`)
    const replyLink = post.locator(':scope > footer').getByRole('link', { name: 'Reply', exact: true })
    t.match(await replyLink.getAttribute('href'), `/t/${thread.id}/reply/${answered}`, 'the link keeps its page for browsers without JavaScript')
    await replyLink.click()
    const composer = post.locator(':scope > .inline-composer')
    await composer.waitFor()
    const textarea = composer.getByLabel(`Reply to ${f.regular.username}`)
    t.equal(await page.evaluate('document.activeElement && document.activeElement.id'), `f-body-${answered}`, `${width}px: the composer opens under the post, focused`)
    t.equal(await textarea.count(), 1, 'labelled for whom it is')
    t.equal(new URL(page.url()).pathname, new URL(`${base}${thread.url}`).pathname, 'without leaving the thread')

    // A refused reply shows the API's field error in place and keeps the text.
    await app.hearth.settings.set('max_post_length', 100)
    const text = `A standing desk at ${width}px changed my back, my mornings and, to be honest, my whole relationship with the chair I had.`
    await textarea.fill(text)
    await composer.getByRole('button', { name: 'Post reply' }).click()
    const error = composer.locator(`#f-body-${answered}-error`)
    await error.waitFor()
    t.match(await error.textContent(), /at most 100 characters/, 'the field error is shown under the text')
    t.equal(await textarea.getAttribute('aria-invalid'), 'true')
    t.equal(await textarea.inputValue(), text, 'the text is kept')
    await app.hearth.settings.set('max_post_length', 65_536)

    await page.waitForTimeout(400)
    const draftKey = `hearth:draft:reply-${thread.id}-${answered}`
    t.match(await page.evaluate(`localStorage.getItem(${JSON.stringify(draftKey)})`), text.slice(0, 10), 'the draft is kept as they type')
    await page.screenshot({ path: screenshotPath(`composer-inline-${width}`) })
    t.ok(await noSidewaysScroll(page), `${width}px: no sideways scroll with the composer open`)

    await composer.getByRole('button', { name: 'Post reply' }).click()
    const stored = await (async () => {
      for (let i = 0; i < 50; i++) {
        const row = await db.selectFrom('posts').select(['id', 'parent_id', 'body_md']).where('body_md', '=', text).executeTakeFirst()
        if (row) return row
        await page.waitForTimeout(100)
      }
      return null
    })()
    t.ok(stored, 'the reply is stored')
    t.equal(stored?.parent_id, answered, 'as a reply to that post')
    const inserted = page.locator(`#p${stored!.id}`)
    await inserted.waitFor()
    t.match(await inserted.locator('.post-body').textContent(), text, 'the new post is on the page')
    t.equal(await post.locator(`:scope > details.replies #p${stored!.id}`).count(), 1, 'under the post it answers')
    t.equal(await page.evaluate('window.__sameDocument'), true, 'the page was not reloaded')
    t.match(page.url(), new RegExp(`#p${stored!.id}$`), 'the address points at the new post')
    t.equal(await composer.count(), 0, 'the inline composer closed')
    t.equal(await page.evaluate(`localStorage.getItem(${JSON.stringify(draftKey)})`), null, 'its draft is gone')
    // The live event of this very post arrives too: it must not add it again nor announce it as new.
    await app.hearth.relay.drain()
    await page.waitForTimeout(1200)
    t.equal(await page.locator(`[id="p${stored!.id}"]`).count(), 1, 'the post is on the page once')
    t.ok(await page.locator('[data-live-new-bar]').isHidden(), 'and is not announced as a new reply')
    t.equal(await inserted.getByRole('link', { name: 'Edit' }).count(), 1, 'its author can edit it from there')
    await page.reload()
    t.equal(await page.locator(`[id="p${stored!.id}"]`).count(), 1, 'after a reload it is there once')
    t.equal(await page.locator('.inline-composer').count(), 0)

    // Quote opens the composer with the post quoted as Markdown.
    await post.locator(':scope > footer').getByRole('link', { name: 'Quote' }).click()
    const quoteBox = post.locator(':scope > .inline-composer textarea')
    await quoteBox.waitFor()
    await page.waitForFunction(`document.querySelector('.inline-composer textarea').value.length > 0`)
    t.equal(await quoteBox.inputValue(), `> @${f.regular.username} wrote:\n> Mine is a **plain** table and a lamp.\n\n`, 'Quote starts the reply with the post, quoted')
    await post.locator(':scope > .inline-composer').getByRole('button', { name: 'Cancel' }).click()
    t.equal(await page.locator('.inline-composer').count(), 0, 'Cancel closes it')
    await context.close()
  }
  t.same(violations, [], 'no CSP violations')
})

