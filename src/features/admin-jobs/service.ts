import type { Queue } from 'bullmq'
import { NotFound, Unavailable } from '../../core/errors.js'
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

/** What /admin/jobs shows about every queue: counts, and failed jobs with a retry. */
export class JobAdminService {
  constructor(private readonly jobs: JobQueue | null) {}

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
