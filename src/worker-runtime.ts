import { type Job, Worker } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import type { Db } from './core/db.js'
import { Mailer } from './core/mail.js'
import {
  type BaseJobContext,
  checkJobRegistry,
  type JobDefinition as CoreJobDefinition,
  type JobName,
  jobPayloads,
  JobQueue,
  MAIL_QUEUE_NAME,
  QUEUE_NAME,
} from './core/queue.js'
import { buildServices, type Services } from './services.js'

/** What a job handler gets: the queue machinery and the same service graph as the web process. */
export interface JobContext extends BaseJobContext {
  services: Services
}

/** A feature's job, handled with the worker's context. */
export type JobDefinition<N extends JobName = JobName> = CoreJobDefinition<N, JobContext>

export interface WorkerOptions {
  definitions: JobDefinition[]
  db: Db
  config: Config
  log: Logger
  /** For enqueueing, schedules and live fan-out. */
  commandConnection: Redis
  /** For the worker's blocking reads (maxRetriesPerRequest: null). */
  workerConnection: Redis
  concurrency?: number
  /** The database's connection string for the outbox relay's LISTEN (null: poll only). */
  listenUrl?: string | null
  /** How often the relay looks for events nobody announced. */
  outboxPollMs?: number
  /** How often schedules are declared again even without a Redis reconnect (default 5 min). */
  scheduleCheckMs?: number
}

export interface RunningWorker {
  worker: Worker
  /** Runs `mail.*` jobs, rate-limited across every worker by MAIL_RATE_LIMIT. */
  mailWorker: Worker
  queue: JobQueue
  services: Services
  close(): Promise<void>
}

// A killed mail worker's jobs return to the queue this soon; the lock is renewed while a job runs.
const MAIL_LOCK_MS = 15_000
const MAIL_STALLED_CHECK_MS = 10_000
// How often the worker re-declares its job schedules even without a reconnect.
const SCHEDULE_CHECK_MS = 5 * 60_000

/**
 * Starts a BullMQ worker over every job definition: refuses to start if a job has no
 * handler, declares each schedule with a job scheduler, parses payloads before handling.
 * It builds the service graph and runs an outbox relay, so events written by jobs (a
 * promotion's notification) reach live sockets and mail exactly as the web process's do.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { db, config, log } = options
  const handlers = checkJobRegistry(options.definitions)
  const queue = new JobQueue(options.commandConnection, config.redisPrefix)
  const declareSchedules = async () => {
    for (const def of options.definitions) {
      if (!def.schedule) continue
      await queue.queue.upsertJobScheduler(def.name, def.schedule, { name: def.name, data: {} })
    }
  }
  await declareSchedules()
  // A Redis that restarts empty (or was flushed) forgets every schedule: declare them again
  // whenever the connection comes back, and now and then in case nobody noticed a flush.
  // Upserting an existing scheduler changes nothing.
  const redeclare = (why: string) =>
    declareSchedules().then(
      () => log.info({ why }, 'job schedules declared again'),
      (err) => log.warn({ err, why }, 'could not declare job schedules; will try again'),
    )
  const onReady = () => void redeclare('redis reconnected')
  options.commandConnection.on('ready', onReady)
  const redeclareTimer = setInterval(() => void redeclare('periodic check'), options.scheduleCheckMs ?? SCHEDULE_CHECK_MS)
  redeclareTimer.unref()
  const services = await buildServices({
    config,
    db,
    log,
    redis: options.commandConnection,
    queue,
    listenUrl: options.listenUrl ?? null,
    outboxPollMs: options.outboxPollMs,
  })
  const mailer = config.smtpUrl ? new Mailer(config) : null
  if (!mailer) log.warn('no SMTP_URL: mail is off; mail jobs finish without sending anything')
  const context: Omit<JobContext, 'log'> = { db, config, queue, mailer, links: services.links, services }
  const processor = async (job: Job) => {
    const def = handlers.get(job.name as JobName)
    if (!def) throw new Error(`no handler for job ${job.name}`)
    const payload = jobPayloads[def.name].parse(job.data)
    const jobLog = log.child({ job: job.name, jobId: job.id })
    // The community's name as an owner set it in /admin (subjects, mail layouts), else COMMUNITY_NAME.
    const communityName = await services.community.name()
    if (mailer) mailer.communityName = communityName
    const jobConfig = communityName === config.communityName ? config : { ...config, communityName }
    return def.handle(payload as never, { ...context, config: jobConfig, log: jobLog })
  }
  const worker = new Worker(QUEUE_NAME, processor, {
    connection: options.workerConnection,
    prefix: config.redisPrefix,
    concurrency: options.concurrency ?? 4,
  })
  const mailWorker = new Worker(MAIL_QUEUE_NAME, processor, {
    connection: options.workerConnection,
    prefix: config.redisPrefix,
    concurrency: config.mailConcurrency,
    limiter: { max: config.mailRateLimit, duration: 1_000 },
    lockDuration: MAIL_LOCK_MS,
    stalledInterval: MAIL_STALLED_CHECK_MS,
  })
  for (const w of [worker, mailWorker]) {
    w.on('failed', (job, err) => log.error({ job: job?.name, jobId: job?.id, err }, 'job failed'))
    w.on('error', (err) => log.error({ err }, 'worker error'))
  }
  await Promise.all([worker.waitUntilReady(), mailWorker.waitUntilReady()])
  await services.start()
  return {
    worker,
    mailWorker,
    queue,
    services,
    async close() {
      clearInterval(redeclareTimer)
      options.commandConnection.off('ready', onReady)
      await Promise.all([worker.close(), mailWorker.close()])
      await services.close()
      await queue.close()
      mailer?.close()
      options.workerConnection.disconnect()
    },
  }
}
