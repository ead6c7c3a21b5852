import type { HealthFigures, HealthReport } from './report.js'

const DAY_MS = 86_400_000

/** One figure of the weekly report: this week, the week before, and whether it moved. */
export interface WeeklyRow {
  label: string
  now: string
  before: string
  change: string
  /** 'up' | 'down' | 'flat', and whether the move is good news. */
  direction: 'up' | 'down' | 'flat'
  good: boolean
  moved: boolean
}

export interface WeeklyReport {
  /** The ISO week of the report's last day, e.g. 2026-W48 (the mail's period key). */
  week: string
  from: Date
  to: Date
  /** The figures that moved by a fifth or more, first; then the rest. */
  rows: WeeklyRow[]
  moved: number
  unanswered: HealthFigures['unanswered']
  drifting: number
}

// A figure "moved" when it changed by at least this share (and by more than one, for small counts).
const MOVED_SHARE = 0.2

/** The last seven closed days against the seven before: the few numbers an owner should see. */
export async function weeklyReport(report: HealthReport, now = new Date()): Promise<WeeklyReport> {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  const to = new Date(today - DAY_MS)
  const from = new Date(to.getTime() - 6 * DAY_MS)
  const [week, before] = await Promise.all([
    report.figures({ from, to }),
    report.figures({ from: new Date(from.getTime() - 7 * DAY_MS), to: new Date(from.getTime() - DAY_MS) }),
  ])
  const sum = (f: HealthFigures, pick: (d: HealthFigures['daily'][number]) => number) => f.daily.reduce((s, d) => s + pick(d), 0)
  const rows = [
    row('Daily active members (average)', week.activity.averageDau, before.activity.averageDau, true),
    row('Monthly active members', week.activity.mau, before.activity.mau, true),
    row('New members', week.newMembers.joined, before.newMembers.joined, true),
    row('Posts and replies', sum(week, (d) => d.posts), sum(before, (d) => d.posts), true),
    row('Median time to first response (minutes)', week.response.median, before.response.median, false),
    row('Threads with no response', week.unanswered.count, before.unanswered.count, false),
    row('Ideas proposed', week.ideas.proposed, before.ideas.proposed, true),
    row('Members who joined through an invite link', week.newMembers.referred, before.newMembers.referred, true),
  ]
  rows.sort((a, b) => Number(b.moved) - Number(a.moved))
  const drifting = week.stages.counts.reduce((s, c) => s + c.drifting, 0)
  return { week: isoWeek(to), from, to, rows, moved: rows.filter((r) => r.moved).length, unanswered: week.unanswered, drifting }
}

function row(label: string, now: number | null, before: number | null, higherIsBetter: boolean): WeeklyRow {
  const format = (n: number | null) => (n === null ? '—' : String(Math.round(n * 10) / 10))
  if (now === null || before === null) return { label, now: format(now), before: format(before), change: '', direction: 'flat', good: true, moved: false }
  const diff = now - before
  const share = before === 0 ? (now === 0 ? 0 : 1) : Math.abs(diff) / before
  const direction = diff > 0 ? 'up' : diff < 0 ? 'down' : 'flat'
  return {
    label,
    now: format(now),
    before: format(before),
    change: before === 0 ? (now === 0 ? '' : 'new') : `${diff > 0 ? '+' : ''}${Math.round((diff / before) * 100)}%`,
    direction,
    good: direction === 'flat' || (direction === 'up') === higherIsBetter,
    moved: share >= MOVED_SHARE && Math.abs(diff) > 1,
  }
}

/** The ISO-8601 week of a day: 2026-W48. */
export function isoWeek(d: Date): string {
  const date = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
  const dayNum = (date.getUTCDay() + 6) % 7
  date.setUTCDate(date.getUTCDate() - dayNum + 3)
  const firstThursday = new Date(Date.UTC(date.getUTCFullYear(), 0, 4))
  const week = 1 + Math.round(((date.getTime() - firstThursday.getTime()) / DAY_MS - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7)
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, '0')}`
}
