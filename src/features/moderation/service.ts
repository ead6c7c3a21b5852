import { sql } from 'kysely'
import type { Db, DbOrTrx, Trx } from '../../core/db.js'
import type { FlagReason } from '../../core/db-types.js'
import { Conflict, Forbidden, Invalid, NotFound, parse } from '../../core/errors.js'
import type { Outbox } from '../../core/outbox.js'
import { markdownToText } from '../../core/markdown.js'
import type { CommunitySettings } from '../../core/settings.js'
import type { CategoryService } from '../discussions/categories.js'
import { can, canModerate, ensure, type GuardUser, isModerator, isStaff, type MemberRank, type Viewer, viewerOf } from '../../core/guard.js'
import { type DiscussionService, threadUrl } from '../discussions/service.js'
import type { NewNotification, NotificationService } from '../notifications/service.js'
import { describeLog, type LogEntry } from './log-entries.js'
import { logStaffAction, type StaffActionCode, type StaffActionTarget } from './log.js'
import { FlagInput, LiftInput, MemberStandingInput, ResolveInput } from './schemas.js'
import { flagScore, hidesAtOnce } from './scoring.js'

const REASON_TEXT: Record<FlagReason, string> = {
  spam: 'spam',
  inappropriate: 'inappropriate',
  off_topic: 'off-topic',
  other: 'something else',
}
const LOG_PAGE = 50

/** One post waiting in the review queue, with its context and every pending flag. */
export interface QueueItem {
  postId: number
  score: number
  hidden: boolean
  reviewRequested: boolean
  excerpt: string
  bodyHtml: string
  author: string
  threadTitle: string
  url: string
  categoryId: number
  categoryName: string
  parentExcerpt: string | null
  flags: { id: number; reason: FlagReason; note: string; score: number; flagger: string; createdAt: Date }[]
}

/** Flags, the review queue, moderators' decisions, the public moderation log and owners' member controls. */
export class ModerationService {
  constructor(
    private readonly db: Db,
    private readonly categories: CategoryService,
    private readonly discussions: DiscussionService,
    private readonly settings: CommunitySettings,
    private readonly notifications: NotificationService,
    private readonly outbox: Outbox,
  ) {}

  /** A flagger's decided flags, for scoring. */
  private async record(trx: Trx, userId: number) {
    const row = await trx
      .selectFrom('flags')
      .select([
        sql<number>`count(*) filter (where status = 'agreed')::int`.as('agreed'),
        sql<number>`count(*) filter (where status = 'disagreed')::int`.as('disagreed'),
      ])
      .where('flagger_id', '=', userId)
      .executeTakeFirstOrThrow()
    return { agreed: row.agreed, disagreed: row.disagreed }
  }

  /**
   * Flags a post. The flag is scored by the flagger's trust level and track record; when
   * the post's pending score reaches the hide threshold (or a trusted member flags a new
   * member's post as spam) the post is hidden at once and its author told why.
   */
  async flag(viewer: Viewer, postId: number, raw: unknown) {
    const user = viewer.user
    if (!user) throw new Forbidden('Log in to flag posts')
    const input = parse(FlagInput, raw)
    const s = await this.settings.all()
    const result = await this.db.transaction().execute(async (trx) => {
      const { post, thread, category } = await this.discussions.visiblePost(viewer, postId, trx)
      if (post.deleted_at) throw new NotFound('No such post')
      ensure(viewer, 'flag', { post }, { settings: s })
      // Flags on one post are serialised, so the score that decides hiding is exact.
      const locked = await trx.selectFrom('posts').select('hidden_at').where('id', '=', postId).forUpdate().executeTakeFirstOrThrow()
      const score = flagScore({ trustLevel: user.trust_level, role: user.role }, await this.record(trx, user.id))
      const inserted = await trx
        .insertInto('flags')
        .values({ post_id: postId, flagger_id: user.id, reason: input.reason, note: input.note, score })
        .onConflict((oc) => oc.columns(['post_id', 'flagger_id']).doNothing())
        .returning('id')
        .executeTakeFirst()
      if (!inserted) throw new Conflict('You have already flagged this post')
      const { total } = await trx
        .selectFrom('flags')
        .select(sql<number>`coalesce(sum(score), 0)::float`.as('total'))
        .where('post_id', '=', postId)
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow()
      const author = await trx.selectFrom('users').select('trust_level').where('id', '=', post.author_id).executeTakeFirstOrThrow()
      const hide = locked.hidden_at === null && (total >= s.flag_hide_threshold || hidesAtOnce(input.reason, { trustLevel: user.trust_level, role: user.role }, author.trust_level))
      let notified: Awaited<ReturnType<NotificationService['create']>> = []
      if (hide) {
        const why = `flagged by the community as ${REASON_TEXT[input.reason]}`
        await trx.updateTable('posts').set({ hidden_at: new Date(), hidden_reason: why, review_requested_at: null }).where('id', '=', postId).execute()
        notified = await this.notifications.create(trx, [
          {
            userId: post.author_id,
            kind: 'flag.hidden',
            url: threadUrl(thread, postId),
            text: `Your post in “${thread.title}” was hidden: ${why}. You may edit it once to ask a moderator to review it.`,
            payload: { postId, threadId: thread.id, reason: input.reason },
          },
        ])
      }
      const hidden = hide || locked.hidden_at !== null
      await this.outbox.emit(trx, 'flag.created', { postId, categoryId: category.id, score: total, hidden }, { channels: ['mod'], categoryId: category.id })
      if (hide) await this.outbox.emit(trx, 'post.hidden', { threadId: thread.id, postId }, { channels: [`thread:${thread.id}`], categoryId: category.id })
      return { flagId: inserted.id, score, total, hidden, justHidden: hide, thread, category, notified }
    })
    return { id: result.flagId, score: result.score, postScore: result.total, hidden: result.hidden, threadUrl: threadUrl(result.thread, postId) }
  }

  /** Refuses anyone who moderates nothing (404, as if /mod did not exist). */
  private requireModerator(viewer: Viewer): void {
    if (!isModerator(viewer)) throw new NotFound()
  }

  /** Whether the viewer may reach the moderation pages at all (not while suspended). */
  isModerator(viewer: Viewer): boolean {
    return isModerator(viewer)
  }

  /**
   * The review queue: pending flags grouped by post, in the viewer's categories only,
   * highest score first, leaving out the viewer's own posts.
   */
  async queue(viewer: Viewer): Promise<QueueItem[]> {
    this.requireModerator(viewer)
    const rows = await this.db
      .selectFrom('flags as f')
      .innerJoin('posts as p', 'p.id', 'f.post_id')
      .innerJoin('threads as t', 't.id', 'p.thread_id')
      .innerJoin('categories as c', 'c.id', 't.category_id')
      .innerJoin('users as a', 'a.id', 'p.author_id')
      .innerJoin('users as fu', 'fu.id', 'f.flagger_id')
      .leftJoin('posts as parent', 'parent.id', 'p.parent_id')
      .select([
        'f.id', 'f.reason', 'f.note', 'f.score', 'f.created_at', 'fu.username as flagger',
        'p.id as post_id', 'p.body_md', 'p.body_html', 'p.hidden_at', 'p.review_requested_at', 'a.username as author',
        't.id as thread_id', 't.slug', 't.title', 'c.id as category_id', 'c.name as category_name', 'parent.body_md as parent_md',
      ])
      .where('f.status', '=', 'pending')
      .where('p.deleted_at', 'is', null)
      .$if(!isStaff(viewer), (q) => q.where('t.category_id', 'in', [...viewer.moderates]))
      // Nobody reviews flags on their own post (nor learns who flagged it): another moderator or an admin does.
      .where('p.author_id', '!=', viewer.user!.id)
      .orderBy('f.created_at')
      .limit(2_000)
      .execute()
    const byPost = new Map<number, QueueItem>()
    for (const r of rows) {
      let item = byPost.get(r.post_id)
      if (!item) {
        item = {
          postId: r.post_id,
          score: 0,
          hidden: r.hidden_at !== null,
          reviewRequested: r.review_requested_at !== null,
          excerpt: markdownToText(r.body_md, 280),
          bodyHtml: r.body_html,
          author: r.author,
          threadTitle: r.title,
          url: threadUrl({ id: r.thread_id, slug: r.slug }, r.post_id),
          categoryId: r.category_id,
          categoryName: r.category_name,
          parentExcerpt: r.parent_md ? markdownToText(r.parent_md, 200) : null,
          flags: [],
        }
        byPost.set(r.post_id, item)
      }
      item.score = Math.round((item.score + r.score) * 100) / 100
      item.flags.push({ id: r.id, reason: r.reason, note: r.note, score: r.score, flagger: r.flagger, createdAt: r.created_at })
    }
    return [...byPost.values()].sort((a, b) => b.score - a.score || a.postId - b.postId)
  }

  /**
   * Decides a flag, and with it every pending flag on the same post: agree (keep hidden or
   * delete, optionally silence or suspend the author), disagree (restore; counts against
   * the flaggers' accuracy) or defer (restore without counting for anyone). Only moderators of the post's category; 409 when
   * already decided. Logged, notified, and announced to the category's other moderators.
   */
  async resolve(viewer: Viewer, flagId: number, raw: unknown) {
    this.requireModerator(viewer)
    const input = parse(ResolveInput, raw)
    const actor = viewer.user!
    const result = await this.db.transaction().execute(async (trx) => {
      const flag = await trx.selectFrom('flags').select(['post_id', 'status']).where('id', '=', flagId).executeTakeFirst()
      if (!flag) throw new NotFound('No such flag')
      const post = await trx.selectFrom('posts').selectAll().where('id', '=', flag.post_id).forUpdate().executeTakeFirstOrThrow()
      const thread = await trx.selectFrom('threads').select(['id', 'slug', 'title', 'category_id']).where('id', '=', post.thread_id).executeTakeFirstOrThrow()
      await this.categories.byId(viewer, thread.category_id, trx)
      ensure(viewer, 'reviewFlags', { categoryId: thread.category_id, authorId: post.author_id })
      const current = await trx.selectFrom('flags').select('status').where('id', '=', flagId).executeTakeFirstOrThrow()
      if (current.status !== 'pending') throw new Conflict('This flag has already been resolved')

      // Rank rules: a moderator never suspends or silences staff, a fellow moderator or themselves.
      if (input.action === 'agree' && input.penalty !== 'none') {
        ensure(viewer, 'penalise', { target: await this.rankOf(trx, post.author_id), categoryId: thread.category_id })
      }

      const status = input.action === 'agree' ? 'agreed' : input.action === 'disagree' ? 'disagreed' : 'deferred'
      const flaggers = await trx
        .updateTable('flags')
        .set({ status, resolved_by: actor.id, resolved_at: new Date() })
        .where('post_id', '=', post.id)
        .where('status', '=', 'pending')
        .returning('flagger_id')
        .execute()
      // Every entry of a decision belongs to the post's category: readers who cannot see it never see them.
      const log = (action: StaffActionCode, target: StaffActionTarget, reason: string, details: Record<string, unknown>) =>
        logStaffAction(trx, { actorId: actor.id, action, target, reason, categoryId: thread.category_id, details })
      const url = threadUrl(thread, post.id)
      const items: NewNotification[] = []
      let restored = false
      let deleted = false

      if (input.action === 'agree') {
        if (input.outcome === 'delete' && !post.deleted_at) {
          deleted = true
          await trx.updateTable('posts').set({ deleted_at: new Date(), deleted_by: actor.id }).where('id', '=', post.id).execute()
          if (post.depth === 0) await trx.updateTable('threads').set({ deleted_at: new Date() }).where('id', '=', thread.id).execute()
          else await trx.updateTable('threads').set((eb) => ({ reply_count: eb('reply_count', '-', 1) })).where('id', '=', thread.id).execute()
        } else if (!post.hidden_at) {
          await trx.updateTable('posts').set({ hidden_at: new Date(), hidden_reason: 'hidden by a moderator' }).where('id', '=', post.id).execute()
        }
        await trx.updateTable('posts').set({ review_requested_at: null }).where('id', '=', post.id).execute()
        await log('flag.agree', { type: 'post', id: post.id }, input.reason, { threadId: thread.id, outcome: input.outcome, flags: flaggers.length })
        items.push({
          userId: post.author_id,
          kind: 'flag.resolved',
          actorId: actor.id,
          url,
          text: deleted ? `A moderator agreed with the flags on your post in “${thread.title}” and deleted it.` : `A moderator agreed with the flags on your post in “${thread.title}”; it stays hidden.`,
          payload: { postId: post.id, action: 'agree', outcome: input.outcome },
        })
        if (input.penalty !== 'none') {
          const until = new Date(Date.now() + input.days * 86_400_000)
          await trx
            .updateTable('users')
            .set(input.penalty === 'suspend' ? { suspended_until: until } : { silenced_until: until })
            .where('id', '=', post.author_id)
            .execute()
          await log(input.penalty === 'suspend' ? 'member.suspend' : 'member.silence', { type: 'user', id: post.author_id }, input.reason, { until: until.toISOString(), postId: post.id })
          // Their open live sockets recheck what they may see at once.
          await this.outbox.emit(trx, 'access.changed', { userId: post.author_id })
          items.push({
            userId: post.author_id,
            kind: 'flag.resolved',
            actorId: actor.id,
            url: '/notifications',
            text: `You are ${input.penalty === 'suspend' ? 'suspended' : 'silenced'} until ${until.toUTCString()}: ${input.reason}`,
            payload: { penalty: input.penalty, until: until.toISOString() },
          })
        }
      } else if (input.action === 'disagree') {
        restored = post.hidden_at !== null
        await trx.updateTable('posts').set({ hidden_at: null, hidden_reason: null, review_requested_at: null }).where('id', '=', post.id).execute()
        await log('flag.disagree', { type: 'post', id: post.id }, input.reason, { threadId: thread.id, flags: flaggers.length })
        if (restored) {
          items.push({ userId: post.author_id, kind: 'flag.resolved', actorId: actor.id, url, text: `A moderator reviewed your post in “${thread.title}” and restored it.`, payload: { postId: post.id, action: 'disagree' } })
        }
      } else {
        // Deferring counts for no one; a post hidden by flags alone is shown again, since no moderator confirmed it.
        restored = post.hidden_at !== null
        await trx.updateTable('posts').set({ hidden_at: null, hidden_reason: null, review_requested_at: null }).where('id', '=', post.id).execute()
        await log('flag.defer', { type: 'post', id: post.id }, input.reason, { threadId: thread.id, flags: flaggers.length })
      }
      const verdict = input.action === 'agree' ? 'agreed with' : input.action === 'disagree' ? 'did not agree with' : 'set aside'
      for (const { flagger_id } of flaggers) {
        items.push({ userId: flagger_id, kind: 'flag.resolved', actorId: actor.id, url: '/mod/log', text: `A moderator ${verdict} your flag on a post in “${thread.title}”. Thank you.`, payload: { postId: post.id, action: input.action } })
      }
      const notified = await this.notifications.create(trx, items)
      const route = { categoryId: thread.category_id }
      await this.outbox.emit(trx, 'flag.resolved', { postId: post.id, categoryId: thread.category_id, action: input.action, moderatorId: actor.id }, { ...route, channels: ['mod'] })
      if (deleted) await this.outbox.emit(trx, 'post.deleted', { threadId: thread.id, postId: post.id }, { ...route, channels: [`thread:${thread.id}`] })
      return { thread, notified, restored, deleted, postId: post.id }
    })
    return { postId: result.postId, action: input.action, restored: result.restored, deleted: result.deleted }
  }

  /**
   * The moderation log as this viewer may read it, newest first, keyset-paginated by id.
   * Entries about a category the viewer cannot see are left out in SQL (an entry about a
   * thread move needs both categories), so every page is full however many are hidden.
   * Staff see everything. Names and links come from `describeLog`, in a fixed number of queries.
   */
  async log(viewer: Viewer, before?: number): Promise<{ entries: LogEntry[]; nextBefore: number | null }> {
    const visible = isStaff(viewer) ? null : await this.categories.visibleIds(viewer)
    const rows = await this.db
      .selectFrom('moderation_log as l')
      .leftJoin('users as u', 'u.id', 'l.actor_id')
      .select(['l.id', 'l.action', 'l.target_type', 'l.target_id', 'l.reason', 'l.details', 'l.category_id', 'l.created_at', 'u.username as actor'])
      .$if(visible !== null, (q) => {
        // An empty list still needs a valid array literal: no category matches it.
        const ids = visible!.length ? visible! : [0]
        return q
          .where((eb) => eb.or([eb('l.category_id', 'is', null), eb('l.category_id', '=', sql<number>`any(${ids})`)]))
          // Parenthesised: a raw fragment is not wrapped, and the keyset condition follows it.
          .where(sql<boolean>`((l.details->>'toCategoryId') is null or (l.details->>'toCategoryId')::bigint = any(${ids}))`)
      })
      .$if(before !== undefined, (q) => q.where('l.id', '<', before!))
      .orderBy('l.id', 'desc')
      .limit(LOG_PAGE + 1)
      .execute()
    const page = rows.slice(0, LOG_PAGE)
    const entries = await describeLog(this.db, page, visible ? new Set(visible) : null)
    return { entries, nextBefore: rows.length > LOG_PAGE ? page[page.length - 1]!.id : null }
  }

  /** A member's role and where they moderate, as the guard's rank rules need it. */
  private async rankOf(trx: DbOrTrx, userId: number): Promise<MemberRank> {
    const row = await trx
      .selectFrom('users')
      .select(['id', 'role', sql<boolean>`exists (select 1 from category_moderators m where m.user_id = users.id)`.as('moderates_any')])
      .where('id', '=', userId)
      .executeTakeFirstOrThrow()
    return { id: row.id, role: row.role, moderatesAny: row.moderates_any }
  }

  /**
   * A member's role and trust level with their locks, for /admin; null when there is no
   * such member. `mayChange` is false where the rank rules stop this actor (their own account).
   */
  async memberStanding(actor: GuardUser, username: string) {
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'role', 'role_locked', 'trust_level', 'trust_locked'])
      .where(sql`lower(username)`, '=', username.trim().toLowerCase())
      .executeTakeFirst()
    if (!row) return null
    const mayChange = can(viewerOf(actor), 'penalise', { target: await this.rankOf(this.db, row.id), kind: 'role' })
    return { id: row.id, username: row.username, role: row.role, roleLocked: row.role_locked, trustLevel: row.trust_level, trustLocked: row.trust_locked, mayChange }
  }

  /** Sets a member's global role and trust level, with owners' locks on either (admins, never on themselves). Logged. */
  async updateMember(actor: GuardUser, raw: unknown) {
    const input = parse(MemberStandingInput, raw)
    const actorId = actor.id
    return this.db.transaction().execute(async (trx) => {
      const user = await trx
        .selectFrom('users')
        .select(['id', 'username', 'role', 'role_locked', 'trust_level', 'trust_locked'])
        .where(sql`lower(username)`, '=', input.username.toLowerCase())
        .forUpdate()
        .executeTakeFirst()
      if (!user) throw Invalid.field('username', 'No member by that name')
      ensure(viewerOf(actor), 'penalise', { target: await this.rankOf(trx, user.id), kind: 'role' })
      await trx
        .updateTable('users')
        .set({ role: input.role, role_locked: input.roleLocked, trust_level: input.trustLevel, trust_locked: input.trustLocked, tl3_short_since: null })
        .where('id', '=', user.id)
        .execute()
      const log = (action: StaffActionCode, details: Record<string, unknown>) =>
        logStaffAction(trx, { actorId, action, target: { type: 'user', id: user.id }, reason: input.reason, details: { username: user.username, ...details } })
      if (user.role !== input.role || user.role_locked !== input.roleLocked) {
        await log('member.role', { from: user.role, to: input.role, locked: input.roleLocked })
      }
      if (user.trust_level !== input.trustLevel || user.trust_locked !== input.trustLocked) {
        await log('member.trust', { from: user.trust_level, to: input.trustLevel, locked: input.trustLocked })
      }
      // A new role or trust level changes what the member's open sockets may hear.
      await this.outbox.emit(trx, 'access.changed', { userId: user.id })
      return { id: user.id, username: user.username }
    })
  }

  /**
   * Appoints a member as moderator of a category (admins), and tells them: a notification
   * (mailed like the promotion job's) in the same transaction as the appointment and its log entry.
   */
  async appointModerator(actor: GuardUser, categoryId: number, username: string, reason = '') {
    ensure(viewerOf(actor), 'administer', undefined)
    return this.db.transaction().execute(async (trx) => {
      const appointed = await this.categories.appointModerator(actor.id, categoryId, username, reason, trx)
      if (appointed.added) {
        await this.notifications.create(trx, [
          {
            userId: appointed.userId,
            kind: 'moderator.appointed',
            actorId: actor.id,
            url: '/mod',
            text: `You are now a moderator of ${appointed.categoryName}, appointed by the community's owners. Your review queue is at /mod.`,
            payload: { categoryId },
          },
        ])
      }
      return appointed
    })
  }

  /** Members suspended or silenced right now, with who did it, why and until when (for /admin). */
  async restrictions(now = new Date()) {
    const rows = await this.db
      .selectFrom('users as u')
      .leftJoinLateral(
        (eb) =>
          eb
            .selectFrom('moderation_log as l')
            .leftJoin('users as a', 'a.id', 'l.actor_id')
            .select(['l.action', 'l.reason', 'l.created_at', 'a.username as actor'])
            .whereRef('l.target_id', '=', sql<string>`u.id::text`)
            .where('l.target_type', '=', 'user')
            .where('l.action', 'in', ['member.suspend', 'member.silence'])
            .orderBy('l.id', 'desc')
            .limit(1)
            .as('last'),
        (j) => j.onTrue(),
      )
      .select(['u.id', 'u.username', 'u.suspended_until', 'u.silenced_until', 'last.reason', 'last.actor', 'last.action'])
      .where((eb) => eb.or([eb('u.suspended_until', '>', now), eb('u.silenced_until', '>', now)]))
      .orderBy('u.username')
      .execute()
    return rows.flatMap((r) => {
      const by = (action: string) => (r.action === action ? { reason: r.reason ?? '', by: r.actor ?? null } : { reason: '', by: null })
      return [
        ...(r.suspended_until && r.suspended_until > now ? [{ userId: r.id, username: r.username, kind: 'suspension' as const, until: r.suspended_until, ...by('member.suspend') }] : []),
        ...(r.silenced_until && r.silenced_until > now ? [{ userId: r.id, username: r.username, kind: 'silence' as const, until: r.silenced_until, ...by('member.silence') }] : []),
      ]
    })
  }

  /**
   * Lifts a member's suspension or silence now (admins). Logged; the member's open sockets
   * are rechecked at once. NotFound when there is no such member, Conflict when nothing is active.
   */
  async lift(actor: GuardUser, userId: number, raw: unknown) {
    ensure(viewerOf(actor), 'administer', undefined)
    const input = parse(LiftInput, raw)
    const now = new Date()
    return this.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select(['id', 'username', 'suspended_until', 'silenced_until']).where('id', '=', userId).forUpdate().executeTakeFirst()
      if (!user) throw new NotFound('No such member')
      const column = input.kind === 'suspension' ? 'suspended_until' : 'silenced_until'
      const until = user[column]
      if (!until || until <= now) throw new Conflict(`${user.username} is not ${input.kind === 'suspension' ? 'suspended' : 'silenced'}`)
      await trx.updateTable('users').set({ [column]: null }).where('id', '=', user.id).execute()
      await logStaffAction(trx, {
        actorId: actor.id,
        action: input.kind === 'suspension' ? 'member.unsuspend' : 'member.unsilence',
        target: { type: 'user', id: user.id },
        reason: input.reason,
        details: { username: user.username, was: until.toISOString() },
      })
      await this.outbox.emit(trx, 'access.changed', { userId: user.id })
      return { userId: user.id, username: user.username, kind: input.kind }
    })
  }
}
