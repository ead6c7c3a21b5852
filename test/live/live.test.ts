import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { SessionUser } from '../../src/core/auth/sessions.js'
import { build, type BuildOptions, type Teardown, type TestApp } from '../helpers/app.js'
import { serve } from '../helpers/browser.js'
import { createTestDatabase } from '../helpers/db.js'
import { emitEvent, type Frame, LiveClient } from '../helpers/live.js'
import { Client } from '../helpers/client.js'
import { persona } from '../helpers/personas.js'

// Discussions are not in this branch: these stand-ins decide access the way categories
// will (1 public, 2 members only, 3 a named group), and threads live in a category by id.
const PUBLIC = 1
const MEMBERS = 2
const GROUP = 3
const group = new Set<number>()

function maySee(user: SessionUser | null, categoryId: number): boolean {
  if (categoryId === PUBLIC) return true
  if (categoryId === MEMBERS) return user !== null
  if (categoryId === GROUP) return user !== null && group.has(user.id)
  return false
}
const categoryOfThread = (id: number) => (id >= 200 ? GROUP : id >= 100 ? MEMBERS : PUBLIC)

function plugIn(testApp: TestApp): void {
  const { live } = testApp.app.hearth
  live.registerChannel('thread', async (user, id) => /^\d+$/.test(id) && maySee(user, categoryOfThread(Number(id))))
  live.setCategoryVisibility(async (user, categoryId) => maySee(user, categoryId))
}

/** Two web instances on two ports over one database and one Redis, like two processes behind a load balancer. */
async function twoInstances(t: Teardown, liveLimits: BuildOptions['liveLimits'] = {}) {
  const database = await createTestDatabase()
  const env = { REDIS_PREFIX: `hearth_test_live_${randomBytes(4).toString('hex')}` }
  const a = await build(t, { redis: true, database, env, liveLimits })
  const b = await build(t, { redis: true, database, env, liveLimits })
  // The shared database goes only once both instances have closed (closing twice is harmless).
  t.teardown(async () => {
    await Promise.all([a.app.close(), b.app.close()])
    await database.drop()
  })
  for (const instance of [a, b]) plugIn(instance)
  await Promise.all([a.app.hearth.live.ready(), b.app.hearth.live.ready()])
  return { a, b, baseA: await serve(a), baseB: await serve(b) }
}

/** A post made through an instance, as the discussions service will emit it after commit. */
function postMade(instance: TestApp, threadId: number, postId: number, extra: Record<string, unknown> = {}) {
  return emitEvent(
    instance.app,
    'post.created',
    [`thread:${threadId}`, 'home'],
    { threadId, postId, title: `Thread ${threadId}`, url: `/t/${threadId}#p${postId}`, author: 'ada', ...extra },
    categoryOfThread(threadId),
  )
}

/** An event on `home` with no category: once a client has it, everything emitted before it has been handled. */
function marker(instance: TestApp, n: number) {
  return emitEvent(instance.app, 'thread.created', ['home'], { marker: n })
}

/** Polls a condition a bounded number of times (server-side bookkeeping after a close). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((r) => setTimeout(r, 20))
}

const isMarker = (n: number) => (f: Frame) => f.type === 'event' && f.channel === 'home' && f.marker === n

t.test('a post made through instance A reaches a subscriber on instance B within a second', async (t) => {
  const { a, b, baseA, baseB } = await twoInstances(t)
  const onB = await LiveClient.connect(baseB)
  const onA = await LiveClient.connect(baseA)
  t.teardown(() => [onA, onB].forEach((c) => c.close()))
  t.same(await onB.subscribe('thread:1'), { type: 'subscribed', channel: 'thread:1' })
  await onA.subscribe('thread:1')

  await postMade(a, 1, 501)
  const got = await onB.event('thread:1', 1_000)
  t.same(got, {
    type: 'event',
    channel: 'thread:1',
    id: 1,
    event: 'post.created',
    threadId: 1,
    postId: 501,
    title: 'Thread 1',
    url: '/t/1#p501',
    author: 'ada',
  })
  t.match(await onA.event('thread:1'), { id: 1, postId: 501 }, 'the emitting instance delivers it too, with the same id')

  await postMade(b, 1, 502)
  t.match(await onB.event('thread:1'), { id: 2, postId: 502 }, 'ids keep increasing per channel whichever instance emits')
  t.match(await onA.event('thread:1'), { id: 2, postId: 502 })
  t.equal(onB.frames.filter((f) => f.type === 'event').length, 2, 'each event arrives once')
})

t.test('guests cannot subscribe to a members-only thread, nor see its events elsewhere', async (t) => {
  const { a, b, baseB } = await twoInstances(t)
  const member = await persona(b.app, b.db, { stem: 'member' })
  const guest = await LiveClient.connect(baseB)
  const memberSocket = await LiveClient.connect(baseB, { cookie: member.client.cookieHeader })
  t.teardown(() => [guest, memberSocket].forEach((c) => c.close()))

  t.same(await guest.subscribe('thread:100'), { type: 'error', channel: 'thread:100', error: 'Not found' })
  t.same(await memberSocket.subscribe('thread:100'), { type: 'subscribed', channel: 'thread:100' })
  await guest.subscribe('home')
  await memberSocket.subscribe('home')

  await postMade(a, 100, 601)
  await marker(a, 1)
  const guestNext = await guest.next((f) => f.type === 'event')
  t.match(guestNext, { channel: 'home', marker: 1 }, 'the guest gets the later public event and nothing of the private one')
  t.match(await memberSocket.event('thread:100'), { postId: 601 }, 'a member gets it')
  t.match(await memberSocket.event('home'), { event: 'post.created', postId: 601 }, 'on home too')
  t.notOk(guest.frames.some((f) => f.postId === 601), 'the guest never received the private post')

  t.same(await guest.subscribe('user:me'), { type: 'error', channel: 'user:me', error: 'Not found' }, 'guests have no user:me')
  t.same(await guest.subscribe('nosuch:1'), { type: 'error', channel: 'nosuch:1', error: 'Unknown channel' }, 'unregistered kinds are refused')
  t.same(await guest.subscribe('home:1'), { type: 'error', channel: 'home:1', error: 'Not found' })
})

t.test('user:me carries only the member’s own notifications', async (t) => {
  const { a, b, baseB } = await twoInstances(t)
  const alice = await persona(a.app, a.db, { stem: 'alice' })
  const bob = await persona(a.app, a.db, { stem: 'bob' })
  const aliceSocket = await LiveClient.connect(baseB, { cookie: alice.client.cookieHeader })
  const bobSocket = await LiveClient.connect(baseB, { cookie: bob.client.cookieHeader })
  t.teardown(() => [aliceSocket, bobSocket].forEach((c) => c.close()))
  t.same(await aliceSocket.subscribe('user:me'), { type: 'subscribed', channel: 'user:me' })
  await bobSocket.subscribe('user:me')
  t.same(await bobSocket.subscribe(`user:${alice.id}`), { type: 'error', channel: `user:${alice.id}`, error: 'Not found' })

  await a.app.hearth.notifications.notify([{ userId: alice.id, kind: 'reply', text: 'bob replied', url: '/t/1#p2', actorId: bob.id }])
  await bobSocket.subscribe('home')
  await marker(a, 1)
  t.match(await aliceSocket.event('user:me'), { event: 'notification.created', kind: 'reply', url: '/t/1#p2', id: 1 })
  await bobSocket.next(isMarker(1))
  t.notOk(bobSocket.frames.some((f) => f.type === 'event' && f.channel === 'user:me'), 'bob sees nothing of alice’s notification')
})

t.test('a member who loses access stops receiving; logging out closes their sockets on every instance', async (t) => {
  const { a, b, baseB } = await twoInstances(t)
  const member = await persona(a.app, a.db, { stem: 'grouped' })
  group.add(member.id)
  const socket = await LiveClient.connect(baseB, { cookie: member.client.cookieHeader })
  const second = await LiveClient.connect(baseB, { cookie: member.client.cookieHeader })
  t.teardown(() => [socket, second].forEach((c) => c.close()))
  await socket.subscribe('thread:200')
  await socket.subscribe('home')
  await postMade(a, 200, 701)
  t.match(await socket.event('thread:200'), { postId: 701 }, 'while in the group, the member receives')

  group.delete(member.id)
  await emitEvent(a.app, 'access.changed', [], { userId: member.id })
  t.same(
    await socket.next((f) => f.type === 'error'),
    { type: 'error', channel: 'thread:200', error: 'Not found' },
    'the subscription is withdrawn at once',
  )
  await postMade(a, 200, 702)
  await marker(a, 2)
  await socket.next(isMarker(2))
  t.notOk(socket.frames.some((f) => f.postId === 702), 'nothing of the private thread arrives, not even on home')

  await second.subscribe('home')
  const out = await member.client.api('POST', '/api/v1/auth/logout', {})
  t.equal(out.statusCode, 204)
  t.match(await socket.whenClosed(), { code: 4401 }, 'the logged-out session’s socket on the other instance is closed')
  t.match(await second.whenClosed(), { code: 4401 })
  await until(() => b.app.hearth.live.stats().connections === 0)
  t.equal(b.app.hearth.live.stats().connections, 0, 'the server forgets them')
})

t.test('changing the password ends the other sessions’ sockets, not this one', async (t) => {
  const { a, baseB } = await twoInstances(t)
  const member = await persona(a.app, a.db, { stem: 'changer' })
  const otherLogin = await new Client(a.app).api('POST', '/api/v1/auth/login', { login: member.username, password: 'correct horse battery staple' })
  t.equal(otherLogin.statusCode, 200)
  const laptop = await LiveClient.connect(baseB, { cookie: otherLogin.headers['set-cookie']!.toString().split(';')[0]! })
  const here = await LiveClient.connect(baseB, { cookie: member.client.cookieHeader })
  t.teardown(() => [laptop, here].forEach((c) => c.close()))
  await laptop.subscribe('user:me')
  await here.subscribe('user:me')
  const res = await member.client.submit(
    '/settings/password',
    { currentPassword: 'correct horse battery staple', newPassword: 'an entirely new passphrase', confirmPassword: 'an entirely new passphrase' },
    '/settings',
  )
  t.equal(res.statusCode, 303, 'password changed')
  t.match(await laptop.whenClosed(), { code: 4401 })
  await a.app.hearth.notifications.notify([{ userId: member.id, kind: 'reply', text: 'still here', url: '/t/1' }])
  t.match(await here.event('user:me'), { event: 'notification.created' }, 'the session that changed it keeps its socket')
})

t.test('catch-up after a disconnect delivers exactly the missed events, in order', async (t) => {
  const { a, baseA, baseB } = await twoInstances(t, { historyPerChannel: 10 })
  const first = await LiveClient.connect(baseB)
  await first.subscribe('thread:5')
  await postMade(a, 5, 1)
  await postMade(a, 5, 2)
  t.match(await first.event('thread:5'), { id: 1 })
  const last = await first.event('thread:5')
  t.match(last, { id: 2 })
  first.close()
  await first.whenClosed()

  for (const postId of [3, 4, 5]) await postMade(a, 5, postId)
  await new Promise((r) => setTimeout(r, 100))
  const again = await LiveClient.connect(baseA)
  t.teardown(() => again.close())
  t.same(await again.subscribe('thread:5', last.id as number), { type: 'subscribed', channel: 'thread:5' })
  const missed = [await again.event('thread:5'), await again.event('thread:5'), await again.event('thread:5')]
  t.same(missed.map((f) => [f.id, f.postId]), [[3, 3], [4, 4], [5, 5]], 'the three missed events, in order, on the other instance')
  await postMade(a, 5, 6)
  t.match(await again.event('thread:5'), { id: 6, postId: 6 }, 'then live events continue with no duplicate')

  for (let i = 0; i < 15; i++) await postMade(a, 6, 100 + i)
  await new Promise((r) => setTimeout(r, 200))
  t.same(await again.subscribe('thread:6', 1), { type: 'subscribed', channel: 'thread:6' })
  t.same(await again.next((f) => f.channel === 'thread:6'), { type: 'reload', channel: 'thread:6' }, 'a gap beyond the history asks for a reload')
  t.same(await again.subscribe('thread:7', 0), { type: 'subscribed', channel: 'thread:7' })
  await postMade(a, 7, 1)
  t.match(await again.event('thread:7'), { id: 1 }, 'since 0 on a quiet channel is simply up to date')
})

t.test('events published while an instance’s Redis subscriber reconnects are filled in from history', async (t) => {
  const { a, b, baseB } = await twoInstances(t)
  const redis = b.redis!
  const client = await LiveClient.connect(baseB)
  t.teardown(() => client.close())
  await client.subscribe('thread:11')
  await postMade(a, 11, 1)
  t.match(await client.event('thread:11'), { id: 1 })

  const subscribers = async () =>
    String(await redis.call('CLIENT', 'LIST'))
      .split('\n')
      .filter((line) => line.includes(` name=${b.config.redisPrefix}:live `))
  for (const line of await subscribers()) await redis.call('CLIENT', 'KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!)
  // Both instances' subscribers are gone: these reach no instance through pub/sub.
  for (const postId of [2, 3, 4]) await postMade(a, 11, postId)
  for (let i = 0; i < 100; i++) {
    const lines = await subscribers()
    if (lines.length === 2 && lines.every((line) => / sub=2 /.test(line))) break
    await new Promise((r) => setTimeout(r, 20))
  }
  await postMade(a, 11, 5)
  const got = [await client.event('thread:11'), await client.event('thread:11'), await client.event('thread:11'), await client.event('thread:11')]
  t.same(got.map((f) => f.id), [2, 3, 4, 5], 'the missed events arrive, in order, before the new one')
})

t.test('a slow consumer is dropped while others keep receiving', async (t) => {
  const { a, b, baseB } = await twoInstances(t, { sendBufferBytes: 256 * 1024 })
  const fast = await LiveClient.connect(baseB)
  const slow = await LiveClient.connect(baseB)
  t.teardown(() => [fast, slow].forEach((c) => c.close()))
  await fast.subscribe('thread:9')
  await slow.subscribe('thread:9')
  ;(slow.socket as unknown as { _socket: { pause(): void } })._socket.pause()

  const filler = 'x'.repeat(32 * 1024)
  let sent = 0
  // Bounded: the slow socket's kernel buffers fill first (a few MB), then its send buffer passes the limit.
  while (b.app.hearth.live.stats().connections === 2 && sent < 3_000) {
    for (let i = 0; i < 10; i++) await postMade(a, 9, ++sent, { filler })
    await new Promise((r) => setTimeout(r, 10))
  }
  t.equal(b.app.hearth.live.stats().connections, 1, `the slow socket was dropped after ${sent} events`)
  for (let i = 0; i < 10; i++) await postMade(a, 9, ++sent)
  const lastEvent = await fast.next((f) => f.type === 'event' && f.postId === sent, 10_000)
  t.equal(lastEvent.id, sent, 'the fast client keeps receiving')
  t.equal(fast.frames.filter((f) => f.type === 'event').length, sent, 'every event, none lost')
  ;(slow.socket as unknown as { _socket: { resume(): void } })._socket.resume()
  const closed = await slow.whenClosed(10_000)
  t.equal(closed.code, 1006, 'the slow socket was cut')
  t.ok(slow.frames.length < sent, 'it never got everything')
})

t.test('limits: frame size, subscriptions per socket, messages per second, malformed frames', async (t) => {
  const { baseB } = await twoInstances(t, { maxSubscriptions: 3, maxFrameBytes: 512, messagesPerSecond: 5, messageBurst: 10, maxStrikes: 20 })
  const client = await LiveClient.connect(baseB)
  t.teardown(() => client.close())
  for (const n of [1, 2, 3]) t.match(await client.subscribe(`thread:${n}`), { type: 'subscribed' })
  t.same(await client.subscribe('thread:4'), { type: 'error', channel: 'thread:4', error: 'Too many subscriptions (limit 3)' })
  client.send({ type: 'unsubscribe', channel: 'thread:1' })
  t.match(await client.subscribe('thread:4'), { type: 'subscribed' }, 'unsubscribing frees a place')

  client.send({ type: 'subscribe', channel: 'thread:1', padding: 'x'.repeat(1000) })
  t.same(await client.next(), { type: 'error', error: 'Frame too large (limit 512 bytes)' })
  client.send('not json')
  t.same(await client.next(), { type: 'error', error: 'Frames must be JSON' })
  client.send({ type: 'shout' })
  t.same(await client.next(), { type: 'error', error: 'Unknown or malformed frame' })

  for (let i = 0; i < 15; i++) client.send({ type: 'unsubscribe', channel: 'thread:9' })
  t.same(await client.next(), { type: 'error', error: 'Too many messages; slow down' }, 'a flood is answered with an error frame')
  for (let i = 0; i < 40; i++) client.send({ type: 'unsubscribe', channel: 'thread:9' })
  t.match(await client.whenClosed(), { code: 1008 }, 'a client that keeps flooding is closed')
})

t.test('sockets from another site are refused; dead sockets are cleaned up; shutdown says going away', async (t) => {
  const { baseB } = await twoInstances(t)
  await t.rejects(LiveClient.connect(baseB, { origin: 'https://evil.example' }), /403/, 'cross-site handshake refused')

  const c = await build(t, { liveLimits: { heartbeatMs: 100 } })
  const baseC = await serve(c)
  const dead = await LiveClient.connect(baseC)
  const healthy = await LiveClient.connect(baseC)
  await healthy.subscribe('home')
  ;(dead.socket as unknown as { _socket: { pause(): void } })._socket.pause()
  await until(() => c.app.hearth.live.stats().connections === 1)
  t.equal(c.app.hearth.live.stats().connections, 1, 'a socket that stops answering pings is dropped')

  await c.app.close()
  t.match(await healthy.whenClosed(), { code: 1001 }, 'closed with "going away" so the client reconnects elsewhere')
})
