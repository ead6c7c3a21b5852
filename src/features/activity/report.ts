import { sql } from 'kysely'
import type { Db } from '../../core/db.js'
import type { StageName } from '../../core/db-types.js'
import { STAGES, stageLabel } from './kinds.js'

const DAY_MS = 86_400_000

/** The dashboard's ranges of the last N closed days; their top contributors are computed in advance. */
export const DASHBOARD_PRESETS = [7, 30, 90, 365] as const

/** A span of whole UTC days, both ends included. */
export interface DayRange {
  from: Date
  to: Date
}

export interface DailyActive {
  day: Date
  dau: number
  wau: number
  mau: number
  newMembers: number
  posts: number
}

export interface ResponseTimes {
  threads: number
  answered: number
  /** Minutes to the first reply by someone else, over threads that got one. */
  median: number | null
  p90: number | null
  staff: { answered: number; median: number | null; p90: number | null }
  community: { answered: number; median: number | null; p90: number | null }
}

export interface Cohort {
  month: Date
  size: number
  /** Share of the cohort active in its first, second… month, as whole percents (null: not reached yet). */
  retention: (number | null)[]
}

export interface HealthFigures {
  range: DayRange
  daily: DailyActive[]
  activity: { averageDau: number; mau: number; stickiness: number | null }
  newMembers: { joined: number; participated: number; settled: number; settledParticipated: number; referred: number }
  response: ResponseTimes
  unanswered: { count: number; oldest: { id: number; title: string; slug: string; createdAt: Date }[] }
  cohorts: Cohort[]
  stages: { counts: { stage: StageName; label: string; members: number; drifting: number }[]; flows: { from: string; to: string; members: number }[]; computedAt: Date | null }
  helpers: { username: string; helped: number; replies: number }[]
  ideas: { proposed: number; votedOn: number; votes: number; shipped: number; medianDaysToStatus: number | null }
}

/**
 * The health dashboard's figures for a range of days. Daily activity comes from
 * `health_daily` (computed in advance by the nightly job); the rest are bounded queries
 * over the range's rows, each on an index.
 */
export class HealthReport {
  constructor(private readonly db: Db) {}

  async figures(range: DayRange): Promise<HealthFigures> {
    const [daily, newMembers, response, unanswered, cohorts, stages, helpers, ideas] = await Promise.all([
      this.daily(range),
      this.newMembers(range),
      this.responseTimes(range),
      this.unanswered(range),
      this.cohorts(range),
      this.stages(range),
      this.helpers(range),
      this.ideas(range),
    ])
    const averageDau = daily.length ? daily.reduce((sum, d) => sum + d.dau, 0) / daily.length : 0
    const mau = daily.at(-1)?.mau ?? 0
    return {
      range,
      daily,
      activity: { averageDau: round1(averageDau), mau, stickiness: mau ? Math.round((averageDau / mau) * 1000) / 10 : null },
      newMembers,
      response,
      unanswered,
      cohorts,
      stages,
      helpers,
      ideas,
    }
  }

  async daily(range: DayRange): Promise<DailyActive[]> {
    const rows = await this.db
      .selectFrom('health_daily')
      .select(['day', 'dau', 'wau', 'mau', 'new_members', 'posts'])
      .where('day', '>=', sql<Date>`${isoDay(range.from)}::date`)
      .where('day', '<=', sql<Date>`${isoDay(range.to)}::date`)
      .orderBy('day')
      .execute()
    return rows.map((r) => ({ day: new Date(r.day), dau: r.dau, wau: r.wau, mau: r.mau, newMembers: r.new_members, posts: r.posts }))
  }

  /** Members who joined in the range, and how many took part within 30 days of joining (from `health_members`). */
  async newMembers(range: DayRange): Promise<HealthFigures['newMembers']> {
    const { start, end } = bounds(range)
    const row = await sql<{ joined: number; participated: number; settled: number; settled_participated: number; referred: number }>`
      select count(*)::int as joined,
        count(took_part_at)::int as participated,
        count(*) filter (where joined_at <= now() - interval '30 days')::int as settled,
        count(took_part_at) filter (where joined_at <= now() - interval '30 days')::int as settled_participated,
        count(*) filter (where referred)::int as referred
      from health_members where joined_at >= ${start} and joined_at < ${end}`.execute(this.db)
    const r = row.rows[0]!
    return { joined: r.joined, participated: r.participated, settled: r.settled, settledParticipated: r.settled_participated, referred: r.referred }
  }

  /**
   * Minutes from a new thread to its first reply by someone else, split by whether that
   * first responder was staff (an admin or moderator, or a moderator of the category);
   * from `health_threads`, which the nightly roll keeps.
   */
  async responseTimes(range: DayRange): Promise<ResponseTimes> {
    const { start, end } = bounds(range)
    const rows = await sql<{
      threads: number
      answered: number
      median: number | null
      p90: number | null
      staff_answered: number
      staff_median: number | null
      staff_p90: number | null
      community_answered: number
      community_median: number | null
      community_p90: number | null
    }>`
      with firsts as (
        select minutes, by_staff from health_threads where created_at >= ${start} and created_at < ${end}
      )
      select count(*)::int as threads,
        count(minutes)::int as answered,
        percentile_cont(0.5) within group (order by minutes) as median,
        percentile_cont(0.9) within group (order by minutes) as p90,
        count(minutes) filter (where by_staff)::int as staff_answered,
        percentile_cont(0.5) within group (order by minutes) filter (where by_staff) as staff_median,
        percentile_cont(0.9) within group (order by minutes) filter (where by_staff) as staff_p90,
        count(minutes) filter (where not by_staff)::int as community_answered,
        percentile_cont(0.5) within group (order by minutes) filter (where not by_staff) as community_median,
        percentile_cont(0.9) within group (order by minutes) filter (where not by_staff) as community_p90
      from firsts`.execute(this.db)
    const r = rows.rows[0]!
    return {
      threads: r.threads,
      answered: r.answered,
      median: minutes(r.median),
      p90: minutes(r.p90),
      staff: { answered: r.staff_answered, median: minutes(r.staff_median), p90: minutes(r.staff_p90) },
      community: { answered: r.community_answered, median: minutes(r.community_median), p90: minutes(r.community_p90) },
    }
  }

  /**
   * Threads started in the range that nobody else has answered yet, and the oldest of them:
   * the ones the nightly roll found unanswered, each checked again now.
   */
  async unanswered(range: DayRange): Promise<HealthFigures['unanswered']> {
    const { start, end } = bounds(range)
    const rows = await sql<{ id: number; title: string; slug: string; created_at: Date; total: number }>`
      select t.id, t.title, t.slug, t.created_at, count(*) over ()::int as total
      from health_threads h join threads t on t.id = h.thread_id
      where h.minutes is null and h.created_at >= ${start} and h.created_at < ${end} and t.deleted_at is null
        and not exists (
          select 1 from posts p
          where p.thread_id = t.id and p.depth > 0 and p.author_id <> t.author_id and p.deleted_at is null
        )
      order by t.created_at, t.id
      limit 10`.execute(this.db)
    return {
      count: rows.rows[0]?.total ?? 0,
      oldest: rows.rows.map((r) => ({ id: r.id, title: r.title, slug: r.slug, createdAt: r.created_at })),
    }
  }

  /**
   * Retention by sign-up month: of the members who joined in each of the twelve months up
   * to the range's end, the share active in their first, second… month (from `cohort_activity`).
   */
  async cohorts(range: DayRange): Promise<Cohort[]> {
    const endMonth = Date.UTC(range.to.getUTCFullYear(), range.to.getUTCMonth(), 1)
    const first = new Date(Date.UTC(range.to.getUTCFullYear(), range.to.getUTCMonth() - 11, 1))
    const end = new Date(range.to.getTime() + DAY_MS)
    const rows = await sql<{ cohort: Date; offset: number; members: number }>`
      select date_trunc('month', joined_at at time zone 'UTC')::date as cohort, -1 as offset, count(*)::int as members
      from health_members where joined_at >= ${first} and joined_at < ${end} group by 1
      union all
      select c.cohort, (extract(year from c.month) * 12 + extract(month from c.month) - extract(year from c.cohort) * 12 - extract(month from c.cohort))::int,
        sum(c.members)::int
      from (
        select date_trunc('month', join_day)::date as cohort, month, members from cohort_activity
        where join_day >= ${isoDay(first)}::date and join_day < ${isoDay(end)}::date and month < ${isoDay(end)}::date
      ) c
      group by c.cohort, c.month`.execute(this.db)
    const byMonth = new Map<number, { size: number; active: Map<number, number> }>()
    for (const r of rows.rows) {
      const key = new Date(r.cohort).getTime()
      const entry = byMonth.get(key) ?? { size: 0, active: new Map() }
      if (r.offset < 0) entry.size = r.members
      else entry.active.set(r.offset, r.members)
      byMonth.set(key, entry)
    }
    const cohorts: Cohort[] = []
    for (let m = 0; m < 12; m++) {
      const month = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + m, 1))
      const entry = byMonth.get(month.getTime())
      if (!entry || entry.size === 0) continue
      const reached = monthsBetween(month.getTime(), endMonth)
      const retention: (number | null)[] = []
      for (let k = 0; k < 12; k++) retention.push(k <= reached ? Math.round(((entry.active.get(k) ?? 0) * 100) / entry.size) : null)
      cohorts.push({ month, size: entry.size, retention })
    }
    return cohorts
  }

  /** How many members are at each stage now, and how members moved between stages in the range. */
  async stages(range: DayRange): Promise<HealthFigures['stages']> {
    const [counts, flows, computed] = await Promise.all([
      this.db
        .selectFrom('member_stages')
        .select(['stage', sql<number>`count(*)::int`.as('members'), sql<number>`count(*) filter (where drifting)::int`.as('drifting')])
        .groupBy('stage')
        .execute(),
      this.db
        .selectFrom('member_stage_changes')
        .select(['from_stage', 'to_stage', sql<number>`count(*)::int`.as('members')])
        .where('day', '>=', sql<Date>`${isoDay(range.from)}::date`)
        .where('day', '<=', sql<Date>`${isoDay(range.to)}::date`)
        .where('from_stage', 'is not', null)
        .groupBy(['from_stage', 'to_stage'])
        .orderBy('members', 'desc')
        .limit(30)
        .execute(),
      this.db.selectFrom('member_stages').select(sql<Date | null>`max(computed_at)`.as('at')).executeTakeFirst(),
    ])
    const byStage = new Map(counts.map((c) => [c.stage, c]))
    return {
      counts: STAGES.map((s) => ({ stage: s.name, label: s.label, members: byStage.get(s.name)?.members ?? 0, drifting: byStage.get(s.name)?.drifting ?? 0 })),
      flows: flows.map((f) => ({ from: stageLabel(f.from_stage!), to: stageLabel(f.to_stage), members: f.members })),
      computedAt: computed?.at ?? null,
    }
  }

  /**
   * Top contributors by the number of distinct members whose likes say a reply helped them
   * (ties: more replies liked, then the name in byte order). The preset ranges ending on the
   * last rolled day were ranked by the roll (`health_helpers`). Any other range is exact too,
   * without counting every like when the bounds allow: each member's upper bound is the sum of
   * their monthly distinct counts (`helper_months`) for the whole rolled months in the range,
   * plus their distinct count over the days at its edges; exact counts are then taken for
   * candidates in the order of their bounds, until no remaining bound can reach the last place.
   * Members who help the same people month after month make the bounds loose, and such a range
   * then costs up to a count over its likes.
   */
  async helpers(range: DayRange, limit = 10): Promise<HealthFigures['helpers']> {
    const { start, end } = bounds(range)
    const rolled = await this.db
      .selectFrom('health_daily')
      .select([sql<Date | null>`min(day)`.as('first'), sql<Date | null>`max(day)`.as('last')])
      .executeTakeFirst()
    // A preset range ending on the last rolled day: the roll ranked it.
    const days = Math.round((range.to.getTime() - range.from.getTime()) / DAY_MS) + 1
    if (limit <= 10 && (DASHBOARD_PRESETS as readonly number[]).includes(days) && rolled?.last && isoDay(new Date(rolled.last)) === isoDay(range.to)) {
      return this.db
        .selectFrom('health_helpers as h')
        .innerJoin('users as u', 'u.id', 'h.user_id')
        .select(['u.username', 'h.helped', 'h.replies'])
        .where('h.days', '=', days)
        .where('h.until', '=', sql<Date>`${isoDay(range.to)}::date`)
        .orderBy('h.rank')
        .limit(limit)
        .execute()
    }
    // Any other range: whole months inside both the range and the days the roll has covered.
    const rolledFrom = rolled?.first ? new Date(rolled.first) : end
    const rolledEnd = rolled?.last ? new Date(new Date(rolled.last).getTime() + DAY_MS) : start
    const from = start > rolledFrom ? start : rolledFrom
    const months: string[] = []
    let month = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + (from.getUTCDate() === 1 ? 0 : 1), 1))
    const monthsFrom = month
    for (;;) {
      const next = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1))
      if (next > end || next > rolledEnd) break
      months.push(isoDay(month))
      month = next
    }
    const monthsTo = month
    const edges = months.length
      ? sql`(at >= ${start} and at < ${monthsFrom}) or (at >= ${monthsTo} and at < ${end})`
      : sql`at >= ${start} and at < ${end}`
    const bounded = await sql<{ user_id: number; upper: number }>`
      select user_id, sum(helped)::int as upper from (
        select user_id, helped from helper_months where month = any(${months}::date[])
        union all
        select user_id, count(distinct other_user_id) from activity_log where kind = 'helped' and (${edges}) group by user_id
      ) b
      group by user_id
      order by upper desc, user_id`.execute(this.db)
    const candidates = bounded.rows
    const top: { username: string; helped: number; replies: number }[] = []
    const order = (a: (typeof top)[number], b: (typeof top)[number]) =>
      b.helped - a.helped || b.replies - a.replies || (a.username < b.username ? -1 : a.username > b.username ? 1 : 0)
    // Growing batches: a few candidates usually settle it; loose bounds need many.
    for (let at = 0, batch = limit * 2; at < candidates.length; at += batch, batch *= 2) {
      const ids = candidates.slice(at, at + batch).map((c) => c.user_id)
      const exact = await sql<{ username: string; helped: number; replies: number }>`
        select u.username, count(distinct a.other_user_id)::int as helped, count(distinct a.subject_id)::int as replies
        from activity_log a join users u on u.id = a.user_id
        where a.kind = 'helped' and a.user_id = any(${ids}::bigint[]) and a.at >= ${start} and a.at < ${end}
        group by u.username`.execute(this.db)
      top.push(...exact.rows)
      top.sort(order)
      top.length = Math.min(top.length, limit)
      const next = candidates[at + batch]
      if (!next || (top.length === limit && top[limit - 1]!.helped > next.upper)) break
    }
    return top
  }

  /** Idea-board health: proposed, voted on, shipped, and how long ideas wait for a first status change. */
  async ideas(range: DayRange): Promise<HealthFigures['ideas']> {
    const { start, end } = bounds(range)
    const row = await sql<{ proposed: number; voted_on: number; votes: number; shipped: number; median_days: number | null }>`
      select
        (select count(*) from ideas where created_at >= ${start} and created_at < ${end})::int as proposed,
        (select count(distinct idea_id) from idea_votes where created_at >= ${start} and created_at < ${end})::int as voted_on,
        (select count(*) from idea_votes where created_at >= ${start} and created_at < ${end})::int as votes,
        (select count(*) from idea_status_changes where to_status = 'done' and created_at >= ${start} and created_at < ${end})::int as shipped,
        (select percentile_cont(0.5) within group (order by extract(epoch from (f.first_change - i.created_at)) / 86400)
          from ideas i
          join lateral (select min(created_at) as first_change from idea_status_changes c where c.idea_id = i.id) f on true
          where f.first_change >= ${start} and f.first_change < ${end}) as median_days`.execute(this.db)
    const r = row.rows[0]!
    return { proposed: r.proposed, votedOn: r.voted_on, votes: r.votes, shipped: r.shipped, medianDaysToStatus: r.median_days === null ? null : round1(r.median_days) }
  }
}

function bounds(range: DayRange): { start: Date; end: Date } {
  return { start: range.from, end: new Date(range.to.getTime() + DAY_MS) }
}

function minutes(value: number | null): number | null {
  return value === null ? null : round1(Number(value))
}

function round1(n: number): number {
  return Math.round(n * 10) / 10
}

function monthsBetween(a: number, b: number): number {
  const x = new Date(a)
  const y = new Date(b)
  return (y.getUTCFullYear() - x.getUTCFullYear()) * 12 + y.getUTCMonth() - x.getUTCMonth()
}

export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10)
}
