import { sql } from 'kysely'
import type { SessionUser } from '../../core/auth/sessions.js'
import { decodeCursor, encodeCursor } from '../../core/cursor.js'
import { diffWords, diffWordsWithSpace } from 'diff'
import { can, ensure, type GuardUser, isAdmin, isStaff, viewerOf } from '../../core/guard.js'
import type { CommunitySettings } from '../../core/settings.js'
import type { Db, DbOrTrx, Trx } from '../../core/db.js'
import type { IdeaStatus } from '../../core/db-types.js'
import { Conflict, Forbidden, Invalid, NotFound, parse } from '../../core/errors.js'
import type { EventType } from '../../core/events.js'
import type { Outbox } from '../../core/outbox.js'
import { markdownToText, renderMarkdown } from '../../core/markdown.js'
import { slugify } from '../discussions/categories.js'
import type { DiscussionService } from '../discussions/service.js'
import { logStaffAction } from '../moderation/log.js'
import type { NotificationService } from '../notifications/service.js'
import {
  boardCursor,
  type BoardQuery,
  CLOSED_STATUSES,
  EditIdeaInput,
  MergeInput,
  NewIdeaInput,
  STATUS_LABELS,
  StatusInput,
  VoteLimits,
} from './schemas.js'

const PAGE = 30
const SIMILAR = 5
const VOTERS_SHOWN = 200
const ROADMAP_DONE_DAYS = 30
const VOTE_LIMITS_KEY = 'ideas.vote_limits'
// Trending: votes of the last 7 days, each weighing half as much for every day of age.
const TRENDING_HALF_LIFE_S = 24 * 60 * 60
const TRENDING_REFRESH_MS = 60_000
const TRENDING_BATCH = 500
const SETTINGS_TTL_MS = 5_000

// The vote statement's `idea.voted` event (payload EventMap['idea.voted']), written to the
// outbox only when the count moved (castVote then wakes the relays: Outbox.written).
const VOTED: EventType = 'idea.voted'
const votedEvent = sql`notified as (
            insert into outbox (type, payload, channels)
            select ${VOTED}, jsonb_build_object('ideaId', id, 'votes', vote_count), array['ideas', 'idea:' || id]
            from counted where changed > 0
            returning 1
          )`

/** A member (or staff) as the ideas feature needs them. */
type Actor = GuardUser & Pick<SessionUser, 'username'>

/** An idea as the board and API show it. */
export interface IdeaSummary {
  id: number
  title: string
  excerpt: string
  tags: string[]
  status: IdeaStatus
  statusLabel: string
  votes: number
  author: string | null
  createdAt: Date
  url: string
  /** Done or declined: no more votes. */
  closed: boolean
  voted?: boolean
}

/** What a vote or unvote did: the idea it landed on (a merged idea's target) and its exact count. */
export interface VoteResult {
  ideaId: number
  votes: number
  voted: boolean
  /** Set when the idea asked for was merged and the vote went to its target. */
  mergedFrom?: number
}

interface CastRow {
  vote_count: number
  status: IdeaStatus
  merged_into_id: number | null
  changed: number
  /** Events the statement wrote (one `idea.voted` when the count moved). */
  notified: number
}

interface CastVote {
  ideaId: number
  votes: number
  status: IdeaStatus
  mergedInto: number | null
  changed: boolean
}

function ideaUrl(id: number): string {
  return `/ideas/${id}`
}

/** One piece of a diff: text kept, added or removed. */
export interface DiffPart {
  text: string
  kind: 'same' | 'added' | 'removed'
}

function diffParts(changes: { value: string; added?: boolean; removed?: boolean }[]): DiffPart[] {
  return changes.map((c) => ({ text: c.value, kind: c.added ? 'added' : c.removed ? 'removed' : 'same' }))
}

/** The category (created by migration 0035) that holds every idea's comment thread. */
export { IDEA_COMMENTS_CATEGORY } from '../discussions/categories.js'
import { IDEA_COMMENTS_CATEGORY } from '../discussions/categories.js'

/**
 * The co-creation board: ideas, votes (exact under concurrency), statuses with public
 * notes, subscriptions, merging duplicates, the roadmap and the changelog.
 */
export class IdeaService {
  private trendingRefreshedAt = 0
  private voteLimitsCache: { value: VoteLimits; at: number } | null = null

  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox,
    private readonly notifications: NotificationService,
    /** The discussion engine, which holds each idea's comment thread. */
    private readonly discussions: Pick<DiscussionService, 'createLinkedThread'>,
    private readonly settings: Pick<CommunitySettings, 'all'>,
  ) {}

  /**
   * Creates an idea; its author follows it and, in the same transaction, votes for it (as
   * on Fider: proposing is backing), so the new idea starts at one exact vote the author
   * can take back like any other. The vote is left out when the author may not vote or
   * already holds every open vote their trust level allows. Emits `idea.created` after commit.
   */
  async propose(author: Actor, raw: unknown): Promise<IdeaSummary> {
    const settings = await this.settings.all()
    ensure(viewerOf(author), 'propose', undefined, { settings })
    const input = parse(NewIdeaInput, raw)
    const body = renderMarkdown(input.body)
    const mayVote = can(viewerOf(author), 'vote', undefined, { settings })
    const limit = (await this.voteLimits())?.[String(author.trust_level)]
    const idea = await this.db.transaction().execute(async (trx) => {
      const vote = mayVote && (limit === undefined || (await this.openVotes(trx, author.id)) < limit)
      const row = await trx
        .insertInto('ideas')
        .values({
          author_id: author.id,
          title: input.title,
          body_md: input.body,
          body_html: body.html,
          excerpt: markdownToText(input.body, 200),
          tags: input.tags,
          vote_count: vote ? 1 : 0,
        })
        .returning(['id', 'title', 'excerpt', 'tags', 'status', 'vote_count', 'created_at'])
        .executeTakeFirstOrThrow()
      // The counter was written with the row it counts; nobody else can vote before this commits.
      if (vote) await trx.insertInto('idea_votes').values({ idea_id: row.id, user_id: author.id }).execute()
      const threadId = await this.discussions.createLinkedThread(trx, {
        categorySlug: IDEA_COMMENTS_CATEGORY,
        authorId: author.id,
        title: input.title,
        body: `Comments on the idea [${input.title.replace(/[[\]]/g, '')}](/ideas/${row.id}).`,
      })
      await trx.updateTable('ideas').set({ thread_id: threadId }).where('id', '=', row.id).execute()
      // The author follows their idea: they watch its comment thread.
      await trx.insertInto('thread_notification_levels').values({ user_id: author.id, thread_id: threadId, level: 'watching', reason: 'idea' }).execute()
      await this.outbox.emit(trx, 'idea.created', { ideaId: row.id, title: row.title, url: ideaUrl(row.id), author: author.username }, { channels: ['ideas', 'home'] })
      return { ...row, voted: vote }
    })
    return { ...this.summary({ ...idea, author_username: author.username }), voted: idea.voted }
  }

  /**
   * Up to 5 existing ideas whose words overlap the text (any word, ranked by ts_rank),
   * so a member can vote instead of posting a duplicate. Merged ideas are left out.
   */
  async similar(text: string, excludeId?: number, options: { typing?: boolean } = {}): Promise<IdeaSummary[]> {
    if (text.trim().length === 0) return []
    // plainto_tsquery normalises the words (stemming, stop words); OR-ing them finds partial overlaps.
    let query = sql`replace(plainto_tsquery('english', ${text})::text, ' & ', ' | ')::tsquery`
    if (options.typing) {
      // While a title is being typed its last word may be unfinished: match it as a prefix.
      // Only letters and digits reach to_tsquery, so its operators cannot be injected.
      const words = text.match(/[\p{L}\p{N}]+/gu)?.slice(-12) ?? []
      if (words.length === 0) return []
      const last = words.pop()!
      query = sql`(replace(plainto_tsquery('english', ${words.join(' ')})::text, ' & ', ' | ')::tsquery || to_tsquery('english', ${`${last}:*`}))`
    }
    let q = this.listed()
      .where(sql<boolean>`ideas.search @@ ${query}`)
      .orderBy(sql`ts_rank(ideas.search, ${query})`, 'desc')
      .orderBy('ideas.vote_count', 'desc')
      .orderBy('ideas.id', 'desc')
      .limit(SIMILAR)
    if (excludeId) q = q.where('ideas.id', '<>', excludeId)
    const rows = await q.execute()
    return rows.map((r) => this.summary(r))
  }

  /** One page of the board, keyset-paginated in the chosen order; `voted` marks the viewer's votes. */
  async board(query: BoardQuery, viewerId?: number): Promise<{ items: IdeaSummary[]; nextCursor: string | null }> {
    if (query.sort === 'trending') this.refreshTrendingIfStale()
    let q = this.listed().select('ideas.trending_score').limit(PAGE + 1)
    if (query.status) q = q.where('ideas.status', '=', query.status)
    if (query.tag) q = q.where(sql<boolean>`ideas.tags @> array[${query.tag}]::text[]`)
    const after = query.cursor ? decodeCursor(boardCursor(query.sort), query.cursor) : null
    if (query.sort === 'new') {
      q = q.orderBy('ideas.id', 'desc')
      if (after) q = q.where('ideas.id', '<', after[1])
    } else {
      const column = query.sort === 'top' ? sql.ref('ideas.vote_count') : sql.ref('ideas.trending_score')
      q = q.orderBy(column, 'desc').orderBy('ideas.id', 'desc')
      if (after) q = q.where(sql<boolean>`(${column}, ideas.id) < (${after[0]}, ${after[1]})`)
    }
    const rows = await q.execute()
    const more = rows.length > PAGE
    const page = rows.slice(0, PAGE)
    const voted = viewerId ? await this.votedAmong(viewerId, page.map((r) => r.id)) : new Set<number>()
    const items = page.map((r) => ({ ...this.summary(r), voted: voted.has(r.id) }))
    const last = page[page.length - 1]
    const nextCursor =
      more && last
        ? encodeCursor([query.sort === 'top' ? last.vote_count : query.sort === 'trending' ? last.trending_score : last.id, last.id])
        : null
    return { items, nextCursor }
  }

  /**
   * One idea with everything its page shows: status history, voters, the viewer's vote
   * and subscription. A merged idea keeps its text and history; `mergedInto` names the
   * idea that now holds its votes (and `mergedIntoId` is set).
   */
  async get(id: number, viewerId?: number) {
    const idea = await this.db
      .selectFrom('ideas')
      .leftJoin('users', 'users.id', 'ideas.author_id')
      .selectAll('ideas')
      .select('users.username as author_username')
      .where('ideas.id', '=', id)
      .executeTakeFirst()
    if (!idea) throw new NotFound('No such idea')
    const [history, voters, viewer, mergedFrom, mergedInto] = await Promise.all([
      this.db
        .selectFrom('idea_status_changes')
        .leftJoin('users', 'users.id', 'idea_status_changes.actor_id')
        .select([
          'idea_status_changes.id',
          'idea_status_changes.from_status',
          'idea_status_changes.to_status',
          'idea_status_changes.note_html',
          'idea_status_changes.note_md',
          'idea_status_changes.created_at',
          'users.username as actor_username',
        ])
        .where('idea_status_changes.idea_id', '=', id)
        .orderBy('idea_status_changes.id', 'asc')
        .execute(),
      this.db
        .selectFrom('idea_votes')
        .innerJoin('users', 'users.id', 'idea_votes.user_id')
        .select(['users.username', 'idea_votes.created_at'])
        .where('idea_votes.idea_id', '=', id)
        .orderBy('idea_votes.created_at', 'asc')
        .orderBy('users.id', 'asc')
        .limit(VOTERS_SHOWN)
        .execute(),
      viewerId
        ? this.db
            .selectFrom(sql`(select 1)`.as('one'))
            .select([
              sql<boolean>`exists (select 1 from idea_votes where idea_id = ${id} and user_id = ${viewerId})`.as('voted'),
              sql<boolean>`exists (select 1 from ideas fi join thread_notification_levels fl on fl.thread_id = fi.thread_id where fi.id = ${id} and fl.user_id = ${viewerId} and fl.level = 'watching')`.as('subscribed'),
            ])
            .executeTakeFirstOrThrow()
        : Promise.resolve({ voted: false, subscribed: false }),
      this.db.selectFrom('ideas').select(['id', 'title']).where('merged_into_id', '=', id).orderBy('id').execute(),
      idea.merged_into_id
        ? this.db
            .selectFrom('ideas')
            .select(['id', 'title', 'vote_count', 'status'])
            .where('id', '=', idea.merged_into_id)
            .executeTakeFirst()
        : Promise.resolve(undefined),
    ])
    return {
      mergedIntoId: idea.merged_into_id,
      idea: {
        ...this.summary(idea),
        bodyHtml: idea.body_html,
        bodyMd: idea.body_md,
        threadId: idea.thread_id,
        releaseNoteHtml: idea.release_note_html,
        doneAt: idea.done_at,
        history: history.map((h) => ({
          ...h,
          fromLabel: STATUS_LABELS[h.from_status],
          toLabel: STATUS_LABELS[h.to_status],
        })),
        voters,
        moreVoters: Math.max(0, idea.vote_count - voters.length),
        voted: viewer.voted,
        subscribed: viewer.subscribed,
        mergedFrom,
        mergedInto: mergedInto
          ? { id: mergedInto.id, title: mergedInto.title, votes: mergedInto.vote_count, statusLabel: STATUS_LABELS[mergedInto.status], url: ideaUrl(mergedInto.id), mergedAt: idea.merged_at }
          : null,
        // A merged idea takes no votes of its own: they go to its target.
        closed: CLOSED_STATUSES.includes(idea.status) || idea.merged_into_id !== null,
        authorId: idea.author_id,
        editedAt: idea.edited_at,
        revisionCount: idea.revision_count,
      },
    }
  }

  /**
   * Edits an idea's title, description and tags: its author while it is open or under
   * review, staff always (see the guard's `editIdea`). The replaced text is kept as a
   * revision; the comment thread's title follows the idea's; staff editing someone else's
   * idea is logged. Nothing is written when nothing changed.
   */
  async edit(actor: Actor, id: number, raw: unknown): Promise<{ ideaId: number; url: string; changed: boolean }> {
    const settings = await this.settings.all()
    const input = parse(EditIdeaInput, raw)
    const body = renderMarkdown(input.body)
    return this.db.transaction().execute(async (trx) => {
      // FOR NO KEY UPDATE: voters (FOR KEY SHARE) carry on; a merge or status move waits.
      const idea = await trx
        .selectFrom('ideas')
        .select(['id', 'author_id', 'title', 'body_md', 'tags', 'status', 'merged_into_id', 'revision_count', 'thread_id'])
        .where('id', '=', id)
        .forNoKeyUpdate()
        .executeTakeFirst()
      if (!idea) throw new NotFound('No such idea')
      ensure(viewerOf(actor), 'editIdea', { idea }, { settings })
      const changed = input.title !== idea.title || input.body !== idea.body_md || input.tags.join(',') !== idea.tags.join(',')
      if (!changed) return { ideaId: id, url: ideaUrl(id), changed: false }
      const number = idea.revision_count + 1
      await trx
        .insertInto('idea_revisions')
        .values({ idea_id: id, number, title: idea.title, body_md: idea.body_md, tags: idea.tags, editor_id: actor.id })
        .execute()
      const now = sql<Date>`now()` as unknown as Date
      await trx
        .updateTable('ideas')
        .set({
          title: input.title,
          body_md: input.body,
          body_html: body.html,
          excerpt: markdownToText(input.body, 200),
          tags: input.tags,
          revision_count: number,
          edited_at: now,
          updated_at: now,
        })
        .where('id', '=', id)
        .execute()
      if (idea.thread_id && input.title !== idea.title) {
        await trx.updateTable('threads').set({ title: input.title, slug: slugify(input.title) }).where('id', '=', idea.thread_id).execute()
      }
      if (idea.author_id !== actor.id) {
        await logStaffAction(trx, { actorId: actor.id, action: 'idea.edit', target: { type: 'idea', id }, reason: input.reason, details: { revision: number } })
      }
      return { ideaId: id, url: ideaUrl(id), changed: true }
    })
  }

  /**
   * An idea's edit history, newest first: each edit with who made it, when, and what it
   * changed (word diffs of the title, description and tags). Anyone who sees the idea sees it.
   */
  async revisions(id: number) {
    const idea = await this.db
      .selectFrom('ideas')
      .select(['id', 'title', 'body_md', 'tags', 'author_id', 'created_at', 'edited_at', 'merged_into_id'])
      .where('id', '=', id)
      .executeTakeFirst()
    if (!idea) throw new NotFound('No such idea')
    const rows = await this.db
      .selectFrom('idea_revisions as r')
      .leftJoin('users as u', 'u.id', 'r.editor_id')
      .select(['r.number', 'r.title', 'r.body_md', 'r.tags', 'r.created_at', 'u.username as editor'])
      .where('r.idea_id', '=', id)
      .orderBy('r.number', 'asc')
      .execute()
    const versions = [...rows.map((r) => ({ title: r.title, body_md: r.body_md, tags: r.tags })), { title: idea.title, body_md: idea.body_md, tags: idea.tags }]
    const edits = rows.map((r, i) => {
      const before = versions[i]!
      const after = versions[i + 1]!
      return {
        number: r.number,
        editor: r.editor,
        at: r.created_at,
        title: before.title === after.title ? null : diffParts(diffWords(before.title, after.title)),
        body: before.body_md === after.body_md ? null : diffParts(diffWordsWithSpace(before.body_md, after.body_md)),
        tags: before.tags.join(', ') === after.tags.join(', ') ? null : diffParts(diffWords(before.tags.join(', '), after.tags.join(', '))),
        before: { title: before.title, body: before.body_md, tags: before.tags },
      }
    })
    return { idea: { id: idea.id, title: idea.title, url: ideaUrl(idea.id), createdAt: idea.created_at, editedAt: idea.edited_at }, edits: edits.reverse() }
  }

  /**
   * Votes for an idea, idempotently. The vote row (primary key idea, member) and the
   * counter change in one statement, and the counter moves only when a row was really
   * inserted, so the count stays exact however many members vote at once. A merged idea's
   * vote goes to its target; a closed idea refuses new votes.
   */
  async vote(user: Actor, id: number): Promise<VoteResult> {
    ensure(viewerOf(user), 'vote', undefined, { settings: await this.settings.all() })
    const limit = (await this.voteLimits())?.[String(user.trust_level)]
    const result =
      limit === undefined
        ? await this.followMerge(id, (ideaId) => this.castVote(this.db, user.id, ideaId, true))
        : await this.db.transaction().execute(async (trx) => {
            const target = await this.resolve(id, trx)
            await this.checkOpenVotes(trx, user.id, target, limit)
            return this.followMerge(id, (ideaId) => this.castVote(trx, user.id, ideaId, true))
          })
    if (result.status === 'declined') throw new Conflict('This idea was declined, so it no longer takes votes')
    if (result.status === 'done') throw new Conflict('This idea is done, so it no longer takes votes')
    return this.voted(result, true)
  }

  /** Takes back a vote, idempotently; the counter moves only when a vote row was really deleted. */
  async unvote(user: Actor, id: number): Promise<VoteResult> {
    ensure(viewerOf(user), 'retract', undefined)
    return this.voted(await this.followMerge(id, (ideaId) => this.castVote(this.db, user.id, ideaId, false)), false)
  }

  private voted(result: CastVote & { mergedFrom?: number }, voted: boolean): VoteResult {
    return { ideaId: result.ideaId, votes: result.votes, voted, ...(result.mergedFrom ? { mergedFrom: result.mergedFrom } : {}) }
  }

  // Runs a vote or unvote on the idea, and once more on its target when it was merged.
  private async followMerge(id: number, cast: (ideaId: number) => Promise<CastVote | undefined>): Promise<CastVote & { mergedFrom?: number }> {
    const first = await cast(id)
    if (!first) throw new NotFound('No such idea')
    if (!first.mergedInto) return first
    const target = await cast(first.mergedInto)
    if (!target) throw new NotFound('No such idea')
    return { ...target, mergedFrom: id }
  }

  /**
   * One statement (one round trip, its own transaction): lock the idea FOR KEY SHARE —
   * voters do not wait for each other, but merges and status moves (FOR UPDATE) wait for
   * them and they for those — then insert or delete the vote row, guarded by its primary
   * key, and move the counter by exactly the number of rows changed. Nothing changes on a
   * merged idea, nor (when adding) on a closed one. When the count moved, the same
   * statement writes the `idea.voted` event to the outbox (see Outbox.emit for the shape).
   */
  private async castVote(q: DbOrTrx, userId: number, ideaId: number, add: boolean): Promise<CastVote | undefined> {
    const { rows } = add
      ? await sql<CastRow>`
          with idea as (select id, status, merged_into_id from ideas where id = ${ideaId} for key share),
          changed as (
            insert into idea_votes (idea_id, user_id)
            select id, ${userId} from idea where merged_into_id is null and status not in ('done', 'declined')
            on conflict do nothing returning 1
          ),
          counted as (
            update ideas set vote_count = ideas.vote_count + (select count(*) from changed)
            from idea where ideas.id = idea.id
            returning ideas.id, ideas.vote_count, idea.status, idea.merged_into_id, (select count(*) from changed)::int as changed
          ),
          ${votedEvent}
          select vote_count, status, merged_into_id, changed, (select count(*) from notified)::int as notified from counted`.execute(q)
      : await sql<CastRow>`
          with idea as (select id, status, merged_into_id from ideas where id = ${ideaId} for key share),
          changed as (
            delete from idea_votes using idea
            where idea_votes.idea_id = idea.id and idea.merged_into_id is null and idea_votes.user_id = ${userId}
            returning 1
          ),
          counted as (
            update ideas set vote_count = ideas.vote_count - (select count(*) from changed)
            from idea where ideas.id = idea.id
            returning ideas.id, ideas.vote_count, idea.status, idea.merged_into_id, (select count(*) from changed)::int as changed
          ),
          ${votedEvent}
          select vote_count, status, merged_into_id, changed, (select count(*) from notified)::int as notified from counted`.execute(q)
    const row = rows[0]
    if (!row) return undefined
    if (row.notified > 0) this.outbox.written(q)
    return { ideaId, votes: row.vote_count, status: row.status, mergedInto: row.merged_into_id, changed: row.changed > 0 }
  }

  /** With a per-trust-level limit set, a member may hold only so many votes on ideas still open. */
  private async checkOpenVotes(trx: Trx, userId: number, ideaId: number, limit: number): Promise<void> {
    // One member's votes are counted one at a time, so two parallel votes cannot both squeeze in.
    await this.lockVoter(trx, userId)
    const row = await trx
      .selectFrom('idea_votes')
      .innerJoin('ideas', 'ideas.id', 'idea_votes.idea_id')
      .select([
        (eb) => eb.fn.countAll<number>().as('open'),
        sql<boolean>`bool_or(idea_votes.idea_id = ${ideaId})`.as('already'),
      ])
      .where('idea_votes.user_id', '=', userId)
      .where('ideas.status', 'not in', [...CLOSED_STATUSES])
      .where('ideas.merged_into_id', 'is', null)
      .executeTakeFirstOrThrow()
    if (!row.already && Number(row.open) >= limit) {
      throw new Conflict(
        `You already hold ${limit} open ${limit === 1 ? 'vote' : 'votes'}, the most your trust level allows. ` +
          'Take one back, or wait: votes come back when an idea you voted for is done or declined.',
      )
    }
  }

  private async lockVoter(trx: Trx, userId: number): Promise<void> {
    await trx.selectFrom('users').select('id').where('id', '=', userId).forNoKeyUpdate().execute()
  }

  /** How many votes the member holds on ideas still open, counted under their lock (see checkOpenVotes). */
  private async openVotes(trx: Trx, userId: number): Promise<number> {
    await this.lockVoter(trx, userId)
    const row = await trx
      .selectFrom('idea_votes')
      .innerJoin('ideas', 'ideas.id', 'idea_votes.idea_id')
      .select((eb) => eb.fn.countAll<number>().as('open'))
      .where('idea_votes.user_id', '=', userId)
      .where('ideas.status', 'not in', [...CLOSED_STATUSES])
      .where('ideas.merged_into_id', 'is', null)
      .executeTakeFirstOrThrow()
    return Number(row.open)
  }

  /**
   * Follows an idea without voting (idempotent): the member watches its comment thread, so
   * they hear about its status changes and every comment, like any watched thread.
   */
  async subscribe(user: Actor, id: number): Promise<{ ideaId: number; subscribed: true }> {
    ensure(viewerOf(user), 'subscribe', undefined)
    const target = await this.resolve(id)
    await this.setFollowLevel(user.id, target, 'watching')
    return { ideaId: target, subscribed: true }
  }

  /** Stops following an idea (idempotent): its comment thread goes back to normal for the member. */
  async unsubscribe(user: Actor, id: number): Promise<{ ideaId: number; subscribed: false }> {
    ensure(viewerOf(user), 'retract', undefined)
    const target = await this.resolve(id)
    await this.setFollowLevel(user.id, target, 'normal')
    return { ideaId: target, subscribed: false }
  }

  private async setFollowLevel(userId: number, ideaId: number, level: 'watching' | 'normal'): Promise<void> {
    await sql`
      insert into thread_notification_levels (user_id, thread_id, level, reason)
      select ${userId}, thread_id, ${level}, ${level === 'watching' ? 'idea' : 'manual'} from ideas where id = ${ideaId} and thread_id is not null
      on conflict (user_id, thread_id) do update set level = excluded.level, reason = excluded.reason, updated_at = now()`.execute(this.db)
  }

  /** The idea itself, or the one it was merged into. */
  private async resolve(id: number, trx?: DbOrTrx): Promise<number> {
    const row = await (trx ?? this.db).selectFrom('ideas').select(['id', 'merged_into_id']).where('id', '=', id).executeTakeFirst()
    if (!row) throw new NotFound('No such idea')
    return row.merged_into_id ?? row.id
  }

  /**
   * Moves an idea to another status with a public note (moderators and admins). Voters
   * and subscribers are notified once each, the move is logged, and `idea.status` goes
   * to the outbox in the same transaction.
   */
  async changeStatus(actor: Actor, id: number, raw: unknown) {
    if (!isStaff(viewerOf(actor))) throw new Forbidden('Only moderators and admins move ideas between statuses')
    const input = parse(StatusInput, raw)
    const note = renderMarkdown(input.note)
    const { rows, idea } = await this.db.transaction().execute(async (trx) => {
      const idea = await trx
        .selectFrom('ideas')
        .select(['id', 'title', 'status', 'merged_into_id'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst()
      if (!idea) throw new NotFound('No such idea')
      if (idea.merged_into_id) throw Invalid.field('status', `This idea was merged into #${idea.merged_into_id}; move that one instead`)
      if (idea.status === input.status) throw Invalid.field('status', `This idea is already ${STATUS_LABELS[input.status].toLowerCase()}`)
      const done = input.status === 'done'
      await trx
        .updateTable('ideas')
        .set({
          status: input.status,
          status_changed_at: sql<Date>`now()` as unknown as Date,
          updated_at: sql<Date>`now()` as unknown as Date,
          done_at: done ? (sql<Date>`now()` as unknown as Date) : null,
          release_note_md: done ? input.note : null,
          release_note_html: done ? note.html : null,
        })
        .where('id', '=', id)
        .execute()
      await trx
        .insertInto('idea_status_changes')
        .values({
          idea_id: id,
          actor_id: actor.id,
          from_status: idea.status,
          to_status: input.status,
          note_md: input.note,
          note_html: note.html,
        })
        .execute()
      await logStaffAction(trx, { actorId: actor.id, action: 'idea.status', target: { type: 'idea', id }, reason: input.note, details: { from: idea.status, to: input.status } })
      const label = STATUS_LABELS[input.status]
      const rows = await this.notifications.create(
        trx,
        (await this.followers(trx, id)).map((userId) => ({
          userId,
          kind: 'idea.status',
          actorId: actor.id,
          url: ideaUrl(id),
          text: `"${idea.title}" is now ${label.toLowerCase()}: ${markdownToText(input.note, 140)}`,
          payload: { ideaId: id, status: input.status, from: idea.status },
        })),
      )
      await this.outbox.emit(
        trx,
        'idea.status',
        { ideaId: id, status: input.status, statusLabel: label, note: input.note },
        { channels: ['ideas', `idea:${id}`] },
      )
      return { rows, idea }
    })
    return { ideaId: idea.id, status: input.status, statusLabel: STATUS_LABELS[input.status], notified: rows.length }
  }

  /** Everyone who voted for or follows an idea, each once. */
  private async followers(trx: DbOrTrx, ideaId: number): Promise<number[]> {
    const rows = await trx
      .selectFrom('idea_votes')
      .select('user_id')
      .where('idea_id', '=', ideaId)
      .union(
        trx
          .selectFrom('thread_notification_levels as l')
          .innerJoin('ideas as i', 'i.thread_id', 'l.thread_id')
          .select('l.user_id')
          .where('i.id', '=', ideaId)
          .where('l.level', '=', 'watching'),
      )
      .execute()
    return rows.map((r) => r.user_id)
  }

  /**
   * Merges a duplicate into another idea (moderators and admins): votes and followers are
   * unioned (a member who voted for both counts once), ideas already merged into the
   * duplicate follow it, and the duplicate's voters and followers are told where it went.
   */
  async merge(actor: Actor, id: number, raw: unknown) {
    if (!isStaff(viewerOf(actor))) throw new Forbidden('Only moderators and admins merge ideas')
    const input = parse(MergeInput, raw)
    if (input.intoId === id) throw Invalid.field('intoId', 'An idea cannot be merged into itself')
    const { rows, votes, into } = await this.db.transaction().execute(async (trx) => {
      // Both rows locked in id order, so two merges of the same pair cannot deadlock.
      const locked = await trx
        .selectFrom('ideas')
        .select(['id', 'title', 'merged_into_id'])
        .where('id', 'in', [id, input.intoId])
        .orderBy('id')
        .forUpdate()
        .execute()
      const from = locked.find((r) => r.id === id)
      const into = locked.find((r) => r.id === input.intoId)
      if (!from) throw new NotFound('No such idea')
      if (!into) throw Invalid.field('intoId', `There is no idea #${input.intoId}`)
      if (from.merged_into_id) throw Invalid.field('intoId', `This idea was already merged into #${from.merged_into_id}`)
      if (into.merged_into_id) {
        throw Invalid.field('intoId', `Idea #${into.id} was itself merged into #${into.merged_into_id}; merge into that one`)
      }
      const notify = await this.followers(trx, id)
      await sql`insert into idea_votes (idea_id, user_id, created_at)
        select ${into.id}, user_id, created_at from idea_votes where idea_id = ${id}
        on conflict (idea_id, user_id) do nothing`.execute(trx)
      await trx.deleteFrom('idea_votes').where('idea_id', '=', id).execute()
      // Whoever watched the duplicate's comments watches the idea it joins.
      await sql`insert into thread_notification_levels (user_id, thread_id, level, reason, created_at)
        select l.user_id, t.thread_id, 'watching', 'idea', l.created_at
        from thread_notification_levels l
        join ideas f on f.thread_id = l.thread_id and f.id = ${id}
        join ideas t on t.id = ${into.id} and t.thread_id is not null
        where l.level = 'watching'
        on conflict (user_id, thread_id) do nothing`.execute(trx)
      // Holding the target's row lock, the recount is exact: no vote can land meanwhile.
      const { vote_count: votes } = await trx
        .updateTable('ideas')
        .set({ vote_count: sql<number>`(select count(*) from idea_votes where idea_id = ${into.id})`, updated_at: sql<Date>`now()` as unknown as Date })
        .where('id', '=', into.id)
        .returning('vote_count')
        .executeTakeFirstOrThrow()
      await trx
        .updateTable('ideas')
        .set({ merged_into_id: into.id, merged_at: sql<Date>`now()` as unknown as Date, vote_count: 0, trending_score: 0, updated_at: sql<Date>`now()` as unknown as Date })
        .where('id', '=', id)
        .execute()
      await trx.updateTable('ideas').set({ merged_into_id: into.id }).where('merged_into_id', '=', id).execute()
      await logStaffAction(trx, { actorId: actor.id, action: 'idea.merge', target: { type: 'idea', id }, reason: input.note, details: { into: into.id } })
      const rows = await this.notifications.create(
        trx,
        notify.map((userId) => ({
          userId,
          kind: 'idea.merged',
          actorId: actor.id,
          url: ideaUrl(into.id),
          text: `"${from.title}" was merged into "${into.title}"; your vote and follow moved with it.`,
          payload: { ideaId: id, intoId: into.id },
        })),
      )
      await this.outbox.emitMany(trx, [
        { type: 'idea.merged', data: { ideaId: id, intoId: into.id, url: ideaUrl(into.id) }, channels: ['ideas', `idea:${id}`] },
        { type: 'idea.voted', data: { ideaId: into.id, votes }, channels: ['ideas', `idea:${into.id}`] },
      ])
      return { rows, votes, into }
    })
    return { ideaId: id, intoId: into.id, votes, notified: rows.length }
  }

  /** Ideas as lists show them (board, similar ideas, roadmap), merged ones left out. */
  private listed() {
    return this.db
      .selectFrom('ideas')
      .leftJoin('users', 'users.id', 'ideas.author_id')
      .select([
        'ideas.id',
        'ideas.title',
        'ideas.excerpt',
        'ideas.tags',
        'ideas.status',
        'ideas.vote_count',
        'ideas.created_at',
        'users.username as author_username',
      ])
      .where('ideas.merged_into_id', 'is', null)
  }

  /** The roadmap's three columns. */
  async roadmap() {
    const base = this.listed()
    const [planned, inProgress, done] = await Promise.all([
      base.where('ideas.status', '=', 'planned').orderBy('ideas.vote_count', 'desc').orderBy('ideas.id', 'desc').limit(50).execute(),
      base.where('ideas.status', '=', 'in_progress').orderBy('ideas.vote_count', 'desc').orderBy('ideas.id', 'desc').limit(50).execute(),
      base
        .where('ideas.status', '=', 'done')
        .where('ideas.done_at', '>', sql<Date>`now() - make_interval(days => ${ROADMAP_DONE_DAYS})`)
        .orderBy('ideas.done_at', 'desc')
        .limit(50)
        .execute(),
    ])
    return {
      planned: planned.map((r) => this.summary(r)),
      inProgress: inProgress.map((r) => this.summary(r)),
      done: done.map((r) => this.summary(r)),
      doneDays: ROADMAP_DONE_DAYS,
    }
  }

  /** Done ideas with their release notes, newest first. */
  async changelog(limit = 50) {
    const rows = await this.db
      .selectFrom('ideas')
      .select(['id', 'title', 'tags', 'vote_count', 'done_at', 'release_note_md', 'release_note_html'])
      .where('status', '=', 'done')
      .where('merged_into_id', 'is', null)
      .orderBy('done_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute()
    return rows.map((r) => ({
      id: r.id,
      title: r.title,
      tags: r.tags,
      votes: r.vote_count,
      doneAt: r.done_at ?? new Date(0),
      releaseNoteHtml: r.release_note_html ?? '',
      releaseNoteText: markdownToText(r.release_note_md ?? '', 500),
      url: ideaUrl(r.id),
    }))
  }

  /**
   * Recomputes trending scores from the last 7 days of votes (an index-only range scan,
   * float arithmetic), then writes the changed ones in small batches so voters, who lock
   * an idea's row to count their vote, never wait more than a moment. Scores order the
   * trending board; the counts shown never come from them.
   */
  async refreshTrending(): Promise<number> {
    const { rows } = await sql<{ id: number; score: number }>`
      with recent as (
        select idea_id, sum(exp((extract(epoch from created_at)::float8 - extract(epoch from now())::float8) * ${Math.LN2 / TRENDING_HALF_LIFE_S})) as score
        from idea_votes where created_at > now() - interval '7 days' group by idea_id
      )
      select ideas.id, coalesce(recent.score, 0) as score
      from ideas left join recent on recent.idea_id = ideas.id
      where ideas.merged_into_id is null and ideas.trending_score is distinct from coalesce(recent.score, 0)`.execute(this.db)
    for (let i = 0; i < rows.length; i += TRENDING_BATCH) {
      const batch = rows.slice(i, i + TRENDING_BATCH)
      await sql`update ideas set trending_score = v.score
        from (select unnest(${batch.map((r) => r.id)}::bigint[]) as id, unnest(${batch.map((r) => r.score)}::float8[]) as score) v
        where ideas.id = v.id`.execute(this.db)
    }
    this.trendingRefreshedAt = Date.now()
    return rows.length
  }

  private refreshTrendingIfStale(): void {
    if (Date.now() - this.trendingRefreshedAt < TRENDING_REFRESH_MS) return
    // Marked before it runs, so one slow refresh is not started again by every request.
    this.trendingRefreshedAt = Date.now()
    this.refreshTrending().catch(() => {
      this.trendingRefreshedAt = 0
    })
  }

  /** The per-trust-level open-vote limits, or null when off (the default). */
  async voteLimits(): Promise<VoteLimits> {
    if (this.voteLimitsCache && Date.now() - this.voteLimitsCache.at < SETTINGS_TTL_MS) return this.voteLimitsCache.value
    const row = await this.db.selectFrom('community_settings').select('value').where('key', '=', VOTE_LIMITS_KEY).executeTakeFirst()
    const parsed = VoteLimits.safeParse(row?.value ?? null)
    const value = parsed.success ? parsed.data : null
    this.voteLimitsCache = { value, at: Date.now() }
    return value
  }

  /** Sets (or with null turns off) the open-vote limits; admins only, logged. */
  async setVoteLimits(actor: Actor, raw: unknown): Promise<VoteLimits> {
    if (!isAdmin(viewerOf(actor))) throw new Forbidden('Only admins change community settings')
    const value = parse(VoteLimits, raw)
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('community_settings')
        .values({ key: VOTE_LIMITS_KEY, value: JSON.stringify(value), updated_at: sql<Date>`now()` as unknown as Date })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(value), updated_at: sql<Date>`now()` as unknown as Date }))
        .execute()
      await logStaffAction(trx, { actorId: actor.id, action: 'settings.vote_limits', target: { type: 'settings', id: VOTE_LIMITS_KEY }, details: { value } })
    })
    this.voteLimitsCache = { value, at: Date.now() }
    return value
  }

  /** Ideas a member could link a beta program to (by id); NotFound when missing or merged. */
  async assertLinkable(id: number, trx?: DbOrTrx): Promise<{ id: number; title: string }> {
    const row = await (trx ?? this.db).selectFrom('ideas').select(['id', 'title', 'merged_into_id']).where('id', '=', id).executeTakeFirst()
    if (!row || row.merged_into_id) throw Invalid.field('ideaId', `There is no idea #${id} to link`)
    return { id: row.id, title: row.title }
  }

  private async votedAmong(userId: number, ids: number[]): Promise<Set<number>> {
    if (ids.length === 0) return new Set()
    const rows = await this.db.selectFrom('idea_votes').select('idea_id').where('user_id', '=', userId).where('idea_id', 'in', ids).execute()
    return new Set(rows.map((r) => r.idea_id))
  }


  private summary(r: {
    id: number
    title: string
    excerpt: string
    tags: string[]
    status: IdeaStatus
    vote_count: number
    created_at: Date
    author_username: string | null
  }): IdeaSummary {
    return {
      id: r.id,
      title: r.title,
      excerpt: r.excerpt,
      tags: r.tags,
      status: r.status,
      statusLabel: STATUS_LABELS[r.status],
      votes: r.vote_count,
      author: r.author_username,
      createdAt: r.created_at,
      url: ideaUrl(r.id),
      closed: CLOSED_STATUSES.includes(r.status),
    }
  }
}
