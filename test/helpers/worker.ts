import { QueueEvents } from 'bullmq'
import pino from 'pino'
import type { Config } from '../../src/config.js'
import type { Db } from '../../src/core/db.js'
import { MAIL_QUEUE_NAME, QUEUE_NAME } from '../../src/core/queue.js'
import { createBlockingRedis, createRedis } from '../../src/core/redis.js'
import { type RunningWorker, startWorker } from '../../src/worker-runtime.js'
import { allJobs } from '../../src/jobs.js'
import { REDIS_URL, type Teardown } from './app.js'

export interface TestWorker {
  running: RunningWorker
  /** Completion events of the main queue and the mail queue. */
  events: QueueEvents
  mailEvents: QueueEvents
  close(): Promise<void>
}

/**
 * A real BullMQ worker over every job, on the test's database and Redis prefix. Close it
 * at the end of the test: teardowns run in order, and the database goes first.
 */
export async function startTestWorker(t: Teardown, db: Db, config: Config): Promise<TestWorker> {
  const redis = createRedis(REDIS_URL)
  const running = await startWorker({
    definitions: allJobs,
    db,
    config,
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    commandConnection: redis,
    workerConnection: createBlockingRedis(REDIS_URL),
    // Without the database's address here, the relay polls instead of listening.
    outboxPollMs: 100,
  })
  const eventConnections = [createBlockingRedis(REDIS_URL), createBlockingRedis(REDIS_URL)]
  const events = new QueueEvents(QUEUE_NAME, { connection: eventConnections[0]!, prefix: config.redisPrefix })
  const mailEvents = new QueueEvents(MAIL_QUEUE_NAME, { connection: eventConnections[1]!, prefix: config.redisPrefix })
  await Promise.all([events.waitUntilReady(), mailEvents.waitUntilReady()])
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await Promise.all([events.close(), mailEvents.close()])
    for (const c of eventConnections) c.disconnect()
    await running.close()
    redis.disconnect()
  }
  t.teardown(close)
  return { running, events, mailEvents, close }
}

/**
 * Waits until no job is waiting or running, and no mail job is delayed (a retry or a
 * notification batch). Delayed jobs of the main queue are the schedules' next runs.
 */
export async function drained(worker: TestWorker, timeoutMs = 30_000): Promise<void> {
  const started = Date.now()
  // Jobs that follow events (welcome mail, notification mail) are queued by the outbox relay.
  await worker.running.services.relay.drain()
  const { queue, mailQueue } = worker.running.queue
  for (;;) {
    const counts = await Promise.all([
      queue.getJobCounts('waiting', 'active', 'prioritized'),
      mailQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
    ])
    if (counts.every((c) => Object.values(c).every((n) => n === 0))) return
    if (Date.now() - started > timeoutMs) throw new Error(`queues not drained: ${JSON.stringify(counts)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
