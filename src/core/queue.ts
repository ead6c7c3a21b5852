import { type JobsOptions, Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { Config } from '../config.js'
import type { Db } from './db.js'

/**
 * Every background job Hearth knows, with its payload schema. The worker refuses to
 * start unless each has exactly one handler, and payloads are parsed before a handler runs.
 */
export const jobPayloads = {
  'sessions.purge': z.object({}),
  'trust.recompute': z.object({}),
  'moderators.promote': z.object({}),
} as const

export type JobName = keyof typeof jobPayloads
export type JobPayload<N extends JobName> = z.output<(typeof jobPayloads)[N]>

export const QUEUE_NAME = 'hearth'

/** Retries with exponential backoff; failed jobs are kept for /admin/jobs. */
export const defaultJobOptions: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 24 * 60 * 60, count: 1_000 },
  removeOnFail: false,
}

/** What a job handler gets to work with. */
export interface JobContext {
  db: Db
  config: Config
  log: Logger
  queue: JobQueue
}

/** A feature's job: its handler and, for recurring work, its schedule (cron pattern or interval). */
export interface JobDefinition<N extends JobName = JobName> {
  name: N
  handle(payload: JobPayload<N>, ctx: JobContext): Promise<unknown>
  schedule?: { pattern: string } | { every: number }
}

/** Enqueues jobs by name with a typed, validated payload. */
export class JobQueue {
  readonly queue: Queue

  constructor(connection: Redis, prefix: string) {
    this.queue = new Queue(QUEUE_NAME, { connection, prefix, defaultJobOptions })
  }

  /** Adds a job; `jobId` makes it idempotent (a second add with the same id is ignored). */
  async enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options: JobsOptions = {}): Promise<string | undefined> {
    const data = jobPayloads[name].parse(payload)
    const job = await this.queue.add(name, data, options)
    return job.id
  }

  close(): Promise<void> {
    return this.queue.close()
  }
}

/** Fails with every job name that has no handler (or more than one). */
export function checkJobRegistry(definitions: JobDefinition[]): Map<JobName, JobDefinition> {
  const byName = new Map<JobName, JobDefinition>()
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
