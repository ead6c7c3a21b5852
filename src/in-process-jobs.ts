import type { Logger } from 'pino'
import type { Config } from './config.js'
import type { JobQueue } from './core/queue.js'
import { checkSchedule, lastDue, type Schedule } from './core/schedule.js'
import type { Services } from './services.js'
import type { JobContext, JobDefinition } from './worker-runtime.js'

export interface InProcessJobsOptions {
  definitions: JobDefinition[]
  services: Services
  config: Config
  log: Logger
  /** Runs every job this often instead of on its schedule (tests, demos). */
  everyMs?: number | null
  /** How often the scheduler looks for due jobs (default 30 s, or `everyMs` when shorter). */
  tickMs?: number
}

export interface InProcessJobs {
  /** The jobs it runs, by name. */
  names: string[]
  /** Runs one job now, as /admin's "run now" does (waits for a run in progress first). */
  runNow(name: string): Promise<unknown>
  close(): Promise<void>
}

const DEFAULT_TICK_MS = 30_000

// Jobs need a queue only to fan out more jobs or mail; those never run here, and one that
// tried would fail loudly instead of doing half its work.
const noQueue = new Proxy({}, {
  get() {
    throw new Error('this job needs Redis: background queues are off in-process')
  },
}) as JobQueue

/**
 * Runs scheduled jobs inside the web process when there is no Redis (the quick start), with
 * the same JobDefinitions and service graph the worker uses. One scheduler runs one job at
 * a time, so runs never overlap; each due occurrence is claimed in `scheduled_job_runs`
 * with one conditional upsert, so web processes sharing a database run it once between
 * them, and a process that was stopped runs what it missed when it starts.
 */
export function startInProcessJobs(options: InProcessJobsOptions): InProcessJobs {
  const { services, config, log } = options
  const jobs = options.definitions.filter((d) => d.schedule && d.withoutRedis)
  for (const job of jobs) checkSchedule(job.schedule!)
  const byName = new Map(jobs.map((j) => [j.name as string, j]))
  const context: Omit<JobContext, 'log'> = { db: services.db, config, queue: noQueue, mailer: null, links: services.links, services }
  const scheduleOf = (job: JobDefinition): Schedule => (options.everyMs ? { every: options.everyMs } : job.schedule!)
  let running: Promise<unknown> = Promise.resolve()
  let closed = false

  const run = async (job: JobDefinition, claimed: boolean) => {
    const jobLog = log.child({ job: job.name, inProcess: true })
    const db = services.db
    if (!claimed) {
      await db
        .insertInto('scheduled_job_runs')
        .values({ name: job.name, started_at: new Date() })
        .onConflict((oc) => oc.column('name').doUpdateSet({ started_at: new Date(), finished_at: null, error: null }))
        .execute()
    }
    try {
      const result = await job.handle({} as never, { ...context, log: jobLog })
      await db.updateTable('scheduled_job_runs').set({ finished_at: new Date(), error: null }).where('name', '=', job.name).execute()
      return result
    } catch (err) {
      jobLog.error({ err }, 'in-process job failed; it runs again at its next time')
      await db
        .updateTable('scheduled_job_runs')
        .set({ finished_at: new Date(), error: err instanceof Error ? err.message.slice(0, 1_000) : String(err) })
        .where('name', '=', job.name)
        .execute()
        .catch(() => {})
      throw err
    }
  }

  // Claims the occurrence that fell due last, unless someone (this process before a restart,
  // or another web process) already started a run at or after it.
  const claim = async (job: JobDefinition, now: Date): Promise<boolean> => {
    const due = lastDue(scheduleOf(job), now)
    const row = await services.db
      .insertInto('scheduled_job_runs')
      .values({ name: job.name, started_at: now })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({ started_at: now, finished_at: null, error: null }).where('scheduled_job_runs.started_at', '<', due),
      )
      .returning('name')
      .executeTakeFirst()
    return row !== undefined
  }

  const tick = async () => {
    for (const job of jobs) {
      if (closed) return
      try {
        if (await claim(job, new Date())) await run(job, true)
      } catch (err) {
        log.warn({ err, job: job.name }, 'in-process job did not run')
      }
    }
  }

  // One chain: a tick or a "run now" waits for the one before, so two runs never overlap.
  const enqueue = <T>(work: () => Promise<T>): Promise<T> => {
    const next = running.then(work, work)
    running = next.catch(() => {})
    return next
  }
  let ticking = false
  const onTimer = () => {
    if (ticking || closed) return // the previous tick is still running: skip, never pile up
    ticking = true
    void enqueue(tick).finally(() => (ticking = false))
  }
  const tickMs = options.tickMs ?? Math.min(DEFAULT_TICK_MS, options.everyMs ?? DEFAULT_TICK_MS)
  const timer = setInterval(onTimer, tickMs)
  timer.unref()
  // The first look comes soon after start, so a community that was off catches up.
  const first = setTimeout(onTimer, Math.min(tickMs, 2_000))
  first.unref()

  return {
    names: jobs.map((j) => j.name),
    runNow(name) {
      const job = byName.get(name)
      if (!job) return Promise.reject(new Error(`no in-process job ${name}`))
      return enqueue(() => run(job, false))
    },
    async close() {
      closed = true
      clearInterval(timer)
      clearTimeout(first)
      await running
    },
  }
}
