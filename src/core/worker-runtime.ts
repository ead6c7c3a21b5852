import { type Job, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import type { Db } from './db.js'
import { checkJobRegistry, type JobDefinition, type JobName, jobPayloads, JobQueue, QUEUE_NAME } from './queue.js'

export interface WorkerOptions {
  definitions: JobDefinition[]
  db: Db
  config: Config
  log: Logger
  /** For enqueueing and schedules. */
  commandConnection: Redis
  /** For the worker's blocking reads (maxRetriesPerRequest: null). */
  workerConnection: Redis
  concurrency?: number
}

export interface RunningWorker {
  worker: Worker
  queue: JobQueue
  close(): Promise<void>
}

/**
 * Starts a BullMQ worker over every job definition: refuses to start if a job has no
 * handler, declares each schedule with a job scheduler, parses payloads before handling.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { db, config, log } = options
  const handlers = checkJobRegistry(options.definitions)
  const queue = new JobQueue(options.commandConnection, config.redisPrefix)
  for (const def of options.definitions) {
    if (!def.schedule) continue
    await queue.queue.upsertJobScheduler(def.name, def.schedule, { name: def.name, data: {} })
  }
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job) => {
      const def = handlers.get(job.name as JobName)
      if (!def) throw new Error(`no handler for job ${job.name}`)
      const payload = jobPayloads[def.name].parse(job.data)
      const jobLog = log.child({ job: job.name, jobId: job.id })
      return def.handle(payload as never, { db, config, log: jobLog, queue })
    },
    { connection: options.workerConnection, prefix: config.redisPrefix, concurrency: options.concurrency ?? 4 },
  )
  worker.on('failed', (job, err) => log.error({ job: job?.name, jobId: job?.id, err }, 'job failed'))
  worker.on('error', (err) => log.error({ err }, 'worker error'))
  await worker.waitUntilReady()
  return {
    worker,
    queue,
    async close() {
      await worker.close()
      await queue.close()
      options.workerConnection.disconnect()
    },
  }
}
