import { type JobsOptions, Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { Config } from '../config.js'
import type { Db } from './db.js'
import type { Mailer } from './mail.js'
import type { LinkSigner } from './signed-tokens.js'

/**
 * Every background job Hearth knows, with its payload schema. The worker refuses to
 * start unless each has exactly one handler, and payloads are parsed before a handler runs.
 */
export const jobPayloads = {
  'sessions.purge': z.object({}),
  'digest.enqueue': z.object({}),
  'mail.digest': z.object({ userId: z.number().int().positive(), periodKey: z.string().min(1).max(40) }),
  'mail.notifications': z.object({ userId: z.number().int().positive() }),
  'mail.welcome': z.object({ userId: z.number().int().positive() }),
  'mail.verify': z.object({ userId: z.number().int().positive(), nonce: z.string().min(8).max(64) }),
  'mail.password_reset': z.object({ email: z.string().min(3).max(254), nonce: z.string().min(8).max(64) }),
  'trust.recompute': z.object({}),
  'moderators.promote': z.object({}),
  'outbox.prune': z.object({}),
  'spam.prune': z.object({}),
  'account.export': z.object({ exportId: z.string().min(1).max(64) }),
  'account.exports_purge': z.object({}),
  'account.deletions': z.object({}),
  'activity.nightly': z.object({}),
  'health.weekly_report': z.object({}),
  'surveys.invite': z.object({ surveyId: z.number().int().positive(), afterUserId: z.number().int().min(0) }),
  'events.schedule': z.object({}),
  'events.remind': z.object({ occurrenceId: z.number().int().positive(), minutes: z.number().int().positive(), startsAt: z.number().int().optional() }),
  'events.recap': z.object({ occurrenceId: z.number().int().positive() }),
  'events.extend': z.object({}),
} as const

export type JobName = keyof typeof jobPayloads
export type JobPayload<N extends JobName> = z.output<(typeof jobPayloads)[N]>

export const QUEUE_NAME = 'hearth'
/** Jobs named `mail.*` run on their own queue, whose worker is rate-limited (MAIL_RATE_LIMIT). */
export const MAIL_QUEUE_NAME = 'hearth-mail'

/** The queue a job runs on. */
export function queueNameFor(name: JobName): string {
  return name.startsWith('mail.') ? MAIL_QUEUE_NAME : QUEUE_NAME
}

/** Retries with exponential backoff; failed jobs are kept for /admin/jobs. */
export const defaultJobOptions: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 24 * 60 * 60, count: 1_000 },
  removeOnFail: false,
}

/** The machinery every job handler gets; the worker adds the service graph (src/worker-runtime.ts). */
export interface BaseJobContext {
  db: Db
  config: Config
  log: Logger
  queue: JobQueue
  /** Null when SMTP_URL is not set: mail jobs then finish without sending. */
  mailer: Mailer | null
  /** Signs unsubscribe and verification links with the instance secret. */
  links: LinkSigner
}

/** A feature's job: its handler and, for recurring work, its schedule (cron pattern or interval). */
export interface JobDefinition<N extends JobName = JobName, Ctx = BaseJobContext> {
  name: N
  handle(payload: JobPayload<N>, ctx: Ctx): Promise<unknown>
  schedule?: { pattern: string } | { every: number }
  /**
   * Needs neither the queue nor the mailer: without Redis (the quick start) the web process
   * runs it on its schedule itself (src/in-process-jobs.ts).
   */
  withoutRedis?: boolean
}

/** Enqueues jobs by name with a typed, validated payload. */
export class JobQueue {
  readonly queue: Queue
  readonly mailQueue: Queue

  constructor(private readonly connection: Redis, prefix: string) {
    this.queue = new Queue(QUEUE_NAME, { connection, prefix, defaultJobOptions })
    this.mailQueue = new Queue(MAIL_QUEUE_NAME, { connection, prefix, defaultJobOptions })
    // A lost connection is reported where it matters (readiness, the relay's retries, the
    // worker's log); without a listener BullMQ would print every reconnect attempt.
    for (const q of [this.queue, this.mailQueue]) q.on('error', () => {})
  }

  /**
   * Whether Redis is connected now. A caller on a request path checks it first: asking a
   * disconnected client queues the command until Redis returns, and the request would hang.
   */
  get available(): boolean {
    return this.connection.status === 'ready'
  }

  /** Every queue, for the job overview in /admin/jobs. */
  get queues(): Queue[] {
    return [this.queue, this.mailQueue]
  }

  /** Adds a job; `jobId` makes it idempotent (a second add with the same id is ignored). */
  async enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options: JobsOptions = {}): Promise<string | undefined> {
    const data = jobPayloads[name].parse(payload)
    const job = await this.queueFor(name).add(name, data, options)
    return job.id
  }

  /** Adds many jobs of one name in one round trip (BullMQ addBulk). */
  async enqueueBulk<N extends JobName>(name: N, jobs: { payload: JobPayload<N>; options?: JobsOptions }[]): Promise<void> {
    if (jobs.length === 0) return
    await this.queueFor(name).addBulk(jobs.map((j) => ({ name, data: jobPayloads[name].parse(j.payload), opts: j.options })))
  }

  private queueFor(name: JobName): Queue {
    return queueNameFor(name) === MAIL_QUEUE_NAME ? this.mailQueue : this.queue
  }

  async close(): Promise<void> {
    await Promise.all([this.queue.close(), this.mailQueue.close()])
  }
}

/** Fails with every job name that has no handler (or more than one). */
export function checkJobRegistry<D extends { name: JobName }>(definitions: D[]): Map<JobName, D> {
  const byName = new Map<JobName, D>()
  const problems: string[] = []
  for (const def of definitions) {
    if (byName.has(def.name)) problems.push(`job "${def.name}" has two handlers`)
    byName.set(def.name, def)
  }
  for (const name of Object.keys(jobPayloads) as JobName[]) {
    if (!byName.has(name)) problems.push(`job "${name}" has no handler`)
  }
  if (problems.length > 0) throw new Error(`worker cannot start: ${problems.join('; ')}`)
  return byName
}
