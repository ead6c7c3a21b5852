import { randomBytes } from 'node:crypto'
import { QueueEvents } from 'bullmq'
import t from 'tap'
import pino from 'pino'
import { SessionStore } from '../../src/core/auth/sessions.js'
import { checkJobRegistry } from '../../src/core/queue.js'
import { createBlockingRedis, createRedis } from '../../src/core/redis.js'
import { startWorker } from '../../src/worker-runtime.js'
import { Outbox } from '../../src/core/outbox.js'
import { allJobs } from '../../src/jobs.js'
import { REDIS_URL, testConfig } from '../helpers/app.js'
import { createTestDatabase } from '../helpers/db.js'

t.test('the worker refuses to start when a job has no handler', async (t) => {
  t.throws(() => checkJobRegistry([]), /job "sessions.purge" has no handler/)
  t.throws(() => checkJobRegistry([...allJobs, ...allJobs]), /has two handlers/)
  t.doesNotThrow(() => checkJobRegistry(allJobs))
})

t.test('the session purge runs through BullMQ on a real worker and is scheduled', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const config = testConfig({ REDIS_URL })
  const redis = createRedis(REDIS_URL)
  const running = await startWorker({
    definitions: allJobs,
    db: database.db,
    config,
    log: pino({ level: 'silent' }),
    commandConnection: redis,
    workerConnection: createBlockingRedis(REDIS_URL),
  })
  const eventsConnection = createBlockingRedis(REDIS_URL)
  const events = new QueueEvents('hearth', { connection: eventsConnection, prefix: config.redisPrefix })
  t.teardown(async () => {
    await events.close()
    eventsConnection.disconnect()
    await running.close()
    const keys = await redis.keys(`${config.redisPrefix}*`)
    if (keys.length) await redis.del(...keys)
    redis.disconnect()
  })
  await events.waitUntilReady()

  const schedulers = await running.queue.queue.getJobSchedulers()
  t.ok(
    schedulers.some((s) => s.key === 'sessions.purge' && s.pattern === '17 * * * *'),
    'the hourly purge is declared with a job scheduler',
  )

  const user = await database.db
    .insertInto('users')
    .values({ username: `w${randomBytes(3).toString('hex')}`, email: `${randomBytes(3).toString('hex')}@example.test`, password_hash: 'x' })
    .returning('id')
    .executeTakeFirstOrThrow()
  const sessions = new SessionStore(database.db, 30, new Outbox(database.db))
  const live = await sessions.create(user.id)
  const old = await sessions.create(user.id)
  await database.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 60_000) }).where('id', '=', old.session.id).execute()

  const job = await running.queue.queue.add('sessions.purge', {})
  const result = await job.waitUntilFinished(events, 15_000)
  t.same(result, { purged: 1 })
  const left = await database.db.selectFrom('sessions').select('id').execute()
  t.same(left.map((s) => s.id), [live.session.id], 'only the live session remains')

  const again = await running.queue.queue.add('sessions.purge', {})
  t.same(await again.waitUntilFinished(events, 15_000), { purged: 0 }, 'running it twice changes nothing more')
})
