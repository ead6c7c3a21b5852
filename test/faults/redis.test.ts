import t from 'tap'
import { buildApp } from '../../src/app.js'
import { JobQueue } from '../../src/core/queue.js'
import { createRedis } from '../../src/core/redis.js'
import { allJobs } from '../../src/jobs.js'
import { testConfig } from '../helpers/app.js'
import { createTestDatabase } from '../helpers/db.js'
import { appAndWorkerOn, hasRedisServer, privateRedis, until } from '../helpers/faults.js'
import { forum, startThread } from '../helpers/forum.js'
import { LiveClient } from '../helpers/live.js'
import { freePort } from '../helpers/process.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('rate limits still hold, per process, while Redis is unreachable', async (t) => {
  const database = await createTestDatabase()
  // Nothing listens on this port: Redis is down from the start.
  const redis = createRedis(`redis://127.0.0.1:${await freePort()}`)
  redis.on('error', () => {})
  const config = testConfig({ REDIS_URL: 'redis://127.0.0.1:1', RATE_LIMIT_POST: '3' })
  const app = await buildApp(config, { db: database.db, redis, queue: new JobQueue(redis, config.redisPrefix) })
  t.teardown(async () => {
    await app.close()
    redis.disconnect()
    await database.drop()
  })
  const f = await forum(app, database.db)
  const thread = await startThread(f.member, f.cats.open.id)
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) {
    statuses.push((await f.regular.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: `reply ${i}` })).statusCode)
  }
  t.same(statuses, [201, 201, 201, 429], 'three replies a minute, then 429: the limit is not switched off')
})

t.test('Redis stopped under load and started again (empty)', { skip: !(await hasRedisServer()) && 'no redis-server' }, async (t) => {
  const server = await privateRedis()
  t.teardown(() => server.close())
  const stack = await appAndWorkerOn(server.url)
  t.teardown(() => stack.close())
  const { database, redis, app, worker } = stack
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const scheduled = allJobs.filter((j) => j.schedule).length
  t.equal((await worker.queue.queue.getJobSchedulers()).length, scheduled, 'schedules declared at start')

  const f = await forum(app, database.db)
  const thread = await startThread(f.member, f.cats.open.id)
  // A quiet thread: after one event, nothing more happens there, so no later event will
  // reveal that Redis lost its history; only the reconnect can.
  const quiet = await startThread(f.admin, f.cats.open.id, 'A quiet thread')
  const reader = await LiveClient.connect(base, { cookie: f.regular.client.cookieHeader })
  t.equal((await reader.subscribe(`thread:${quiet.id}`)).type, 'subscribed')
  await f.admin.client.api('POST', `/api/v1/threads/${quiet.id}/posts`, { body: 'the last word here' })
  t.equal((await reader.next((frame) => frame.type === 'event')).event, 'post.created', 'the reader is up to date')

  const saved: number[] = []
  const refused: { status: number; body: string }[] = []
  let running = true
  let n = 0
  const writers = [f.member, f.admin].map(async (who) => {
    while (running) {
      const res = await who.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: `reply ${n++}` })
      if (res.statusCode === 201) saved.push(res.data.id as number)
      else refused.push({ status: res.statusCode, body: res.body })
    }
  })
  await sleep(200)
  await server.stop()
  const savedBefore = saved.length
  await sleep(1_000)
  const duringOutage = saved.length - savedBefore
  const pages = await app.inject({ url: thread.url })
  t.equal(pages.statusCode, 200, 'pages are served while Redis is down')
  await server.start()
  await sleep(300)
  running = false
  await Promise.all(writers)

  t.ok(duringOutage > 0, `writes kept going while Redis was down (${duringOutage} in one second)`)
  t.same(refused, [], 'no write was refused')
  const stored = await database.db.selectFrom('posts').select('id').where('id', 'in', saved).execute()
  t.equal(stored.length, saved.length, 'every reply answered 201 is in the database')

  const reload = await reader.next((frame) => frame.type === 'reload', 15_000)
  t.equal(reload.channel, `thread:${quiet.id}`, 'the live page is told to reload after the gap')

  await until(async () => (await worker.queue.queue.getJobSchedulers()).length === scheduled, 20_000)
  t.pass('the worker declared its schedules again on the empty Redis')

  await until(async () => {
    const row = await database.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('delivered_at', 'is', null)
      .executeTakeFirstOrThrow()
    return Number(row.n) === 0
  }, 30_000)
  t.pass('events written during the outage are delivered once Redis is back')
  reader.socket.close()
})
