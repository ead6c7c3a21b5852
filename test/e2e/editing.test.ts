import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum } from '../helpers/forum.js'

/**
 * Every form that puts a member's text back into a textarea (edit, a form returned with an
 * error, the quote prefill, the idea form, the bio) must give back exactly what was stored:
 * saving it unchanged stores the same bytes. An indented `{{> partial}}` once indented every
 * line after the first by four spaces on each save, turning posts into code blocks.
 */
const SOURCE = [
  'First paragraph with **bold** and `code`.',
  '',
  'Second paragraph, then indented code:',
  '',
  '    const a = 1',
  '        nested()',
  '',
  '',
  '- a list item',
  '  continued under it',
  '',
  '```',
  'fenced',
  '  two spaces in',
  '\ttab in',
  '```',
  'Last line < & > "quoted"',
].join('\n')

const BIO = 'I make things.\n\n    indented line\n  two spaces\n\nLast line'

t.test('saving any re-rendered textarea unchanged stores byte-identical text', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  // The same text goes in again and again, which the spam score takes for a flood; this test
  // is about the text surviving, so holding is off (101 is above any score).
  await app.hearth.settings.set('spam_hold_score', 101)
  await app.hearth.settings.set('spam_reject_score', 101)
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const context = await browser.newContext()
  await context.addCookies([...f.member.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const page = await context.newPage()
  const body = (postId: number) => db.selectFrom('posts').select(['body_md', 'revision_count']).where('id', '=', postId).executeTakeFirstOrThrow()
  const textarea = (p: Page) => p.locator('textarea[name=body]').first()
  const newestPost = async () => (await db.selectFrom('posts').select('id').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow()).id

  // New thread, returned with an error (title too short), then submitted with the text untouched.
  await page.goto(`${base}/c/general/new`)
  await page.getByLabel('Title').fill('Hi')
  await page.getByLabel('Your post').fill(SOURCE)
  await page.getByRole('button', { name: 'Start thread' }).click()
  await page.waitForSelector('#f-title-error')
  t.equal(await textarea(page).inputValue(), SOURCE, 'the new-thread form comes back with the text as written')
  await page.getByLabel('Title').fill('Formatting that must survive')
  await page.getByRole('button', { name: 'Start thread' }).click()
  await page.waitForURL(/\/t\/\d+\//)
  const threadUrl = page.url().replace(/#.*$/, '')
  const opId = await newestPost()
  t.equal((await body(opId)).body_md, SOURCE, 'the opening post is stored as written (line breaks as LF)')

  // Edit, saved unchanged three times.
  for (let i = 1; i <= 3; i++) {
    await page.goto(`${base}/p/${opId}/edit`)
    t.equal(await textarea(page).inputValue(), SOURCE, `edit form ${i} shows the source exactly`)
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.waitForURL(/\/t\/\d+\//)
    const stored = await body(opId)
    t.equal(stored.body_md, SOURCE, `save ${i} leaves the source byte-identical`)
    t.equal(stored.revision_count, 0, 'and records no revision')
  }

  // A post written through the API (LF) and saved unchanged from the browser (CRLF) stays the same.
  const apiPost = (await f.member.client.api('POST', `/api/v1/threads/${/\/t\/(\d+)/.exec(threadUrl)![1]}/posts`, { body: SOURCE })).data.id as number
  await page.goto(`${base}/p/${apiPost}/edit`)
  await page.getByRole('button', { name: 'Save changes' }).click()
  await page.waitForURL(/\/t\/\d+\//)
  t.same(await body(apiPost), { body_md: SOURCE, revision_count: 0 }, 'an API-written post saved from the browser is unchanged')

  // A reply on the thread page, returned with an error (too long), then posted unchanged.
  await app.hearth.settings.set('max_post_length', 100)
  await page.goto(threadUrl)
  await page.getByLabel('Your reply').fill(SOURCE)
  await page.getByRole('button', { name: 'Post reply' }).click()
  await page.waitForSelector('#f-body-error')
  t.equal(await textarea(page).inputValue(), SOURCE, 'the thread page’s reply form comes back with the text as written')
  await app.hearth.settings.set('max_post_length', 65_536)
  await page.getByRole('button', { name: 'Post reply' }).click()
  await page.waitForURL(/#p\d+$/)
  t.equal((await body(await newestPost())).body_md, SOURCE, 'the reply is stored as written')

  // A reply to a post (its own page), returned with an error, then posted unchanged.
  await app.hearth.settings.set('max_post_length', 100)
  await page.goto(`${threadUrl.replace(/\/t\/(\d+)\/.*$/, '/t/$1')}/reply/${opId}`)
  await page.getByLabel('Your reply').fill(SOURCE)
  await page.getByRole('button', { name: 'Post reply' }).click()
  await page.waitForSelector('#f-body-error')
  t.equal(await textarea(page).inputValue(), SOURCE, 'the reply page comes back with the text as written')
  await app.hearth.settings.set('max_post_length', 65_536)
  await page.getByRole('button', { name: 'Post reply' }).click()
  await page.waitForURL(/#p\d+$/)
  t.equal((await body(await newestPost())).body_md, SOURCE, 'the nested reply is stored as written')

  // The quote prefill: posted unchanged, the quote is exactly the quoted post, line by line.
  await page.goto(`${threadUrl.replace(/\/t\/(\d+)\/.*$/, '/t/$1')}/reply/${opId}?quote=1`)
  const quoted = `> @${f.member.username} wrote:\n${SOURCE.split('\n').map((l) => `> ${l}`).join('\n')}\n\n`
  t.equal(await textarea(page).inputValue(), quoted, 'the quote prefill is the post, each line quoted, nothing indented')
  await page.getByLabel('Your reply').press('End')
  await page.getByRole('button', { name: 'Post reply' }).click()
  await page.waitForURL(/#p\d+$/)
  t.equal((await body(await newestPost())).body_md, quoted, 'the quoting reply is stored as shown')

  // An idea proposal returned with an error, then posted unchanged; the idea keeps the text.
  await page.goto(`${base}/ideas/new`)
  await page.getByLabel('Title').fill('Hi')
  await page.getByLabel('Description').fill(SOURCE)
  await page.getByRole('button', { name: 'Post idea' }).click()
  await page.waitForSelector('#f-title-error')
  t.equal(await page.getByLabel('Description').inputValue(), SOURCE, 'the idea form comes back with the text as written')
  await page.getByLabel('Title').fill('Keep code blocks intact everywhere')
  await page.getByRole('button', { name: 'Post idea' }).click()
  const anyway = page.getByRole('button', { name: 'Post anyway' })
  await Promise.race([page.waitForURL(/\/ideas\/\d+/), anyway.waitFor()])
  if (await anyway.isVisible()) {
    // Similar ideas exist: the form came back again, with the text untouched.
    t.equal(await page.getByLabel('Description').inputValue(), SOURCE, 'the similar-ideas form keeps the text')
    await anyway.click()
    await page.waitForURL(/\/ideas\/\d+/)
  }
  const idea = await db.selectFrom('ideas').select('body_md').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow()
  t.equal(idea.body_md, SOURCE, 'the idea is stored as written')

  // The bio, saved and then saved unchanged.
  await page.goto(`${base}/settings`)
  await page.getByLabel('About you').fill(BIO)
  await page.getByRole('button', { name: 'Save profile' }).click()
  await page.waitForURL(/saved=profile/)
  for (let i = 1; i <= 2; i++) {
    await page.goto(`${base}/settings`)
    t.equal(await page.getByLabel('About you').inputValue(), BIO, `the bio field ${i} shows the bio exactly`)
    await page.getByRole('button', { name: 'Save profile' }).click()
    await page.waitForURL(/saved=profile/)
    const user = await db.selectFrom('users').select('bio').where('id', '=', f.member.id).executeTakeFirstOrThrow()
    t.equal(user.bio, BIO, `bio save ${i} is byte-identical`)
  }
})

t.test('Preview, without JavaScript: the same form with the rendered post above it and the text unchanged', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  // The same text goes in again and again, which the spam score takes for a flood; this test
  // is about the text surviving, so holding is off (101 is above any score).
  await app.hearth.settings.set('spam_hold_score', 101)
  await app.hearth.settings.set('spam_reject_score', 101)
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  for (const width of [390, 1280]) {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width, height: 900 } })
    await context.addCookies([...f.member.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    const page = await context.newPage()
    const newest = async () => (await db.selectFrom('posts').select(['id', 'body_md']).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow())
    const countPosts = async () => Number((await db.selectFrom('posts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
    const expectPreview = async (what: string) => {
      const preview = page.locator('.preview .post-body')
      t.equal(await preview.locator('strong', { hasText: 'bold' }).count(), 1, `${what}: the preview is rendered`)
      t.match(await preview.locator('pre code').first().textContent(), /const a = 1\n {4}nested\(\)/, `${what}: indented code is a code block`)
      t.equal(await page.locator('textarea[name=body]').inputValue(), SOURCE, `${what}: the text is unchanged`)
    }

    // New thread: Preview twice, then post.
    await page.goto(`${base}/c/general/new`)
    await page.getByLabel('Title').fill(`Previewed thread at ${width}`)
    await page.getByLabel('Your post').fill(SOURCE)
    const before = await countPosts()
    await page.getByRole('button', { name: 'Preview' }).click()
    await page.waitForSelector('.preview')
    await expectPreview('new thread')
    t.equal(await page.getByLabel('Title').inputValue(), `Previewed thread at ${width}`, 'the title is kept')
    t.equal(await countPosts(), before, 'nothing is saved by a preview')
    if (width === 390) await page.screenshot({ path: screenshotPath(`composer-preview-${width}`), fullPage: true })
    await page.getByRole('button', { name: 'Preview' }).click()
    await expectPreview('new thread, previewed again')
    if (width === 1280) await page.screenshot({ path: screenshotPath(`composer-preview-${width}`), fullPage: true })
    await page.getByRole('button', { name: 'Start thread' }).click()
    await page.waitForURL(/\/t\/\d+\//)
    const op = await newest()
    t.equal(op.body_md, SOURCE, 'the thread is stored exactly as previewed')
    const threadPath = new URL(page.url()).pathname

    // A reply on the thread page: Preview lands on the composer, then post.
    await page.getByLabel('Your reply').fill(SOURCE)
    await page.getByRole('button', { name: 'Preview' }).click()
    await page.waitForSelector('.preview')
    t.match(page.url(), /#reply$/, 'the page opens at the composer')
    await expectPreview('thread reply')
    await page.getByRole('button', { name: 'Post reply' }).click()
    await page.waitForURL(/#p\d+$/)
    t.equal((await newest()).body_md, SOURCE, 'the reply is stored exactly as previewed')

    // A reply to a post, on its own page.
    await page.goto(`${base}${threadPath.replace(/^\/t\/(\d+).*/, '/t/$1')}/reply/${op.id}`)
    await page.getByLabel('Your reply').fill(SOURCE)
    await page.getByRole('button', { name: 'Preview' }).click()
    await page.waitForSelector('.preview')
    await expectPreview('reply page')
    await page.getByRole('button', { name: 'Post reply' }).click()
    await page.waitForURL(/#p\d+$/)
    t.equal((await newest()).body_md, SOURCE)

    // Edit: Preview a change, then save it.
    await page.goto(`${base}/p/${op.id}/edit`)
    await page.getByLabel('Your post').fill(`${SOURCE}\n\nAn added **bold** line`)
    await page.getByRole('button', { name: 'Preview' }).click()
    await page.waitForSelector('.preview')
    t.match(await page.locator('.preview .post-body').textContent(), /An added bold line/)
    t.equal(await page.locator('textarea[name=body]').inputValue(), `${SOURCE}\n\nAn added **bold** line`)
    t.equal((await db.selectFrom('posts').select('body_md').where('id', '=', op.id).executeTakeFirstOrThrow()).body_md, SOURCE, 'the post is unchanged until saved')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.waitForURL(/\/t\/\d+\//)
    t.equal((await db.selectFrom('posts').select('body_md').where('id', '=', op.id).executeTakeFirstOrThrow()).body_md, `${SOURCE}\n\nAn added **bold** line`)
    await context.close()
  }
})
