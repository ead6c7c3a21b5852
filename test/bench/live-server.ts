/**
 * The web instance under test for `npm run bench:live`, in its own process so its RSS is its
 * own. Driven over IPC by test/bench/live.ts: reports memory, emits replies at a steady rate,
 * shuts down with the sockets still open.
 */
import { buildApp } from '../../src/app.js'
import { JobQueue } from '../../src/core/queue.js'
import { createRedis } from '../../src/core/redis.js'
import { REDIS_URL, testConfig } from '../helpers/app.js'
import { createTestDatabase } from '../helpers/db.js'

type Command = { cmd: 'rss' } | { cmd: 'post'; threadId: number; perSecond: number; seconds: number } | { cmd: 'close' }

const send = (message: unknown) => process.send!(message)
const database = await createTestDatabase()
const config = testConfig({ REDIS_URL, LOG_LEVEL: 'warn' })
const redis = createRedis(REDIS_URL)
const queue = new JobQueue(redis, config.redisPrefix)
const app = await buildApp(config, { db: database.db, redis, queue })
app.hearth.live.registerChannel('thread', async (_user, id) => /^\d+$/.test(id))
app.hearth.live.setCategoryVisibility(async () => true)
await app.hearth.live.ready()
await app.listen({ port: 0, host: '127.0.0.1' })
const address = app.server.address()
if (!address || typeof address === 'string') throw new Error('no address')

function rss(): number {
  for (let i = 0; i < 3; i++) globalThis.gc?.()
  return process.memoryUsage().rss
}

async function post(threadId: number, perSecond: number, seconds: number): Promise<number> {
  const total = perSecond * seconds
  const started = performance.now()
  for (let n = 1; n <= total; n++) {
    // Steady rate: each reply waits for its own slot instead of bursting.
    const due = started + ((n - 1) * 1000) / perSecond
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    await app.hearth.outbox.emit(
      app.hearth.db,
      'post.created',
      { threadId, postId: n, title: 'Benchmark thread', url: `/t/${threadId}#p${n}`, author: 'bench', sentAt: performance.timeOrigin + performance.now() } as never,
      { channels: [`thread:${threadId}`, 'home'], categoryId: 1 },
    )
  }
  return total
}

process.on('message', async (message: Command) => {
  if (message.cmd === 'rss') send({ rss: rss(), stats: app.hearth.live.stats() })
  else if (message.cmd === 'post') {
    const cpu = process.cpuUsage()
    const started = performance.now()
    const posted = await post(message.threadId, message.perSecond, message.seconds)
    const used = process.cpuUsage(cpu)
    send({ posted, cpuPercent: ((used.user + used.system) / 1000 / (performance.now() - started)) * 100 })
  }
  else if (message.cmd === 'close') {
    const started = performance.now()
    await app.close()
    const closeMs = performance.now() - started
    await queue.close()
    const keys = await redis.keys(`${config.redisPrefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
    await database.drop()
    send({ closeMs })
    process.exit(0)
  }
})
send({ port: address.port })
