import { QueueEvents } from 'bullmq'
import pino from 'pino'
import t from 'tap'
import { createBlockingRedis, createRedis } from '../../src/core/redis.js'
import { startWorker } from '../../src/worker-runtime.js'
import { allJobs } from '../../src/jobs.js'
import { build, REDIS_URL, type Teardown, type TestApp } from '../helpers/app.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { persona } from '../helpers/personas.js'

const DAY = 86_400_000

/** A real BullMQ worker in this process, over the test app's database and Redis prefix. */
async function worker(t: Teardown, testApp: TestApp) {
  const connection = createRedis(REDIS_URL)
  const running = await startWorker({
    definitions: allJobs,
    db: testApp.db,
    config: testApp.config,
    log: pino({ level: 'silent' }),
    commandConnection: connection,
    workerConnection: createBlockingRedis(REDIS_URL),
  })
  const eventsConnection = createBlockingRedis(REDIS_URL)
  const events = new QueueEvents('hearth', { connection: eventsConnection, prefix: testApp.config.redisPrefix })
  await events.waitUntilReady()
  t.teardown(async () => {
    await events.close()
    eventsConnection.disconnect()
    await running.close()
    connection.disconnect()
  })
  /** Waits for the newest job of that name to finish and returns its result. */
  const finished = async (name: string) => {
    const jobs = await running.queue.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'prioritized'])
    const job = jobs.filter((j) => j.name === name).sort((a, b) => Number(b.id) - Number(a.id))[0]
    if (!job) throw new Error(`no ${name} job queued`)
    return job.waitUntilFinished(events, 20_000)
  }
  return { running, finished }
}

async function stats(testApp: TestApp, userId: number, days: number, totals: { topics: number; posts: number; seconds: number }) {
  const rows = Array.from({ length: days }, (_, i) => ({
    user_id: userId,
    day: new Date(Date.now() - i * DAY).toISOString().slice(0, 10),
    topics_entered: i === 0 ? totals.topics : 0,
    posts_read: i === 0 ? totals.posts : 0,
    reading_seconds: i === 0 ? totals.seconds : 0,
  }))
  await testApp.db.insertInto('user_daily_stats').values(rows).execute()
}

const level = async (testApp: TestApp, id: number) =>
  (await testApp.db.selectFrom('users').select('trust_level').where('id', '=', id).executeTakeFirstOrThrow()).trust_level

t.test('the trust recompute runs through BullMQ from /admin: promotes at each boundary, respects locks, is idempotent', async (t) => {
  const testApp = await build(t, { redis: true })
  const { app, db } = testApp
  const f = await forum(app, db)
  const { finished, running } = await worker(t, testApp)
  t.ok((await running.queue.queue.getJobSchedulers()).some((s) => s.key === 'trust.recompute'), 'the nightly recompute is scheduled')

  const atTl1 = await persona(app, db, { stem: 'attl1' })
  const underTl1 = await persona(app, db, { stem: 'undertl1' })
  const locked = await persona(app, db, { stem: 'locked' })
  await stats(testApp, atTl1.id, 1, { topics: 5, posts: 30, seconds: 600 })
  await stats(testApp, underTl1.id, 1, { topics: 5, posts: 29, seconds: 600 })
  await stats(testApp, locked.id, 1, { topics: 50, posts: 300, seconds: 6000 })
  await db.updateTable('users').set({ trust_locked: true }).where('id', '=', locked.id).execute()

  const atTl2 = await persona(app, db, { stem: 'attl2', trustLevel: 1 })
  const underTl2 = await persona(app, db, { stem: 'undertl2', trustLevel: 1 })
  await stats(testApp, atTl2.id, 15, { topics: 20, posts: 100, seconds: 3600 })
  await stats(testApp, underTl2.id, 14, { topics: 20, posts: 100, seconds: 3600 })
  const thread = await startThread(f.admin, f.cats.open.id)
  for (const who of [atTl2, underTl2]) {
    for (let i = 0; i < 3; i++) await replyTo(who, thread.id, `reply ${i}`)
  }
  const liked = await replyTo(f.member, thread.id, 'likeable')
  for (const who of [atTl2, underTl2]) await who.client.api('PUT', `/api/v1/posts/${liked}/like`)
  const likedBack = await db.selectFrom('posts').select('id').where('author_id', 'in', [atTl2.id, underTl2.id]).execute()
  for (const p of likedBack) await f.member.client.api('PUT', `/api/v1/posts/${p.id}/like`)

  const fading = await persona(app, db, { stem: 'fading', trustLevel: 3 })

  const queued = await f.admin.client.submit('/admin/run/trust', {}, '/admin')
  t.equal(queued.statusCode, 303, 'the owner queues a recompute from /admin')
  t.match((await f.admin.client.get(queued.headers.location as string)).body, /Trust recompute queued/)
  const first = (await finished('trust.recompute')) as { promoted: number; graceChanged: number }
  t.ok(first.promoted >= 2, 'the job really ran on the worker')
  t.equal(await level(testApp, atTl1.id), 1, 'TL1 exactly at the thresholds')
  t.equal(await level(testApp, underTl1.id), 0, 'one post read short: still TL0')
  t.equal(await level(testApp, locked.id), 0, 'a locked level is never touched')
  t.equal(await level(testApp, atTl2.id), 2, 'TL2 exactly at the thresholds (15 days)')
  t.equal(await level(testApp, underTl2.id), 1, '14 days visited: still TL1')
  t.equal(await level(testApp, fading.id), 3, 'a TL3 member falling short keeps TL3 for now')
  const grace = await db.selectFrom('users').select('tl3_short_since').where('id', '=', fading.id).executeTakeFirstOrThrow()
  t.ok(grace.tl3_short_since, 'and their grace period starts')

  await running.queue.enqueue('trust.recompute', {})
  t.match(await finished('trust.recompute'), { promoted: 0, demoted: 0, graceChanged: 0 }, 'running twice changes nothing more')

  const day13 = await app.hearth.trust.recompute(new Date(Date.now() + 13 * DAY))
  t.equal(day13.demoted, 0)
  t.equal(await level(testApp, fading.id), 3, 'still TL3 on day 13 of the grace')
  const day14 = await app.hearth.trust.recompute(new Date(Date.now() + 14 * DAY + 60_000))
  t.equal(day14.demoted, 1)
  t.equal(await level(testApp, fading.id), 2, 'TL2 once 14 days have passed below 90%')
  t.same(await app.hearth.trust.recompute(new Date(Date.now() + 14 * DAY + 60_000)), { ...day14, promoted: 0, demoted: 0, graceChanged: 0 }, 'and again nothing more')
})

t.test('moderator promotion: most active TL3 members, seats, grace, owner removal and locks win, invitations, idempotent', async (t) => {
  const testApp = await build(t, { redis: true })
  const { app, db } = testApp
  const f = await forum(app, db)
  const { finished } = await worker(t, testApp)
  await app.hearth.settings.update({ promotion_min_activity: 3, moderators_per_category: 2 })
  const [a, b, c] = [await persona(app, db, { stem: 'alpha', trustLevel: 3 }), await persona(app, db, { stem: 'bravo', trustLevel: 3 }), await persona(app, db, { stem: 'charlie', trustLevel: 3 })]
  const thread = await startThread(f.admin, f.cats.open.id)
  for (const [who, n] of [[a, 5], [b, 4], [c, 1]] as const) {
    for (let i = 0; i < n; i++) await replyTo(who, thread.id, `helpful answer ${i}`)
  }
  const mods = async (categoryId: number) =>
    (await db.selectFrom('category_moderators').select(['user_id', 'source']).where('category_id', '=', categoryId).orderBy('user_id').execute())

  await f.admin.client.submit('/admin/run/promotion', {}, '/admin')
  const first = await finished('moderators.promote')
  t.match(first, { promoted: 2, invited: 0, demoted: 0 }, 'the job ran on the worker')
  t.same(await mods(f.cats.open.id), [{ user_id: a.id, source: 'promoted' }, { user_id: b.id, source: 'promoted' }], 'the two most active fill the two seats')
  t.equal((await a.client.get('/mod')).statusCode, 200, 'the promoted member reaches /mod')
  const notes = await a.client.api('GET', '/api/v1/notifications')
  t.ok(notes.data.items.some((n: { kind: string }) => n.kind === 'moderator.promoted'), 'and is told')
  t.match((await f.member.client.get('/mod/log')).body, /Hearth \(automatic\)<\/strong>\s+made <a href="\/u\/alpha/, 'the promotion is in the public log')
  t.same(await app.hearth.trust.promote(), { promoted: 0, invited: 0, demoted: 0, graceChanged: 0 }, 'running twice changes nothing more')

  // The owner removes bravo: the job must not hand the seat back to them.
  const removed = await f.admin.client.submit(`/admin/categories/${f.cats.open.id}/moderators/${b.id}/remove`, {}, '/admin')
  t.equal(removed.statusCode, 303)
  for (let i = 0; i < 3; i++) await replyTo(c, thread.id, `more help ${i}`)
  t.match(await app.hearth.trust.promote(), { promoted: 1 })
  t.same((await mods(f.cats.open.id)).map((m) => m.user_id), [a.id, c.id].sort((x, y) => x - y), 'the free seat goes to the next in line, not the removed member')

  // Alpha falls away (no longer TL3): grace first, then demotion.
  await db.updateTable('users').set({ trust_level: 2 }).where('id', '=', a.id).execute()
  const now = Date.now()
  t.match(await app.hearth.trust.promote(new Date(now)), { demoted: 0, graceChanged: 1 })
  t.match(await app.hearth.trust.promote(new Date(now + 13 * 86_400_000)), { demoted: 0, graceChanged: 0 }, 'still a moderator on day 13')
  t.ok((await mods(f.cats.open.id)).some((m) => m.user_id === a.id))
  t.match(await app.hearth.trust.promote(new Date(now + 14 * 86_400_000 + 60_000)), { demoted: 1 }, 'demoted after the grace')
  t.notOk((await mods(f.cats.open.id)).some((m) => m.user_id === a.id))
  t.ok((await a.client.api('GET', '/api/v1/notifications')).data.items.some((n: { kind: string }) => n.kind === 'moderator.demoted'), 'and told')
  t.equal((await a.client.get('/mod')).statusCode, 404, 'their /mod is gone')
  t.same(await app.hearth.trust.promote(new Date(now + 14 * 86_400_000 + 60_000)), { promoted: 0, invited: 0, demoted: 0, graceChanged: 0 }, 'idempotent after demotion too')

  // Charlie's role is locked by the owner: falling away never demotes them.
  await db.updateTable('users').set({ trust_level: 2, role_locked: true }).where('id', '=', c.id).execute()
  await app.hearth.trust.promote(new Date(now))
  await app.hearth.trust.promote(new Date(now + 60 * 86_400_000))
  t.ok((await mods(f.cats.open.id)).some((m) => m.user_id === c.id), 'a locked member keeps the role')

  // Invitation mode: the lounge has one appointed moderator, so one seat is open.
  await app.hearth.settings.update({ promotion_mode: 'invitation' })
  const d = await persona(app, db, { stem: 'delta', trustLevel: 3 })
  const lounge = await startThread(f.admin, f.cats.members.id)
  for (let i = 0; i < 4; i++) await replyTo(d, lounge.id, `lounge help ${i}`)
  t.match(await app.hearth.trust.promote(), { invited: 1, promoted: 0 })
  t.same(await app.hearth.trust.promote(), { promoted: 0, invited: 0, demoted: 0, graceChanged: 0 }, 'one invitation, however often it runs')
  t.equal((await d.client.get('/mod')).statusCode, 404, 'no role before accepting')
  const invitations = await d.client.get('/mod/invitations')
  t.match(invitations.body, /Members lounge/)
  t.ok((await d.client.api('GET', '/api/v1/notifications')).data.items.some((n: { kind: string }) => n.kind === 'moderator.invited'))
  const accepted = await d.client.submit(`/mod/invitations/${f.cats.members.id}`, { answer: 'accept' }, '/mod/invitations')
  t.equal(accepted.statusCode, 303)
  t.same((await mods(f.cats.members.id)).map((m) => m.source).sort(), ['appointed', 'promoted'])
  t.equal((await d.client.get('/mod')).statusCode, 200, 'accepted: the role is granted')
  const twice = await d.client.submit(`/mod/invitations/${f.cats.members.id}`, { answer: 'decline' }, '/mod/invitations')
  t.equal(twice.statusCode, 409, 'an answered invitation cannot be answered again')
  t.match((await f.member.client.get('/mod/log')).body, new RegExp(`${d.username}</a>\\s+accepted the invitation to moderate <a href="/c/lounge">Members lounge</a>`))
})
