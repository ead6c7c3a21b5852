import { sql } from 'kysely'
import type { SessionUser } from '../../core/auth/sessions.js'
import type { Db } from '../../core/db.js'
import { Conflict, NotFound } from '../../core/errors.js'
import type { CommunitySettings } from '../../core/settings.js'
import { logStaffAction, type StaffActionCode } from '../moderation/log.js'
import type { NewNotification, NotificationRow, NotificationService } from '../notifications/service.js'
import { type CurrentModerator, type PromotionCandidate, planPromotions } from './promotion-plan.js'
import { nextTrustStanding } from './rules.js'

/** Members read back from the aggregated stats per round trip; keeps memory flat at any size. */
const BATCH = 5_000
/** Candidates kept per category beyond its seats (some may have declined or been removed). */
const CANDIDATE_SLACK = 50

interface StatsRow {
  user_id: number
  trust_level: number
  tl3_short_since: Date | null
  days: number
  topics: number
  posts: number
  secs: number
  replies: number
  given: number
  received: number
  w_days: number
  w_topics: number
  w_posts: number
  w_topics_replied: number
  w_given: number
  w_received: number
  w_likers: number
  w_flagged: number
}

/** What one trust recompute did. */
export interface RecomputeResult {
  examined: number
  promoted: number
  demoted: number
  graceChanged: number
}

/** What one promotion run did. */
export interface PromotionResult {
  promoted: number
  invited: number
  demoted: number
  graceChanged: number
}

/**
 * Trust levels and moderator promotion. Stats are aggregated set-based in PostgreSQL;
 * the decisions come from the pure rules in rules.ts and promotion-plan.ts.
 */
export class TrustService {
  constructor(
    private readonly db: Db,
    private readonly settings: CommunitySettings,
    private readonly notifications: NotificationService,
  ) {}

  /**
   * Recomputes every unlocked member's trust level: one aggregate pass over reading
   * stats, posts, likes and flags into a temporary table, then batches of members
   * decided by `nextTrustStanding` and written with one update per batch — only rows
   * that change, so a second run writes nothing.
   */
  async recompute(now = new Date()): Promise<RecomputeResult> {
    const s = await this.settings.all({ fresh: true })
    const windowStart = new Date(now.getTime() - s.tl3_window_days * 86_400_000)
    const result: RecomputeResult = { examined: 0, promoted: 0, demoted: 0, graceChanged: 0 }
    await this.db.connection().execute(async (conn) => {
      const totals = await sql<{ topics: number; posts: number }>`
        select (select count(*) from threads where deleted_at is null and created_at >= ${windowStart})::int as topics,
               (select count(*) from posts where deleted_at is null and created_at >= ${windowStart})::int as posts`.execute(conn)
      const windowTotals = totals.rows[0]!
      await sql`drop table if exists pg_temp.trust_stats`.execute(conn)
      try {
        // Room for the aggregates to stay in memory instead of spilling to disk; this session only.
        await sql`set work_mem = '64MB'`.execute(conn)
        // The window start is our own timestamp, inlined so the planner sees a constant.
        const since = sql.lit(windowStart.toISOString())
        await sql`
          create temp table trust_stats as
          with daily as (
            select user_id, count(*) as days, sum(topics_entered) as topics, sum(posts_read) as posts, sum(reading_seconds) as secs,
                   count(*) filter (where day >= ${since}::date) as w_days,
                   coalesce(sum(topics_entered) filter (where day >= ${since}::date), 0) as w_topics,
                   coalesce(sum(posts_read) filter (where day >= ${since}::date), 0) as w_posts
            from user_daily_stats group by user_id
          ), authored as (
            select author_id as user_id, count(*) filter (where depth > 0) as replies
            from posts where deleted_at is null group by author_id
          ), replied as (
            -- Distinct pairs first, then counts: hashable and parallel, unlike count(distinct …).
            select author_id as user_id, count(*) as w_topics_replied
            from (select distinct author_id, thread_id from posts where depth > 0 and deleted_at is null and created_at >= ${since}) x
            group by author_id
          ), given as (
            select user_id, count(*) as given, count(*) filter (where created_at >= ${since}) as w_given
            from post_likes group by user_id
          ), received as (
            select p.author_id as user_id, count(*) as received,
                   count(*) filter (where l.created_at >= ${since}) as w_received
            from post_likes l join posts p on p.id = l.post_id group by p.author_id
          ), likers as (
            select author_id as user_id, count(*) as w_likers
            from (select distinct p.author_id, l.user_id from post_likes l join posts p on p.id = l.post_id where l.created_at >= ${since}) x
            group by author_id
          ), flagged as (
            select p.author_id as user_id, count(distinct p.id) as w_flagged
            from flags f join posts p on p.id = f.post_id
            where f.status = 'agreed' and p.created_at >= ${since} group by p.author_id
          )
          select u.id as user_id, u.trust_level, u.tl3_short_since,
                 coalesce(d.days, 0)::int as days, coalesce(d.topics, 0)::int as topics, coalesce(d.posts, 0)::int as posts,
                 coalesce(d.secs, 0)::bigint as secs, coalesce(a.replies, 0)::int as replies, coalesce(g.given, 0)::int as given,
                 coalesce(r.received, 0)::int as received, coalesce(d.w_days, 0)::int as w_days, coalesce(d.w_topics, 0)::int as w_topics,
                 coalesce(d.w_posts, 0)::int as w_posts, coalesce(rp.w_topics_replied, 0)::int as w_topics_replied,
                 coalesce(g.w_given, 0)::int as w_given, coalesce(r.w_received, 0)::int as w_received,
                 coalesce(lk.w_likers, 0)::int as w_likers, coalesce(f.w_flagged, 0)::int as w_flagged
          from users u
          left join daily d on d.user_id = u.id
          left join authored a on a.user_id = u.id
          left join given g on g.user_id = u.id
          left join replied rp on rp.user_id = u.id
          left join received r on r.user_id = u.id
          left join likers lk on lk.user_id = u.id
          left join flagged f on f.user_id = u.id
          where not u.trust_locked and u.trust_level < 4`.execute(conn)
        await sql`create index on pg_temp.trust_stats (user_id)`.execute(conn)

        let after = 0
        for (;;) {
          const { rows } = await sql<StatsRow>`select * from pg_temp.trust_stats where user_id > ${after} order by user_id limit ${BATCH}`.execute(conn)
          if (rows.length === 0) break
          after = rows[rows.length - 1]!.user_id
          result.examined += rows.length
          const ids: number[] = []
          const levels: number[] = []
          const shortSince: (string | null)[] = []
          for (const row of rows) {
            const current = { level: row.trust_level, locked: false, shortSince: row.tl3_short_since }
            const next = nextTrustStanding(
              current,
              { daysVisited: row.days, topicsEntered: row.topics, postsRead: row.posts, readingSeconds: Number(row.secs), replies: row.replies, likesGiven: row.given, likesReceived: row.received },
              { daysVisited: row.w_days, topicsReplied: row.w_topics_replied, topicsEntered: row.w_topics, postsRead: row.w_posts, likesReceived: row.w_received, distinctLikers: row.w_likers, likesGiven: row.w_given, flaggedPosts: row.w_flagged },
              windowTotals,
              s,
              now,
            )
            if (next.level === current.level && next.shortSince?.getTime() === current.shortSince?.getTime()) continue
            if (next.level > current.level) result.promoted++
            else if (next.level < current.level) result.demoted++
            else result.graceChanged++
            ids.push(row.user_id)
            levels.push(next.level)
            shortSince.push(next.shortSince?.toISOString() ?? null)
          }
          if (ids.length === 0) continue
          // An owner may lock a member while this runs: the lock wins.
          await sql`
            update users u set trust_level = v.level, tl3_short_since = v.since
            from unnest(${ids}::bigint[], ${levels}::smallint[], ${shortSince}::timestamptz[]) as v(id, level, since)
            where u.id = v.id and not u.trust_locked`.execute(conn)
        }
      } finally {
        await sql`drop table if exists pg_temp.trust_stats`.execute(conn)
        await sql`reset work_mem`.execute(conn)
      }
    })
    return result
  }

  /**
   * Grants and removes category moderator roles: ranks TL3+ members by their activity in
   * each category (replies, likes received, agreed flags over the TL3 window) weighted by
   * flag accuracy, then applies `planPromotions` per category in its own transaction,
   * writing the moderation log and notifying each member concerned.
   */
  async promote(now = new Date()): Promise<PromotionResult> {
    const s = await this.settings.all({ fresh: true })
    const windowStart = new Date(now.getTime() - s.tl3_window_days * 86_400_000)
    const keep = s.moderators_per_category + CANDIDATE_SLACK
    const { rows: candidates } = await sql<{ category_id: number; user_id: number; activity: number; accuracy: number }>`
      with eligible as (
        select id from users
        where trust_level >= 3 and not role_locked and (suspended_until is null or suspended_until < now())
      ), activity as (
        select t.category_id, p.author_id as user_id, count(*) filter (where p.depth > 0) + sum(p.like_count) as points
        from posts p join threads t on t.id = p.thread_id
        where p.author_id in (select id from eligible) and p.created_at >= ${windowStart}
          and p.deleted_at is null and p.hidden_at is null and t.deleted_at is null
        group by 1, 2
        union all
        select t.category_id, f.flagger_id, 3 * count(*)
        from flags f join posts p on p.id = f.post_id join threads t on t.id = p.thread_id
        where f.flagger_id in (select id from eligible) and f.status = 'agreed' and f.created_at >= ${windowStart}
        group by 1, 2
      ), accuracy as (
        select flagger_id as user_id,
               count(*) filter (where status = 'agreed')::float / nullif(count(*) filter (where status in ('agreed', 'disagreed')), 0) as ratio
        from flags where flagger_id in (select id from eligible) group by 1
      ), scored as (
        select a.category_id, a.user_id, sum(a.points)::int as activity, coalesce(max(acc.ratio), 1)::float as accuracy
        from activity a left join accuracy acc on acc.user_id = a.user_id
        group by 1, 2
      ), ranked as (
        select *, row_number() over (partition by category_id order by activity * accuracy desc, activity desc, user_id) as n
        from scored where activity >= ${s.promotion_min_activity}
      )
      select category_id, user_id, activity, accuracy from ranked where n <= ${keep}`.execute(this.db)

    const [categories, moderators, offers, lockedRows] = await Promise.all([
      this.db.selectFrom('categories').select(['id', 'name', 'slug']).execute(),
      this.db.selectFrom('category_moderators').select(['category_id', 'user_id', 'source', 'short_since']).execute(),
      this.db.selectFrom('moderator_offers').select(['category_id', 'user_id', 'status']).execute(),
      this.db
        .selectFrom('category_moderators as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.category_id', 'm.user_id'])
        .where('m.source', '=', 'promoted')
        .where('u.role_locked', '=', true)
        .execute(),
    ])

    const result: PromotionResult = { promoted: 0, invited: 0, demoted: 0, graceChanged: 0 }
    for (const category of categories) {
      const excluded = new Set(offers.filter((o) => o.category_id === category.id && (o.status === 'declined' || o.status === 'blocked')).map((o) => o.user_id))
      const plan = planPromotions({
        seats: s.moderators_per_category,
        minActivity: s.promotion_min_activity,
        minAccuracy: s.promotion_min_accuracy_percent / 100,
        graceDays: s.moderator_grace_days,
        mode: s.promotion_mode,
        candidates: candidates
          .filter((c) => c.category_id === category.id && !excluded.has(c.user_id))
          .map((c): PromotionCandidate => ({ userId: c.user_id, activity: c.activity, accuracy: c.accuracy })),
        moderators: moderators
          .filter((m) => m.category_id === category.id)
          .map((m): CurrentModerator => ({ userId: m.user_id, source: m.source, shortSince: m.short_since })),
        invited: offers.filter((o) => o.category_id === category.id && o.status === 'invited').map((o) => o.user_id),
        locked: lockedRows.filter((r) => r.category_id === category.id).map((r) => r.user_id),
        now,
      })
      if (Object.values(plan).every((ids) => ids.length === 0)) continue
      await this.applyPlan(category, plan, now)
      result.promoted += plan.promote.length
      result.invited += plan.invite.length
      result.demoted += plan.demote.length
      result.graceChanged += plan.startGrace.length + plan.clearGrace.length
    }
    return result
  }

  private async applyPlan(category: { id: number; name: string; slug: string }, plan: ReturnType<typeof planPromotions>, now: Date): Promise<NotificationRow[]> {
    return this.db.transaction().execute(async (trx) => {
      const url = `/c/${category.slug}`
      const items: NewNotification[] = []
      const log = (action: StaffActionCode, userId: number, reason: string) =>
        logStaffAction(trx, { actorId: null, action, target: { type: 'user', id: userId }, reason, categoryId: category.id, details: { automatic: true } })
      for (const userId of plan.demote) {
        const removed = await trx
          .deleteFrom('category_moderators')
          .where('category_id', '=', category.id)
          .where('user_id', '=', userId)
          .where('source', '=', 'promoted')
          .executeTakeFirst()
        if (removed.numDeletedRows === 0n) continue
        await trx.deleteFrom('moderator_offers').where('category_id', '=', category.id).where('user_id', '=', userId).where('status', '=', 'accepted').execute()
        await log('moderator.demote', userId, 'No longer among the most active members here after the grace period')
        items.push({ userId, kind: 'moderator.demoted', url, text: `You are no longer a moderator of ${category.name}. Thank you for your help!`, payload: { categoryId: category.id } })
      }
      if (plan.startGrace.length > 0) {
        await trx.updateTable('category_moderators').set({ short_since: now }).where('category_id', '=', category.id).where('user_id', 'in', plan.startGrace).where('short_since', 'is', null).execute()
      }
      if (plan.clearGrace.length > 0) {
        await trx.updateTable('category_moderators').set({ short_since: null }).where('category_id', '=', category.id).where('user_id', 'in', plan.clearGrace).execute()
      }
      for (const userId of plan.promote) {
        const added = await trx
          .insertInto('category_moderators')
          .values({ category_id: category.id, user_id: userId, source: 'promoted' })
          .onConflict((oc) => oc.doNothing())
          .executeTakeFirst()
        if (Number(added.numInsertedOrUpdatedRows ?? 0) === 0) continue
        await log('moderator.promote', userId, 'Among the most active and accurate members here')
        items.push({ userId, kind: 'moderator.promoted', url: '/mod', text: `You are now a moderator of ${category.name}, for your help there.`, payload: { categoryId: category.id } })
      }
      for (const userId of plan.invite) {
        const offered = await trx
          .insertInto('moderator_offers')
          .values({ category_id: category.id, user_id: userId, status: 'invited' })
          .onConflict((oc) => oc.doNothing())
          .executeTakeFirst()
        if (Number(offered.numInsertedOrUpdatedRows ?? 0) === 0) continue
        await log('moderator.invite', userId, 'Among the most active and accurate members here')
        items.push({ userId, kind: 'moderator.invited', url: '/mod/invitations', text: `You are invited to moderate ${category.name}.`, payload: { categoryId: category.id } })
      }
      return this.notifications.create(trx, items)
    })
  }

  /** A member's open invitations to moderate. */
  async invitations(userId: number) {
    return this.db
      .selectFrom('moderator_offers as o')
      .innerJoin('categories as c', 'c.id', 'o.category_id')
      .select(['o.category_id', 'o.created_at', 'c.name', 'c.slug'])
      .where('o.user_id', '=', userId)
      .where('o.status', '=', 'invited')
      .orderBy('o.created_at')
      .execute()
  }

  /** Accepts or declines an invitation; accepting grants the category moderator role. Logged. */
  async answerInvitation(user: SessionUser, categoryId: number, accept: boolean): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const offer = await trx
        .selectFrom('moderator_offers')
        .select('status')
        .where('category_id', '=', categoryId)
        .where('user_id', '=', user.id)
        .forUpdate()
        .executeTakeFirst()
      if (!offer) throw new NotFound('No such invitation')
      if (offer.status !== 'invited') throw new Conflict('You have already answered this invitation')
      await trx
        .updateTable('moderator_offers')
        .set({ status: accept ? 'accepted' : 'declined', decided_at: new Date() })
        .where('category_id', '=', categoryId)
        .where('user_id', '=', user.id)
        .execute()
      if (accept) {
        await trx.insertInto('category_moderators').values({ category_id: categoryId, user_id: user.id, source: 'promoted' }).onConflict((oc) => oc.doNothing()).execute()
      }
      await logStaffAction(trx, { actorId: user.id, action: accept ? 'moderator.accept' : 'moderator.decline', target: { type: 'user', id: user.id }, categoryId })
    })
  }
}
