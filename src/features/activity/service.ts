import { sql } from 'kysely'
import type { Logger } from 'pino'
import { type Db, prepared, type Trx } from '../../core/db.js'
import type { StageName } from '../../core/db-types.js'
import type { EventConsumer } from '../../core/outbox.js'
import type { CommunitySettings } from '../../core/settings.js'
import { DASHBOARD_PRESETS, isoDay } from './report.js'
import { ACTIVITY_KIND_NAMES, ACTIVITY_KINDS, activityWeights, nextStep, PARTICIPATION_KINDS, stageLabel } from './kinds.js'

const DAY_MS = 86_400_000
// The dashboard and the nightly roll look back at most this far for daily figures.
const MAX_DAYS_BACK = 400
const BACKFILLED_KEY = 'activity_backfilled_at'

/** Which source rows one derivation covers: everything (the backfill), or what one event touched. */
type Scope =
  | { all: true }
  | { postId: number }
  | { threadId: number }
  | { ideaId: number }
  | { programId: number }
  | { flaggedPostId: number }
  | { pollId: number }
  | { surveyId: number }
  | { occurrenceId: number; userIds: number[] }

/** A member's stage as their profile shows it. */
export interface MemberStage {
  stage: StageName
  label: string
  /** "a" or "an", for "You are an Explorer". */
  article: string
  drifting: boolean
  score: number
  helped: number
  since: Date
  next: string | null
}

/** What one nightly run did. */
export interface StageRun {
  members: number
  changes: number
  days: number
  backfilled: boolean
}

/**
 * The activity log and lifecycle stages. Each act is derived from the table that records
 * it (posts, likes, votes, ideas, beta sign-ups, agreed flags; visits come from the session
 * refresh), so one set of rules serves both the first-run backfill and the outbox consumer
 * that keeps the log current; the log's unique key makes every derivation idempotent.
 */
export class ActivityService {
  constructor(
    private readonly db: Db,
    private readonly settings: CommunitySettings,
    private readonly log: Logger,
  ) {}

  /** The outbox consumer: each event re-derives the acts of the rows it names. */
  consumer(): EventConsumer {
    return {
      name: 'activity',
      handle: async (event, trx) => {
        switch (event.type) {
          case 'thread.created':
            return void (await this.derive(trx, { threadId: event.data.threadId }))
          case 'post.created':
            return void (await this.derive(trx, { postId: event.data.postId }))
          case 'like.changed':
            return void (await this.derive(trx, { postId: event.data.postId }))
          case 'idea.created':
          case 'idea.voted':
            return void (await this.derive(trx, { ideaId: event.data.ideaId }))
          case 'beta.seats':
            return void (await this.derive(trx, { programId: event.data.programId }))
          case 'flag.resolved':
            return void (await this.derive(trx, { flaggedPostId: event.data.postId }))
          case 'poll.voted':
            return void (await this.derive(trx, { pollId: event.data.pollId }))
          case 'survey.answered':
            return void (await this.derive(trx, { surveyId: event.data.surveyId }))
          case 'event.rsvp':
            return void (await this.derive(trx, { occurrenceId: event.data.occurrenceId, userIds: event.data.userIds }))
          case 'event.attended':
            return void (await this.derive(trx, { occurrenceId: event.data.occurrenceId, userIds: [event.data.userId] }))
          default:
            return
        }
      },
    }
  }

  /** Derives the acts in scope into the log (and the days they make active); returns the rows added. */
  async derive(trx: Db | Trx, scope: Scope): Promise<number> {
    const parts = this.sources(scope)
    if (!parts.length) return 0
    // Prepared: one text per kind of scope, and planning it cost more than running it (every new post comes here).
    const rows = await prepared(trx, sql<{ added: number }>`
      with source (user_id, kind, subject_id, other_user_id, category_id, at) as (
        ${sql.join(parts, sql` union all `)}
      ),
      added as (
        insert into activity_log (user_id, kind, subject_id, other_user_id, category_id, at)
        select user_id, kind, subject_id, other_user_id, category_id, at from source
        on conflict do nothing
        returning user_id, at
      ),
      days as (
        insert into member_days (day, user_id)
        select distinct (at at time zone 'UTC')::date, user_id from added
        on conflict do nothing
      )
      select count(*)::int as added from added`)
    return rows[0]?.added ?? 0
  }

  // The source rows of each kind, limited to the scope.
  private sources(scope: Scope) {
    const all = 'all' in scope
    const parts = []
    if (all || 'postId' in scope || 'threadId' in scope) {
      const postFilter = 'postId' in scope ? sql`and p.id = ${scope.postId}` : 'threadId' in scope ? sql`and p.thread_id = ${scope.threadId} and p.depth = 0` : sql``
      // An idea's comment thread opens by itself: its opening post is the idea, counted as one.
      parts.push(sql`
        select p.author_id, case when p.depth = 0 then 'post' else 'reply' end, p.id,
          case when p.depth = 0 then null else coalesce(parent.author_id, t.author_id) end, t.category_id, p.created_at
        from posts p join threads t on t.id = p.thread_id left join posts parent on parent.id = p.parent_id
        where p.deleted_at is null and p.hidden_at is null and p.author_id is not null ${postFilter}
          and not (p.depth = 0 and exists (select 1 from ideas i where i.thread_id = p.thread_id))`)
      parts.push(sql`
        select v.user_id, v.kind, p.id, v.other_user_id, t.category_id, pl.created_at
        from post_likes pl join posts p on p.id = pl.post_id join threads t on t.id = p.thread_id
        cross join lateral (values
          (pl.user_id, 'like_given', p.author_id),
          (p.author_id, 'like_received', pl.user_id),
          (case when p.depth > 0 and pl.user_id <> p.author_id then p.author_id end, 'helped', pl.user_id)
        ) v (user_id, kind, other_user_id)
        where v.user_id is not null and p.deleted_at is null ${'postId' in scope ? sql`and pl.post_id = ${scope.postId}` : 'threadId' in scope ? sql`and false` : sql``}`)
    }
    if (all || 'ideaId' in scope) {
      const ideaFilter = 'ideaId' in scope ? sql`and i.id = ${scope.ideaId}` : sql``
      parts.push(sql`
        select i.author_id, 'idea', i.id, null::bigint, null::bigint, i.created_at
        from ideas i where i.author_id is not null ${ideaFilter}`)
      parts.push(sql`
        select iv.user_id, 'vote', i.id, i.author_id, null::bigint, iv.created_at
        from idea_votes iv join ideas i on i.id = iv.idea_id where true ${ideaFilter}`)
    }
    if (all || 'programId' in scope) {
      parts.push(sql`
        select bs.user_id, 'beta_signup', bs.program_id, null::bigint, null::bigint, bs.created_at
        from beta_signups bs
        where bs.status in ('accepted', 'pending', 'waitlisted') ${'programId' in scope ? sql`and bs.program_id = ${scope.programId}` : sql``}`)
    }
    if (all || 'flaggedPostId' in scope) {
      parts.push(sql`
        select f.flagger_id, 'flag_agreed', f.id, p.author_id, t.category_id, coalesce(f.resolved_at, f.created_at)
        from flags f join posts p on p.id = f.post_id join threads t on t.id = p.thread_id
        where f.status = 'agreed' ${'flaggedPostId' in scope ? sql`and f.post_id = ${scope.flaggedPostId}` : sql``}`)
    }
    if (all || 'pollId' in scope) {
      parts.push(sql`
        select b.user_id, 'poll_vote', b.poll_id, p.author_id, t.category_id, b.created_at
        from poll_ballots b join polls pl on pl.id = b.poll_id join posts p on p.id = pl.post_id join threads t on t.id = pl.thread_id
        where true ${'pollId' in scope ? sql`and b.poll_id = ${scope.pollId}` : sql``}`)
    }
    if (all || 'surveyId' in scope) {
      // Attributed answers only: an anonymous response has no member, so it never enters the log.
      parts.push(sql`
        select r.user_id, 'survey_answer', r.survey_id, null::bigint, null::bigint, r.created_at
        from survey_responses r where r.user_id is not null ${'surveyId' in scope ? sql`and r.survey_id = ${scope.surveyId}` : sql``}`)
    }
    if (all || 'occurrenceId' in scope) {
      // Only the members the event names: a date's other answers are already in the log.
      const filter = 'occurrenceId' in scope ? sql`and r.occurrence_id = ${scope.occurrenceId} and r.user_id = any(${scope.userIds}::bigint[])` : sql``
      parts.push(sql`
        select r.user_id, 'event_rsvp', r.occurrence_id, null::bigint, e.category_id, r.created_at
        from event_rsvps r join event_occurrences o on o.id = r.occurrence_id join events e on e.id = o.event_id
        where r.status = 'going' ${filter}`)
      parts.push(sql`
        select r.user_id, 'event_attended', r.occurrence_id, null::bigint, e.category_id, r.checked_in_at
        from event_rsvps r join event_occurrences o on o.id = r.occurrence_id join events e on e.id = o.event_id
        where r.checked_in_at is not null ${filter}`)
    }
    if (all) {
      parts.push(sql`
        select user_id, 'visit', to_char(day, 'YYYYMMDD')::bigint, null::bigint, null::bigint, (day::timestamp at time zone 'UTC')
        from user_daily_stats`)
    }
    return parts
  }

  /**
   * Credits referrers with each invitee who became active (took part, or came back on a
   * second day), at the moment they did; run after the acts it reads are in the log.
   */
  async deriveReferrals(trx: Db | Trx): Promise<number> {
    const result = await sql`
      with source as (
        select r.referrer_id as user_id, r.user_id as invitee, coalesce(
          (select min(a.at) from activity_log a where a.user_id = r.user_id and a.kind in (${sql.join(PARTICIPATION_KINDS.filter((k) => k !== 'referral'))})),
          (select md.day::timestamp at time zone 'UTC' from member_days md where md.user_id = r.user_id order by md.day offset 1 limit 1)
        ) as at
        from referrals r
        where r.referrer_id is not null
          and not exists (select 1 from activity_log x where x.user_id = r.referrer_id and x.kind = 'referral' and x.subject_id = r.user_id)
      ),
      added as (
        insert into activity_log (user_id, kind, subject_id, other_user_id, at)
        select user_id, 'referral', invitee, invitee, at from source where at is not null
        on conflict do nothing
        returning user_id, at
      ),
      days as (
        insert into member_days (day, user_id) select distinct (at at time zone 'UTC')::date, user_id from added on conflict do nothing
      )
      select count(*)::int as added from added`.execute(trx)
    return (result.rows[0] as { added: number } | undefined)?.added ?? 0
  }

  /** When the log was first filled from existing data, or null. */
  async backfilledAt(): Promise<Date | null> {
    const row = await this.db.selectFrom('community_settings').select('value').where('key', '=', BACKFILLED_KEY).executeTakeFirst()
    return row ? new Date(row.value as string) : null
  }

  /**
   * Fills the log from everything already recorded, once (a community that existed before
   * the log did). Safe to run again: derivation is idempotent.
   */
  async ensureBackfilled(): Promise<boolean> {
    if (await this.backfilledAt()) return false
    const added = await this.batch(async (trx) => {
      // One backfill at a time across processes.
      await sql`select pg_advisory_xact_lock(hashtext('hearth.activity.backfill'))`.execute(trx)
      const done = await trx.selectFrom('community_settings').select('key').where('key', '=', BACKFILLED_KEY).executeTakeFirst()
      if (done) return -1
      const n = (await this.derive(trx, { all: true })) + (await this.deriveReferrals(trx))
      await trx.insertInto('community_settings').values({ key: BACKFILLED_KEY, value: JSON.stringify(new Date().toISOString()), updated_at: new Date() }).execute()
      return n
    })
    if (added >= 0) this.log.info({ added }, 'activity log backfilled from existing data')
    return added >= 0
  }

  /**
   * Computes the daily figures (DAU, WAU, MAU, new members, posts), and the months members
   * were active, of every closed day up to
   * `until` (exclusive) that has none yet; the dashboard reads only these rows.
   */
  async rollDays(until: Date = new Date()): Promise<number> {
    const last = startOfUtcDay(new Date(until.getTime() - DAY_MS))
    const known = await this.db.selectFrom('health_daily').select(sql<Date | null>`max(day)`.as('day')).executeTakeFirst()
    const first = await this.db.selectFrom('member_days').select(sql<Date | null>`min(day)`.as('day')).executeTakeFirst()
    const floor = new Date(last.getTime() - MAX_DAYS_BACK * DAY_MS)
    let from = known?.day ? new Date(new Date(known.day).getTime() + DAY_MS) : first?.day ? new Date(first.day) : last
    if (from < floor) from = floor
    if (from > last) return 0
    const result = await this.batch(async (trx) => {
      await sql`
        insert into member_months (user_id, month)
        select distinct user_id, date_trunc('month', day)::date from member_days where day >= ${isoDay(from)}::date and day <= ${isoDay(last)}::date
        on conflict do nothing`.execute(trx)
      await this.rollDashboard(trx, from, new Date(last.getTime() + DAY_MS), floor)
      // Active members over sliding windows in one pass, without a distinct count per day: each
      // active day of a member covers the days up to their next active day, at most 7 (WAU) or
      // 30 (MAU) days, so a member's pieces never overlap and a running sum of +1/−1 counts them.
      return sql`
      with active as (
        select day, lead(day) over (partition by user_id order by day) as next
        from member_days where day >= ${isoDay(from)}::date - 29 and day <= ${isoDay(last)}::date
      ),
      deltas (day, dau, wau, mau) as (
        select day, 1, 1, 1 from active
        union all select day + 1, -1, 0, 0 from active
        union all select least(day + 7, coalesce(next, day + 7)), 0, -1, 0 from active
        union all select least(day + 30, coalesce(next, day + 30)), 0, 0, -1 from active
      ),
      per_day as (select day, sum(dau) as dau, sum(wau) as wau, sum(mau) as mau from deltas group by day),
      days as (
        select d::date as day,
          sum(coalesce(p.dau, 0)) over w as dau, sum(coalesce(p.wau, 0)) over w as wau, sum(coalesce(p.mau, 0)) over w as mau
        from generate_series(${isoDay(from)}::date - 29, ${isoDay(last)}::date, interval '1 day') d
        left join per_day p on p.day = d::date
        window w as (order by d)
      ),
      joined as (
        select (created_at at time zone 'UTC')::date as day, count(*) as n from users
        where created_at >= ${isoDay(from)}::timestamp at time zone 'UTC' and created_at < (${isoDay(last)}::date + 1)::timestamp at time zone 'UTC'
        group by 1
      )
      insert into health_daily (day, dau, wau, mau, new_members, posts, computed_at)
      select d.day, d.dau, d.wau, d.mau, coalesce(j.n, 0),
        (select count(*) from activity_log
          where at >= d.day::timestamp at time zone 'UTC' and at < (d.day + 1)::timestamp at time zone 'UTC' and kind in ('post', 'reply')),
        now()
      from days d left join joined j on j.day = d.day
      where d.day >= ${isoDay(from)}::date
      on conflict (day) do update set dau = excluded.dau, wau = excluded.wau, mau = excluded.mau,
        new_members = excluded.new_members, posts = excluded.posts, computed_at = excluded.computed_at`.execute(trx)
    })
    return Number(result.numAffectedRows ?? 0)
  }

  /**
   * Keeps the dashboard's rollups current up to `until` (the end of the last closed day), so
   * a page view reads a few thousand prepared rows instead of a year of posts and acts:
   * - each thread's first response (threads not yet answered are looked at again every night,
   *   threads deleted since leave);
   * - each member's first participation within 30 days of joining (until those 30 days have passed);
   * - cohort activity and the helpers' monthly upper bounds, from the first month `from` touches.
   */
  private async rollDashboard(trx: Trx, from: Date, until: Date, floor: Date): Promise<void> {
    await sql`delete from health_threads h using threads t where t.id = h.thread_id and t.deleted_at is not null`.execute(trx)
    await sql`
      insert into health_threads (thread_id, created_at, minutes, by_staff)
      select t.id, t.created_at, r.minutes, r.by_staff
      from threads t
      left join health_threads h on h.thread_id = t.id
      left join lateral (
        select extract(epoch from (p.created_at - t.created_at)) / 60 as minutes,
          (u.role in ('admin', 'moderator')
            or exists (select 1 from category_moderators cm where cm.category_id = t.category_id and cm.user_id = p.author_id)) as by_staff
        from posts p join users u on u.id = p.author_id
        where p.thread_id = t.id and p.depth > 0 and p.author_id <> t.author_id and p.deleted_at is null
        order by p.created_at, p.id limit 1
      ) r on true
      where t.deleted_at is null and t.created_at >= ${floor} and t.created_at < ${until}
        and (h.thread_id is null or h.minutes is null)
      on conflict (thread_id) do update set minutes = excluded.minutes, by_staff = excluded.by_staff`.execute(trx)
    await sql`
      insert into health_members (user_id, joined_at, took_part_at, referred, settled)
      select u.id, u.created_at,
        (select min(a.at) from activity_log a
          where a.user_id = u.id and a.kind in (${sql.join(PARTICIPATION_KINDS)})
            and a.at >= u.created_at and a.at < u.created_at + interval '30 days'),
        exists (select 1 from referrals r where r.user_id = u.id),
        u.created_at + interval '30 days' <= ${until}
      from users u left join health_members h on h.user_id = u.id
      where u.created_at < ${until} and (h.user_id is null or not h.settled)
      on conflict (user_id) do update set took_part_at = excluded.took_part_at, referred = excluded.referred, settled = excluded.settled`.execute(trx)
    const fromMonth = isoDay(new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1)))
    await sql`delete from cohort_activity where month >= ${fromMonth}::date`.execute(trx)
    await sql`
      insert into cohort_activity (join_day, month, members)
      select (h.joined_at at time zone 'UTC')::date, mm.month, count(*)::int
      from member_months mm join health_members h on h.user_id = mm.user_id
      where mm.month >= ${fromMonth}::date and mm.month >= date_trunc('month', h.joined_at at time zone 'UTC')::date
      group by 1, 2`.execute(trx)
    await sql`delete from helper_months where month >= ${fromMonth}::date`.execute(trx)
    await sql`
      insert into helper_months (month, user_id, helped)
      select (date_trunc('month', at at time zone 'UTC'))::date, user_id, count(distinct other_user_id)::int
      from activity_log
      where kind = 'helped' and at >= (${fromMonth}::timestamp at time zone 'UTC') and at < ${until}
      group by 1, 2`.execute(trx)
    // The preset ranges, ranked exactly (what a page view of them reads).
    await sql`delete from health_helpers`.execute(trx)
    const lastDay = isoDay(new Date(until.getTime() - DAY_MS))
    for (const days of DASHBOARD_PRESETS) {
      await sql`
        insert into health_helpers (days, until, rank, user_id, helped, replies)
        select ${days}, ${lastDay}::date, row_number() over (order by helped desc, replies desc, username collate "C"), user_id, helped, replies
        from (
          select a.user_id, u.username, count(distinct a.other_user_id)::int as helped, count(distinct a.subject_id)::int as replies
          from activity_log a join users u on u.id = a.user_id
          where a.kind = 'helped' and a.at >= ${new Date(until.getTime() - days * DAY_MS)} and a.at < ${until}
          group by a.user_id, u.username
          order by helped desc, replies desc, u.username collate "C"
          limit 10
        ) top`.execute(trx)
    }
  }

  /**
   * Recomputes every member's stage from the window's activity (one statement, set-based),
   * and records each change of stage with the day it happened.
   */
  async computeStages(now: Date = new Date()): Promise<{ members: number; changes: number }> {
    const s = await this.settings.all({ fresh: true })
    const weights = activityWeights(s)
    const kinds = sql.join(
      ACTIVITY_KIND_NAMES.map((k) => sql`(${k}::text, ${weights[k]}::real, ${ACTIVITY_KINDS[k].participation}::boolean)`),
    )
    const windowStart = new Date(now.getTime() - s.stage_window_days * DAY_MS)
    const recentStart = new Date(now.getTime() - 30 * DAY_MS)
    const newcomerSince = new Date(now.getTime() - s.stage_newcomer_days * DAY_MS)
    const priorDays = Math.max(s.stage_window_days - 30, 1)
    const today = isoDay(startOfUtcDay(now))
    const result = await this.batch((trx) => sql<{ members: number; changes: number }>`
      with w (kind, weight, participation) as (values ${kinds}),
      stats as (
        select a.user_id,
          sum(w.weight) as score,
          coalesce(sum(w.weight) filter (where a.at >= ${recentStart}), 0) as recent,
          coalesce(sum(w.weight) filter (where a.at < ${recentStart}), 0) as prior,
          count(*) filter (where w.participation) as participations,
          count(distinct a.other_user_id) filter (where a.kind = 'helped') as helped
        from activity_log a join w on w.kind = a.kind
        where a.at >= ${windowStart} and a.at <= ${now}
        group by a.user_id
      ),
      computed as (
        select u.id as user_id, coalesce(s.score, 0) as score, coalesce(s.recent, 0) as recent,
          coalesce(s.prior, 0) as prior, coalesce(s.helped, 0)::int as helped,
          case
            when s.participations > 0 and s.score >= ${s.stage_champion_score} and s.helped >= ${s.stage_champion_helped} then 'champion'
            when s.participations > 0 and s.score >= ${s.stage_contributor_score} then 'contributor'
            when s.participations > 0 then 'participant'
            when u.created_at > ${newcomerSince} then 'newcomer'
            when s.user_id is not null then 'explorer'
            else 'inactive'
          end as stage
        from users u left join stats s on s.user_id = u.id
        where u.created_at <= ${now}
      ),
      staged as (
        select c.*, (c.stage in ('participant', 'contributor', 'champion')
          and c.prior > 0 and c.recent * 100 < (c.prior * 30 / ${priorDays}::real) * ${s.stage_drift_percent}) as drifting
        from computed c
      ),
      changed as (
        insert into member_stage_changes (user_id, from_stage, to_stage, day)
        select st.user_id, m.stage, st.stage, ${today}::date
        from staged st left join member_stages m on m.user_id = st.user_id
        where m.stage is distinct from st.stage
        returning 1
      ),
      saved as (
        insert into member_stages (user_id, stage, drifting, score, recent_score, helped, since, computed_at)
        select user_id, stage, drifting, score, recent, helped, ${today}::date, now() from staged
        on conflict (user_id) do update set
          stage = excluded.stage, drifting = excluded.drifting, score = excluded.score,
          recent_score = excluded.recent_score, helped = excluded.helped, computed_at = excluded.computed_at,
          since = case when member_stages.stage = excluded.stage then member_stages.since else excluded.since end
        returning 1
      )
      select (select count(*) from saved)::int as members, (select count(*) from changed)::int as changes`.execute(trx))
    return result.rows[0] ?? { members: 0, changes: 0 }
  }

  // Nightly work is batch work: its statements may outlast the per-request statement timeout.
  private batch<T>(work: (trx: Trx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      await sql`set local statement_timeout = 0`.execute(trx)
      return work(trx)
    })
  }

  /** The nightly run: backfill once, roll the closed days, recompute stages. */
  async nightly(now: Date = new Date()): Promise<StageRun> {
    const backfilled = await this.ensureBackfilled()
    await this.batch((trx) => this.deriveReferrals(trx))
    const days = await this.rollDays(now)
    const { members, changes } = await this.computeStages(now)
    return { members, changes, days, backfilled }
  }

  /** A member's stage for their own profile, or null when stages are hidden or not computed yet. */
  async stageOf(userId: number): Promise<MemberStage | null> {
    const s = await this.settings.all()
    if (!s.lifecycle_on_profile) return null
    const row = await this.db
      .selectFrom('member_stages')
      .select(['stage', 'drifting', 'score', 'helped', 'since'])
      .where('user_id', '=', userId)
      .executeTakeFirst()
    if (!row) return null
    return {
      stage: row.stage,
      label: stageLabel(row.stage),
      article: /^[AEIOU]/.test(stageLabel(row.stage)) ? 'an' : 'a',
      drifting: row.drifting,
      score: Math.round(row.score),
      helped: row.helped,
      since: row.since,
      next: nextStep(row.stage, row, s),
    }
  }
}

function startOfUtcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
}
