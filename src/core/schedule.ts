/**
 * The latest time a job's schedule fell due at or before `now`, for the in-process
 * scheduler (src/in-process-jobs.ts). BullMQ reads the same declarations with full cron
 * support in the worker; in-process, the patterns Hearth declares — `M * * * *` (hourly)
 * and `M H * * *` (daily) — and `{every}` intervals are enough, and any other pattern is
 * refused when the web process starts rather than silently never running.
 */
export type Schedule = { pattern: string } | { every: number }

const HOUR = 60 * 60_000
const DAY = 24 * HOUR

/** Throws unless the schedule is one the in-process scheduler understands. */
export function checkSchedule(schedule: Schedule): void {
  if ('every' in schedule) {
    if (!Number.isFinite(schedule.every) || schedule.every < 1_000) throw new Error(`schedule every ${schedule.every} ms is too short`)
    return
  }
  parsePattern(schedule.pattern)
}

function parsePattern(pattern: string): { minute: number; hour: number | null } {
  const parts = pattern.trim().split(/\s+/)
  const [m, h, dom, mon, dow] = parts
  const number = (v: string | undefined, max: number) => (v !== undefined && /^\d+$/.test(v) && Number(v) <= max ? Number(v) : null)
  const minute = number(m, 59)
  const hour = h === '*' ? null : number(h, 23)
  if (parts.length !== 5 || minute === null || (h !== '*' && hour === null) || dom !== '*' || mon !== '*' || dow !== '*') {
    throw new Error(`in-process jobs support "M * * * *" and "M H * * *" schedules, not "${pattern}"`)
  }
  return { minute, hour }
}

/** The most recent moment at or before `now` when the schedule fell due (UTC, as BullMQ's default). */
export function lastDue(schedule: Schedule, now: Date): Date {
  if ('every' in schedule) return new Date(Math.floor(now.getTime() / schedule.every) * schedule.every)
  const { minute, hour } = parsePattern(schedule.pattern)
  const due = new Date(now)
  due.setUTCSeconds(0, 0)
  due.setUTCMinutes(minute)
  if (hour === null) {
    if (due > now) due.setTime(due.getTime() - HOUR)
    return due
  }
  due.setUTCHours(hour)
  if (due > now) due.setTime(due.getTime() - DAY)
  return due
}
