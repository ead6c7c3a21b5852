import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { sql } from 'kysely'
import pino from 'pino'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { createDb } from '../../src/core/db.js'
import type { AnyDomainEvent } from '../../src/core/events.js'
import { type EventConsumer, Outbox, OutboxRelay, pruneOutbox } from '../../src/core/outbox.js'
import { JobQueue } from '../../src/core/queue.js'
import { RedisFanout } from '../../src/core/realtime/fanout.js'
import type { LiveEnvelope } from '../../src/core/realtime/protocol.js'
import { createBlockingRedis, createRedis } from '../../src/core/redis.js'
import { allJobs } from '../../src/jobs.js'
import { startWorker } from '../../src/worker-runtime.js'
import { build, REDIS_URL, type Teardown, testConfig } from '../helpers/app.js'
import { serve } from '../helpers/browser.js'
import { Client } from '../helpers/client.js'
import { createTestDatabase } from '../helpers/db.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { LiveClient } from '../helpers/live.js'
import { PASSWORD, persona } from '../helpers/personas.js'
import { freePort, spawnEntry } from '../helpers/process.js'
import { privateRedis } from '../helpers/faults.js'
import { startSmtp } from '../helpers/smtp.js'
import { drained, startTestWorker } from '../helpers/worker.js'

const quiet = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const started = Date.now()
  for (;;) {
    const value = await read()
    if (ok(value)) return value
    if (Date.now() - started > timeoutMs) throw new Error(`timed out: ${what} (last: ${JSON.stringify(value)})`)
    await sleep(50)
  }
}

t.test('the relay: every consumer gets each event once it commits, a failing consumer is retried alone, order is kept', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const { db } = database
  const outbox = new Outbox(db)
  const seen: string[] = []
  let mailFailures = 1
  const consumers: EventConsumer[] = [
    { name: 'first', handle: async (e) => void seen.push(`first:${e.id}`) },
    {
      name: 'flaky',
      handle: async (e) => {
        if (mailFailures-- > 0) throw new Error('Redis is away')
        seen.push(`flaky:${e.id}`)
      },
    },
  ]
  const relay = new OutboxRelay({ db, outbox, consumers, log: quiet, listenUrl: database.url, pollMs: 50 })
  t.teardown(() => relay.close())

  // Written before any relay runs (as if the writer died at once), and one rolled back.
  await outbox.emit(db, 'idea.voted', { ideaId: 1, votes: 1 }, { channels: ['idea:1'] })
  await db
    .transaction()
    .execute(async (trx) => {
      await outbox.emit(trx, 'idea.voted', { ideaId: 1, votes: 99 }, { channels: ['idea:1'] })
      throw new Error('roll back')
    })
    .catch(() => {})
  await outbox.emit(db, 'idea.voted', { ideaId: 1, votes: 2 }, { channels: ['idea:1'] })
  await relay.start()
  const rows = await eventually(
    () => db.selectFrom('outbox').select(['id', 'delivered_at', 'attempts', 'done']).orderBy('id').execute(),
    (rs) => rs.every((r) => r.delivered_at !== null),
    'both events delivered',
  )
  t.equal(rows.length, 2, 'the rolled-back event never existed')
  const [one, two] = rows.map((r) => r.id)
  t.same(seen, [`first:${one}`, `flaky:${one}`, `first:${two}`, `flaky:${two}`], 'in outbox order; the retry skipped the consumer that already had it')
  t.equal(rows[0]!.attempts, 1, 'the first event needed one retry')
  t.same(rows[0]!.done, ['first', 'flaky'])

  // An event written while the relay listens arrives within moments, without waiting for a poll.
  const listening = new OutboxRelay({ db, outbox, consumers: [{ name: 'first', handle: async (e) => void seen.push(`late:${e.type}`) }], log: quiet, listenUrl: database.url, pollMs: 60_000 })
  t.teardown(() => listening.close())
  await relay.close()
  await listening.start()
  await outbox.emit(db, 'beta.seats', { programId: 3, seatsLeft: 4 }, { channels: ['beta:3'] })
  await eventually(async () => seen.includes('late:beta.seats'), Boolean, 'NOTIFY wakes the relay', 5_000)
  t.pass('a commit wakes the relay through LISTEN/NOTIFY')

  // Pruning keeps what is undelivered and what was delivered recently.
  await db.insertInto('outbox').values({ type: 'idea.voted', payload: '{}', delivered_at: sql<Date>`now() - interval '2 days'` as never }).execute()
  await db.insertInto('outbox').values({ type: 'idea.voted', payload: '{}', next_attempt_at: sql<Date>`now() + interval '1 day'` as never }).execute()
  t.equal(await pruneOutbox(db), 1, 'only the old delivered event goes')
  t.equal(Number((await db.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('delivered_at', 'is', null).executeTakeFirstOrThrow()).n), 1)
})

/** A Redis fan-out under its own key prefix (removed afterwards), with the envelopes it receives. */
async function liveFanout(t: Teardown, prefix: string) {
  const redis = new Redis(REDIS_URL)
  const fanout = new RedisFanout(redis, prefix, { perChannel: 10, ttlSeconds: 60, channelsInMemory: 10 }, () => {})
  t.teardown(async () => {
    await fanout.close()
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length) await redis.del(...keys)
    redis.disconnect()
  })
  const got: LiveEnvelope[] = []
  fanout.onEnvelope((e) => got.push(e))
  await fanout.ready()
  return { redis, fanout, got }
}

t.test('live fan-out publishes an event id once, however often the relay delivers it', async (t) => {
  const { redis, fanout, got } = await liveFanout(t, `hearth_test_outbox_${process.pid}`)
  const body = { type: 'like.changed', data: { postId: 1, likeCount: 2 } }
  await fanout.publishEvent(41, ['thread:1', 'home'], body)
  await fanout.publishEvent(41, ['thread:1', 'home'], body)
  await fanout.publishEvent(42, ['thread:1'], body)
  await eventually(async () => got.length, (n) => n >= 3, 'three envelopes')
  await sleep(100)
  t.same(got.map((e) => [e.channel, e.id]), [['thread:1', 1], ['home', 1], ['thread:1', 2]], 'the repeat published nothing')
})

t.test('live fan-out publishes a pass of events in one call: in order, each once, a repeat skipped where it stands', async (t) => {
  const { redis, fanout, got } = await liveFanout(t, `hearth_test_outbox_batch_${process.pid}`)
  const body = (n: number) => ({ type: 'like.changed', data: { postId: n, likeCount: n } })
  await fanout.publishEvent(7, ['thread:1'], body(7))
  // Counts what this connection sends (the subscriber is a connection of its own).
  const sentCommands: string[] = []
  const send = redis.sendCommand.bind(redis)
  redis.sendCommand = ((command: { name: string }, stream?: unknown) => {
    sentCommands.push(command.name)
    return send(command as never, stream as never)
  }) as typeof redis.sendCommand
  // Event 7 again (a relay retry after a partial failure), one with no channels, three channels across two events.
  await fanout.publishEvents([
    { id: 7, channels: ['thread:1'], body: body(7) },
    { id: 8, channels: ['thread:1', 'home'], body: body(8) },
    { id: 9, channels: [], body: body(9) },
    { id: 10, channels: ['home'], body: body(10) },
  ])
  await eventually(async () => got.length, (n) => n >= 4, 'four envelopes')
  await sleep(100)
  t.same(
    got.map((e) => [e.channel, e.id, (e.data as { postId: number }).postId]),
    [['thread:1', 1, 7], ['thread:1', 2, 8], ['home', 1, 8], ['home', 2, 10]],
    'event 7 was not published twice; the rest in order, with per-channel ids following on',
  )
  t.same(sentCommands, ['evalsha'], 'one script call for the whole batch')
  t.same(await fanout.catchUp('home', 0), { envelopes: got.filter((e) => e.channel === 'home') }, 'the history holds them too')
})

t.test('the relay hands a batch consumer the whole pass; when the batch fails it falls back to one at a time, in order, once each', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const { db } = database
  const outbox = new Outbox(db)
  const published: number[] = []
  const calls: string[] = []
  let batchFailures = 1
  let failAt: number | null = null
  const consumers: EventConsumer[] = [
    {
      name: 'live',
      // As the live fan-out: each event once (a marker per id), whatever is handed again.
      handle: async (e) => {
        calls.push(`one:${e.id}`)
        if (failAt === e.id) throw new Error('Redis is away')
        if (!published.includes(e.id)) published.push(e.id)
      },
      handleMany: async (events) => {
        calls.push(`many:${events.map((e) => e.id).join(',')}`)
        // Gets the first one through, then fails (a dropped connection mid-batch).
        if (batchFailures-- > 0) {
          if (!published.includes(events[0]!.id)) published.push(events[0]!.id)
          failAt = events[1]?.id ?? null
          throw new Error('Redis is away')
        }
        for (const e of events) if (!published.includes(e.id)) published.push(e.id)
      },
    },
    { name: 'other', handle: async (e) => void calls.push(`other:${e.id}`) },
  ]
  for (let votes = 1; votes <= 3; votes++) await outbox.emit(db, 'idea.voted', { ideaId: 1, votes }, { channels: ['idea:1'] })
  const ids = (await db.selectFrom('outbox').select('id').orderBy('id').execute()).map((r) => Number(r.id))
  const relay = new OutboxRelay({ db, outbox, consumers, log: quiet, listenUrl: database.url, pollMs: 50 })
  t.teardown(() => relay.close())
  await relay.start()
  setTimeout(() => (failAt = null), 300)
  const rows = await eventually(
    () => db.selectFrom('outbox').select(['id', 'delivered_at', 'done']).orderBy('id').execute(),
    (rs) => rs.every((r) => r.delivered_at !== null),
    'every event delivered',
  )
  t.same(published, ids, 'published in outbox order, each once')
  t.same(rows.map((r) => r.done), ids.map(() => ['live', 'other']))
  t.equal(calls[0], `many:${ids.join(',')}`, 'the first pass handed the whole pass over at once')
  t.same(calls.slice(1, 4), [`one:${ids[0]}`, `other:${ids[0]}`, `one:${ids[1]}`], 'then one at a time: the first event (already out) again, the other consumer, and the failure where it stands')
  const laterBatch = calls.slice(4).find((c) => c.startsWith('many:'))
  t.equal(laterBatch, `many:${ids.slice(1).join(',')}`, 'after the backoff, a batch again, of the events still owed')
  t.equal(calls.filter((c) => c === `other:${ids[2]}`).length, 1, 'the other consumer got each event once')
})

t.test('under a stream of writes, passes are spaced and each takes what came in meanwhile; a write after a quiet spell goes at once', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const { db } = database
  const outbox = new Outbox(db)
  const passes: number[][] = []
  const consumers: EventConsumer[] = [
    { name: 'live', handle: async () => {}, handleMany: async (events) => void passes.push(events.map((e) => e.id)) },
  ]
  // A long spacing and no poll, so that only the relay's own spacing decides when passes run.
  const relay = new OutboxRelay({ db, outbox, consumers, log: quiet, listenUrl: database.url, pollMs: 60_000, spacingMs: 1_500 })
  t.teardown(() => relay.close())
  await relay.start()
  const delivered = (ids: number[]) =>
    eventually(
      () => db.selectFrom('outbox').select('id').where('id', 'in', ids).where('delivered_at', 'is not', null).execute(),
      (rs) => rs.length === ids.length,
      `events ${ids.join(', ')} delivered`,
    )
  const emitOne = async (votes: number) => {
    await outbox.emit(db, 'idea.voted', { ideaId: 1, votes }, { channels: ['idea:1'] })
    return Number((await db.selectFrom('outbox').select('id').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow()).id)
  }

  // The first write after a quiet spell: relayed at once, well inside the spacing. (Starting runs a
  // pass, and the start's second wake one more, a spacing later: quiet means after both.)
  await sleep(3_200)
  const started = Date.now()
  const first = await emitOne(1)
  await delivered([first])
  t.ok(Date.now() - started < 1_000, 'a lone write is not held back by the spacing')
  // A stream right behind it: every event waits for the next spaced pass, and that one pass takes them all.
  const stream: number[] = []
  for (let votes = 2; votes <= 6; votes++) stream.push(await emitOne(votes))
  await delivered(stream)
  t.same(passes, [[first], stream], 'two passes: the lone event, then the whole stream at once, in order')
  // Quiet again for longer than the spacing: the next write goes at once.
  await sleep(1_600)
  const again = Date.now()
  const last = await emitOne(7)
  await delivered([last])
  t.ok(Date.now() - again < 1_000, 'after a quiet spell, at once again')
  t.same(passes.at(-1), [last])
})

t.test('relays are woken once a write commits: this process\'s directly, another\'s by a NOTIFY sent after the commit', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const { db } = database
  const idsOf = (events: AnyDomainEvent[]) => events.map((e) => (e.data as { votes: number }).votes)

  // This process's relay, with no LISTEN and no poll to speak of: only the writer's own wake can move it.
  const outbox = new Outbox(db, { announce: false })
  const local: AnyDomainEvent[] = []
  const relay = new OutboxRelay({ db, outbox, consumers: [{ name: 'local', handle: async (e) => void local.push(e) }], log: quiet, listenUrl: null, pollMs: 60_000 })
  t.teardown(() => relay.close())
  await relay.start()
  await db.transaction().execute(async (trx) => {
    await outbox.emit(trx, 'idea.voted', { ideaId: 1, votes: 1 }, { channels: ['idea:1'] })
    // The transaction stays open: a relay woken now would find nothing, and nothing would wake it again.
    await sleep(300)
  })
  await eventually(async () => idsOf(local), (v) => v.length === 1, 'the event, after its commit', 3_000)
  t.pass('the writer\'s relay is woken after the commit, not before it')
  await relay.close()

  // Another process: its own pool and relay, listening, with no poll to speak of. The writer here has no relay at all.
  const other = createDb(database.url, 2)
  t.teardown(() => other.destroy())
  const theirs: AnyDomainEvent[] = []
  const listening = new OutboxRelay({ db: other, outbox: new Outbox(other), consumers: [{ name: 'other', handle: async (e) => void theirs.push(e) }], log: quiet, listenUrl: database.url, pollMs: 60_000 })
  t.teardown(() => listening.close())
  await listening.start()
  await sleep(100)
  const writer = new Outbox(db)
  await writer.emit(db, 'idea.voted', { ideaId: 1, votes: 2 }, { channels: ['idea:1'] })
  await eventually(async () => idsOf(theirs), (v) => v.includes(2), 'a lone write, heard by the other process', 3_000)
  // A burst from many transactions at once: the NOTIFYs are shared, and the last commit is still announced.
  await Promise.all(Array.from({ length: 40 }, (_, i) =>
    db.transaction().execute(async (trx) => {
      await writer.emit(trx, 'idea.voted', { ideaId: 1, votes: 100 + i }, { channels: ['idea:1'] })
    })))
  const heard = await eventually(async () => idsOf(theirs), (v) => v.length === 41, 'every event of the burst, heard by the other process', 3_000)
  t.same([...heard].sort((a, b) => a - b), [2, ...Array.from({ length: 40 }, (_, i) => 100 + i)], 'each event once')
})

t.test('a process killed after committing an event and before delivering it loses nothing', async (t) => {
  // The web process commits the sign-up (and its event) while Redis is away, so it cannot
  // hand the welcome mail on; then it is killed. Redis comes back empty; a worker starts.
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const redis = await privateRedis()
  t.teardown(() => redis.close())
  const smtp = await startSmtp(t)
  const port = await freePort()
  const env = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    SMTP_URL: smtp.url,
    SECRET_KEY: 'outbox-test-secret-key-0123456789abcdef',
    BASE_URL: `http://127.0.0.1:${port}`,
    PORT: String(port),
    HOST: '127.0.0.1',
    REDIS_PREFIX: `hearth_outbox_${port}`,
  }
  const web = spawnEntry('src/main.ts', env)
  t.teardown(() => web.child.kill('SIGKILL'))
  await web.waitFor(/Hearth is ready/)
  await redis.stop()

  const signup = await fetch(`http://127.0.0.1:${port}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${port}` },
    body: JSON.stringify({ username: 'wren', email: 'wren@example.test', password: PASSWORD }),
  })
  t.equal(signup.status, 201, 'signing up works while Redis is away')
  const pending = await eventually(
    () => database.db.selectFrom('outbox').select(['type', 'delivered_at', 'attempts']).where('type', '=', 'user.signed_up').execute(),
    (rows) => rows.length === 1 && rows[0]!.attempts > 0,
    'the relay tried and failed',
  )
  t.equal(pending[0]!.delivered_at, null, 'the event is committed but not delivered')
  web.child.kill('SIGKILL')
  await web.exited
  t.equal(smtp.to('wren@example.test').length, 0, 'no mail went out before the kill')

  await redis.start()
  const worker = spawnEntry('src/worker.ts', env)
  t.teardown(() => worker.child.kill('SIGTERM'))
  await worker.waitFor(/worker ready/)
  await smtp.waitFor((ms) => ms.some((m) => m.to.includes('wren@example.test')), 30_000)
  t.equal(smtp.to('wren@example.test')[0]!.subject, 'Welcome to Hearth', 'the welcome mail arrives once any process runs again')
  const after = await database.db.selectFrom('outbox').select('delivered_at').where('type', '=', 'user.signed_up').executeTakeFirstOrThrow()
  t.ok(after.delivered_at, 'and the event is marked delivered')
  await sleep(500)
  t.equal(smtp.to('wren@example.test').length, 1, 'exactly one welcome mail')
  worker.child.kill('SIGTERM')
  await worker.exited
})

t.test('a Redis outage delays welcome and verification mail, and loses neither', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const redis = await privateRedis()
  t.teardown(() => redis.close())
  const smtp = await startSmtp(t)
  const config = testConfig({ REDIS_URL: redis.url, SMTP_URL: smtp.url })
  const connection = createRedis(redis.url)
  const queue = new JobQueue(connection, config.redisPrefix)
  const app = await buildApp(config, { db: database.db, redis: connection, queue, listenUrl: database.url })
  t.teardown(async () => {
    await app.close()
    await queue.close()
    connection.disconnect()
  })
  await redis.stop()

  const member = new Client(app)
  t.equal((await member.api('POST', '/api/v1/auth/signup', { username: 'sorrel', email: 'sorrel@example.test', password: PASSWORD })).statusCode, 201)
  t.equal((await member.submit('/settings/email/verify', {}, '/settings')).statusCode, 303, 'asking for another link works too')
  const waiting = await eventually(
    () => database.db.selectFrom('outbox').select(['type', 'attempts', 'last_error']).where('delivered_at', 'is', null).orderBy('id').execute(),
    (rows) => rows.length === 2 && rows[0]!.attempts > 0,
    'both events wait',
  )
  t.same(waiting.map((r) => r.type), ['user.signed_up', 'email.verification_requested'])
  t.ok(waiting[0]!.last_error, 'the reason is recorded for operators')
  const jobsPage = await member.get('/admin/jobs')
  t.match(jobsPage.body, /data-outbox-waiting="2"/, 'and /admin/jobs shows the owner (the first account) what waits')
  t.match(jobsPage.body, /none is lost/)

  await redis.start()
  const commands = createRedis(redis.url)
  const worker = await startWorker({
    definitions: allJobs,
    db: database.db,
    config,
    log: quiet,
    commandConnection: commands,
    workerConnection: createBlockingRedis(redis.url),
    listenUrl: database.url,
  })
  t.teardown(async () => {
    await worker.close()
    commands.disconnect()
  })
  await smtp.waitFor((ms) => ms.filter((m) => m.to.includes('sorrel@example.test')).length === 2, 60_000)
  t.same(smtp.to('sorrel@example.test').map((m) => m.subject).sort(), ['Confirm your email address for Hearth', 'Welcome to Hearth'].sort(), 'both mails arrive after the outage')
})

t.test('a notification made in a worker job reaches the member by mail and on the live badge', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url, NOTIFICATION_MAIL_DELAY: '0' } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  const f = await forum(app, db)
  await app.hearth.settings.update({ promotion_min_activity: 3, moderators_per_category: 1 })
  const helper = await persona(app, db, { stem: 'helper', trustLevel: 3 })
  const thread = await startThread(f.admin, f.cats.open.id)
  for (let i = 0; i < 4; i++) await replyTo(helper, thread.id, `a helpful answer, number ${i}`)
  await drained(worker)

  const socket = await LiveClient.connect(await serve(testApp), { cookie: helper.client.cookieHeader })
  t.teardown(() => socket.close())
  t.same(await socket.subscribe('user:me'), { type: 'subscribed', channel: 'user:me' })
  // Away for a while, so the notification is mailed rather than left for the app.
  await db.updateTable('users').set({ last_seen_at: sql<Date>`now() - interval '1 hour'` as never }).where('id', '=', helper.id).execute()

  await worker.running.queue.enqueue('moderators.promote', {})
  const frame = await socket.next((f) => f.type === 'event' && f.channel === 'user:me', 20_000)
  t.match(frame, { event: 'notification.created', kind: 'moderator.promoted' }, 'the live badge hears of it at once')
  await smtp.waitFor((ms) => ms.some((m) => m.to.includes(helper.email) && /moderat/i.test(m.subject + m.text)), 30_000)
  t.pass('and the notification mail arrives')
  const row = await db.selectFrom('notifications').select('kind').where('user_id', '=', helper.id).where('kind', '=', 'moderator.promoted').execute()
  t.equal(row.length, 1, 'one notification')
})
