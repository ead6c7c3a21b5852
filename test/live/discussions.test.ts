import { randomBytes } from 'node:crypto'
import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, serve } from '../helpers/browser.js'
import { createTestDatabase } from '../helpers/db.js'
import { forum, startThread } from '../helpers/forum.js'
import { LiveClient } from '../helpers/live.js'

t.test('real posts travel across two instances to those who may see them, and to nobody else', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const env = { REDIS_PREFIX: `hearth_test_live_${randomBytes(4).toString('hex')}` }
  const a = await build(t, { redis: true, database, env })
  const b = await build(t, { redis: true, database, env })
  await Promise.all([a.app.hearth.live.ready(), b.app.hearth.live.ready()])
  const f = await forum(a.app, a.db)
  const baseB = await serve(b)
  const thread = await startThread(f.member, f.cats.members.id, 'Members only live thread')
  const secret = await startThread(f.admin, f.cats.trusted.id, 'Trusted only live thread')

  const member = await LiveClient.connect(baseB, { cookie: f.regular.client.cookieHeader })
  const guest = await LiveClient.connect(baseB)
  const low = await LiveClient.connect(baseB, { cookie: f.newbie.client.cookieHeader })
  t.teardown(() => {
    for (const c of [member, guest, low]) c.socket.close()
  })
  t.equal((await member.subscribe(`thread:${thread.id}`)).type, 'subscribed')
  t.equal((await member.subscribe('home')).type, 'subscribed')
  const refused = await guest.subscribe(`thread:${thread.id}`)
  t.equal(refused.type, 'error', "a guest cannot subscribe to a members-only category's thread")
  t.equal((await guest.subscribe('home')).type, 'subscribed')
  t.equal((await low.subscribe(`thread:${secret.id}`)).type, 'error', 'nor a TL0 member to a trust-gated one')
  t.equal((await low.subscribe('home')).type, 'subscribed')

  const started = Date.now()
  const reply = await f.member.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'made through instance A' })
  t.equal(reply.statusCode, 201)
  const frame = await member.next((fr) => fr.event === 'post.created' && fr.channel === `thread:${thread.id}`, 1_000)
  t.equal(frame.postId, reply.data.id, `delivered on instance B within ${Date.now() - started} ms`)

  await f.admin.client.api('POST', `/api/v1/threads/${secret.id}/posts`, { body: 'trusted only words' })
  const marker = await f.member.client.api('POST', '/api/v1/threads', { categoryId: f.cats.open.id, title: 'Public marker thread', body: 'x' })
  await guest.next((fr) => fr.event === 'thread.created' && fr.threadId === marker.data.id, 2_000)
  await low.next((fr) => fr.event === 'thread.created' && fr.threadId === marker.data.id, 2_000)
  const events = (c: LiveClient) => c.frames.filter((fr) => fr.type === 'event')
  t.same(events(guest).filter((fr) => fr.threadId === thread.id || fr.threadId === secret.id), [], 'a guest gets no home events from private categories')
  t.same(events(low).filter((fr) => fr.threadId === secret.id), [], 'a TL0 member gets none from the trust-gated one')
  t.ok(events(low).some((fr) => fr.threadId === thread.id), 'but does get the members-only ones, which members may see')
})

t.test('two browsers on two instances, same thread: a reply in one appears in the other without reload', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const env = { REDIS_PREFIX: `hearth_test_live_${randomBytes(4).toString('hex')}` }
  const testApp = await build(t, { redis: true, database, env })
  const other = await build(t, { redis: true, database, env })
  await Promise.all([testApp.app.hearth.live.ready(), other.app.hearth.live.ready()])
  const f = await forum(testApp.app, testApp.db)
  const thread = await startThread(f.member, f.cats.open.id, 'Live browser thread', 'Say hi below')
  const base = await serve(testApp)
  const baseOther = await serve(other)
  const browser = await launchBrowser(t)
  const open = async (cookies: Map<string, string>, url: string) => {
    const context = await browser.newContext()
    await context.addCookies([...cookies].map(([name, value]) => ({ name, value, url })))
    return context.newPage()
  }
  const writer = await open(f.regular.client.cookies, base)
  const reader = await open(f.member.client.cookies, baseOther)
  await reader.goto(`${baseOther}${thread.url}`)
  await writer.goto(`${base}${thread.url}`)
  await reader.evaluate(() => Object.assign(globalThis, { stillTheSamePage: true }))
  for (let i = 0; i < 100 && other.app.hearth.live.stats().subscriptions < 2; i++) await new Promise((r) => setTimeout(r, 20))

  await writer.getByLabel('Your reply').fill('Hi from the other window')
  await writer.getByRole('button', { name: 'Post reply' }).click()
  await writer.waitForURL(/#p\d+$/)
  const bar = reader.locator('[data-live-new-bar]')
  await bar.waitFor()
  t.match(await bar.textContent(), /1 new reply/, 'the reader sees a "new replies" bar')
  t.equal(await reader.evaluate(() => (globalThis as unknown as { stillTheSamePage?: boolean }).stillTheSamePage), true, 'without a reload')
  await bar.click()
  await reader.getByText('Hi from the other window').waitFor()
  t.pass('showing the new replies brings the reply in')
  await reader.locator('a.notifications-link span.count[data-unread]').waitFor()
  t.pass('the thread author’s notification badge counted up live')
})

t.test("the moderators' channel carries only the categories each moderator looks after", async (t) => {
  const testApp = await build(t, { redis: true })
  await testApp.app.hearth.live.ready()
  const f = await forum(testApp.app, testApp.db)
  const base = await serve(testApp)
  const inTheirs = await startThread(f.newbie, f.cats.members.id, 'Flag me in the lounge')
  const elsewhere = await startThread(f.newbie, f.cats.open.id, 'Flag me in general')
  const mod = await LiveClient.connect(base, { cookie: f.categoryMod.client.cookieHeader })
  const admin = await LiveClient.connect(base, { cookie: f.admin.client.cookieHeader })
  const member = await LiveClient.connect(base, { cookie: f.member.client.cookieHeader })
  t.teardown(() => {
    for (const c of [mod, admin, member]) c.socket.close()
  })
  t.equal((await mod.subscribe('mod')).type, 'subscribed')
  t.equal((await admin.subscribe('mod')).type, 'subscribed')
  t.equal((await member.subscribe('mod')).type, 'error', 'a member who moderates nothing cannot listen to the queue')

  t.equal((await f.regular.client.api('POST', `/api/v1/posts/${elsewhere.postId}/flags`, { reason: 'spam' })).statusCode, 201)
  t.equal((await f.regular.client.api('POST', `/api/v1/posts/${inTheirs.postId}/flags`, { reason: 'spam' })).statusCode, 201)
  await admin.next((fr) => fr.event === 'flag.created' && fr.postId === elsewhere.postId, 2_000)
  await admin.next((fr) => fr.event === 'flag.created' && fr.postId === inTheirs.postId, 2_000)
  const seen = await mod.next((fr) => fr.event === 'flag.created', 2_000)
  t.equal(seen.postId, inTheirs.postId, "the category moderator hears of their category's flag")
  t.notOk(mod.frames.some((fr) => fr.event === 'flag.created' && fr.postId === elsewhere.postId), 'and never of another category')
})
