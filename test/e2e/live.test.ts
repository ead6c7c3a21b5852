import type { FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { PASSWORD, uniqueName } from '../helpers/personas.js'
import { emitEvent } from '../helpers/live.js'

// Threads are not in this branch: a stand-in thread page that follows the live DOM contract
// (see static/js/live.js) and a reply form whose route emits post.created after "commit".
const posts: { id: number; author: string; body: string }[] = [{ id: 1, author: 'ada', body: 'First post' }]

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function threadRoutes(app: FastifyInstance): void {
  app.hearth.live.registerChannel('thread', async (_user, id) => id === '1')
  app.hearth.live.setCategoryVisibility(async () => true)
  app.get('/test/thread/1', async (req, reply) => {
    const items = posts
      .map((p) => `<article id="p${p.id}"><p>${escape(p.body)}</p><p>by ${escape(p.author)} · <span data-like-count-for="${p.id}">0</span> likes</p></article>`)
      .join('')
    return reply.type('text/html').send(`<!doctype html><html><head><meta charset="utf-8"><title>Thread</title>
<script src="/static/js/live.js" defer></script></head><body><main>
<section data-live-posts data-live-channel="thread:1">${items}</section>
<form method="post" action="/test/thread/1/replies"><input type="hidden" name="_csrf" value="${reply.generateCsrf()}">
<label>Reply <textarea name="body"></textarea></label><button type="submit">Reply</button></form>
</main></body></html>`)
  })
  app.post('/test/thread/1/replies', async (req, reply) => {
    const post = { id: posts.length + 1, author: req.user?.username ?? 'guest', body: (req.body as { body: string }).body }
    posts.push(post)
    await emitEvent(app, 'post.created', ['thread:1', 'home'], {
      threadId: 1,
      postId: post.id,
      title: 'A live thread',
      url: `/test/thread/1#p${post.id}`,
      author: post.author,
    }, 1)
    return reply.redirect(`/test/thread/1#p${post.id}`, 303)
  })
}

async function signUp(page: Page, base: string): Promise<number> {
  const username = uniqueName('live')
  const res = await page.request.post(`${base}/api/v1/auth/signup`, {
    data: { username, email: `${username}@example.test`, password: PASSWORD },
  })
  if (res.status() !== 201) throw new Error(`sign-up failed: ${res.status()}`)
  return ((await res.json()) as { user: { id: number } }).user.id
}

t.test('a reply posted in one browser appears in another without a reload', async (t) => {
  const testApp = await build(t, { redis: true })
  threadRoutes(testApp.app)
  await testApp.app.hearth.live.ready()
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const writer = await (await browser.newContext()).newPage()
  const reader = await (await browser.newContext()).newPage()
  const cspViolations: string[] = []
  for (const page of [writer, reader]) {
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text())
    })
  }
  await signUp(writer, base)
  const readerId = await signUp(reader, base)

  await reader.goto(`${base}/test/thread/1`)
  await writer.goto(`${base}/test/thread/1`)
  await reader.evaluate(() => Object.assign(globalThis, { stillTheSamePage: true }))
  await reader.waitForFunction(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('/static/js/live.js')))
  // The socket subscribes right after the page loads; wait until the hub has it.
  for (let i = 0; i < 100 && testApp.app.hearth.live.stats().subscriptions < 2; i++) await new Promise((r) => setTimeout(r, 20))

  await writer.getByLabel('Reply').fill('Hello from the other window')
  await writer.getByRole('button', { name: 'Reply' }).click()
  await writer.waitForURL(/#p2$/)

  const bar = reader.locator('[data-live-new-bar]')
  await bar.waitFor()
  t.equal(await bar.textContent(), '1 new reply — show', 'the reader sees a bar, not a jump')
  t.equal(await reader.evaluate(() => (globalThis as unknown as { stillTheSamePage?: boolean }).stillTheSamePage), true, 'without a reload')
  t.equal(await reader.locator('#p2').count(), 0, 'the new reply is not forced into the page')

  await emitEvent(testApp.app, 'like.changed', ['thread:1'], { postId: 1, likeCount: 3 }, 1)
  await reader.locator('[data-like-count-for="1"]', { hasText: '3' }).waitFor()
  t.pass('like counts change in place')

  await writer.getByLabel('Reply').fill('And another one')
  await writer.getByRole('button', { name: 'Reply' }).click()
  await reader.locator('[data-live-new-bar]', { hasText: '2 new replies — show' }).waitFor()
  await reader.screenshot({ path: screenshotPath('live-new-replies'), fullPage: true })

  await bar.click()
  await reader.locator('#p2').waitFor()
  t.match(await reader.locator('#p2').textContent(), /Hello from the other window/, 'showing them loads the new replies')
  t.match(await reader.locator('#p3').textContent(), /And another one/)

  await reader.goto(`${base}/`)
  for (let i = 0; i < 100 && testApp.app.hearth.live.stats().subscriptions < 3; i++) await new Promise((r) => setTimeout(r, 20))
  await testApp.app.hearth.notifications.notify([{ userId: readerId, kind: 'reply', text: 'someone replied', url: '/test/thread/1' }])
  await reader.locator('a.notifications-link span.count[data-unread]', { hasText: '1' }).waitFor()
  t.equal(await reader.locator('a.notifications-link').getAttribute('aria-label'), 'Notifications, 1 unread', 'the badge counts up')

  await writer.getByLabel('Reply').fill('<b>not bold</b>')
  await writer.getByRole('button', { name: 'Reply' }).click()
  const item = reader.locator('[data-live-activity] li').first()
  await item.waitFor()
  t.match(await item.textContent(), /New reply in A live thread by live/, 'the home page shows the activity')
  t.equal(await item.locator('a').getAttribute('href'), '/test/thread/1#p4')
  await reader.screenshot({ path: screenshotPath('live-home-activity'), fullPage: true })
  t.same(cspViolations, [], 'no Content-Security-Policy violations')
})

t.test('live.js stays quiet on a page without live elements', async (t) => {
  const testApp = await build(t)
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(`${base}/login`)
  await page.waitForLoadState('networkidle')
  t.equal(testApp.app.hearth.live.stats().connections, 0, 'no socket is opened')
  t.same(errors, [])
})

t.test('vote counts, idea status, beta seats and the moderator queue change in place', async (t) => {
  const testApp = await build(t, { redis: true })
  const { app } = testApp
  const moderated = new Set([1])
  app.hearth.live.registerChannel('idea', async (_user, id) => id === '7')
  app.hearth.live.registerChannel('beta', async (_user, id) => id === '3')
  app.hearth.live.registerChannel('mod', async (user, id) => id === '' && user?.role === 'admin', {
    mayReceive: async (_user, categoryId) => moderated.has(categoryId),
  })
  app.hearth.live.setCategoryVisibility(async () => true)
  app.get('/test/board', async (_req, reply) =>
    reply.type('text/html').send(`<!doctype html><html><head><meta charset="utf-8"><title>Board</title>
<script src="/static/js/live.js" defer></script></head><body><main>
<section data-live-channel="idea:7 beta:3"><span data-vote-count-for="7">4</span> votes ·
<span data-idea-status-for="7" data-status="review">Under review</span> ·
<span data-beta-seats-for="3">10</span> seats left</section>
<section data-live-mod-queue data-live-channel="mod"><h2>Flags</h2></section>
</main></body></html>`),
  )
  await app.hearth.live.ready()
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const page = await (await browser.newContext()).newPage()
  await signUp(page, base)
  await page.goto(`${base}/test/board`)
  for (let i = 0; i < 100 && app.hearth.live.stats().subscriptions < 3; i++) await new Promise((r) => setTimeout(r, 20))
  t.equal(app.hearth.live.stats().subscriptions, 3, 'the page subscribed to idea:7, beta:3 and mod')

  await emitEvent(app, 'idea.voted', ['idea:7', 'ideas'], { ideaId: 7, votes: 5 })
  await emitEvent(app, 'idea.status', ['idea:7', 'ideas'], { ideaId: 7, status: 'planned', statusLabel: 'Planned' })
  await emitEvent(app, 'beta.seats', ['beta:3'], { programId: 3, seatsLeft: 9 })
  await emitEvent(app, 'flag.created', ['mod'], { flagId: 1 }, 1)
  await emitEvent(app, 'flag.created', ['mod'], { flagId: 2 }, 2)
  await emitEvent(app, 'flag.created', ['mod'], { flagId: 3 }, 1)
  await page.locator('[data-vote-count-for="7"]', { hasText: '5' }).waitFor()
  await page.locator('[data-idea-status-for="7"][data-status="planned"]', { hasText: 'Planned' }).waitFor()
  await page.locator('[data-beta-seats-for="3"]', { hasText: '9' }).waitFor()
  const bar = page.locator('[data-live-flags-bar]')
  await bar.filter({ hasText: '2 new flags — reload' }).waitFor()
  t.pass('votes, status and seats change in place; the queue announces flags only from moderated categories')
  await page.screenshot({ path: screenshotPath('live-board'), fullPage: true })
})
