import type { Queue } from 'bullmq'
import type { Db } from '../../core/db.js'
import { NotFound, Unavailable } from '../../core/errors.js'
import { outboxBacklog } from '../../core/outbox.js'
import type { JobQueue } from '../../core/queue.js'

const REDIS_DOWN = 'Background jobs cannot be reached: Redis is not answering. Nothing was changed; try again once it is back.'

export interface FailedJob {
  queue: string
  id: string
  name: string
  reason: string
  attempts: number
  failedAt: Date | null
}

/** What /admin/jobs shows about every queue: counts, and failed jobs with a retry; and events waiting for delivery. */
export class JobAdminService {
  constructor(
    private readonly jobs: JobQueue | null,
    private readonly db: Db,
  ) {}

  /**
   * Everything the page shows, within a bound: when Redis is not answering, the queues'
   * part says so (`unreachable`) instead of holding the page.
   */
  async overview(timeoutMs = 2_000) {
    const events = this.events()
    let timer: NodeJS.Timeout | undefined
    const queues = Promise.race([
      Promise.all([this.counts(), this.failed()]),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ])
      .then(([counts, failed]) => ({ counts, failed, unreachable: null }))
      .catch((err: Error) => ({ counts: [], failed: [], unreachable: err.message }))
      .finally(() => clearTimeout(timer))
    return { ...(await queues), events: await events }
  }

  /** Domain events committed but not yet delivered (a Redis outage shows here), with the oldest's age and the last error. */
  events() {
    return outboxBacklog(this.db)
  }

  get enabled(): boolean {
    return this.jobs !== null
  }

  /** Fails at once with a clear message while Redis is unreachable, instead of waiting for it. */
  private reachable(): void {
    if (this.jobs && !this.jobs.available) throw new Unavailable(REDIS_DOWN)
  }

  /** Job counts per queue and state. */
  async counts() {
    if (!this.jobs) return []
    this.reachable()
    return Promise.all(
      this.jobs.queues.map(async (q) => ({ queue: q.name, ...(await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed')) })),
    )
  }

  /** The most recent failed jobs of every queue, newest first. */
  async failed(limit = 100): Promise<FailedJob[]> {
    if (!this.jobs) return []
    this.reachable()
    const all = await Promise.all(
      this.jobs.queues.map(async (q) =>
        (await q.getFailed(0, limit - 1)).filter(Boolean).map((job) => ({
          queue: q.name,
          id: String(job.id),
          name: job.name,
          reason: job.failedReason ?? 'unknown',
          attempts: job.attemptsMade,
          failedAt: job.finishedOn ? new Date(job.finishedOn) : null,
        })),
      ),
    )
    return all
      .flat()
      .sort((a, b) => (b.failedAt?.getTime() ?? 0) - (a.failedAt?.getTime() ?? 0))
      .slice(0, limit)
  }

  /** Puts a failed job back in its queue; NotFound when it is gone or not failed. */
  async retry(queueName: string, id: string): Promise<void> {
    this.reachable()
    const queue: Queue | undefined = this.jobs?.queues.find((q) => q.name === queueName)
    const job = queue ? await queue.getJob(id) : undefined
    if (!job || !(await job.isFailed())) throw new NotFound('That job is not waiting for a retry')
    await job.retry('failed')
  }
}
