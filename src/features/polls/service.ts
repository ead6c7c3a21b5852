import { sql } from 'kysely'
import { z } from 'zod'
import type { Db, DbOrTrx, Trx } from '../../core/db.js'
import type { PollKind, PollResults } from '../../core/db-types.js'
import { Conflict, Invalid, NotFound, parse } from '../../core/errors.js'
import { can, canModerate, ensure, refusal, type Viewer } from '../../core/guard.js'
import type { Outbox } from '../../core/outbox.js'
import type { CommunitySettings } from '../../core/settings.js'
import type { DiscussionService, PostExtras } from '../discussions/service.js'
import { logStaffAction } from '../moderation/log.js'
import { instantRunoff } from './irv.js'
import { type PollDefinition, parsePolls, PollSyntaxError, pollShape } from './parse.js'

/** Voters' names shown per option of a public poll. */
const PUBLIC_NAMES_PER_OPTION = 20

const KIND_LABELS: Record<PollKind, string> = { single: 'Choose one', multiple: 'Choose several', ranked: 'Rank your choices', number: 'Pick a number' }
const RESULTS_LABELS: Record<PollResults, string> = {
  always: 'Results are shown to everyone.',
  voted: 'Results are shown once you have voted.',
  closed: 'Results are shown when the poll closes.',
  staff: 'Results are shown to staff only.',
}

/** What a ballot sends: option ids, most preferred first for a ranked poll. */
export const VoteInput = z.object({ choices: z.array(z.coerce.number().int().positive()).max(50) })

/** A poll row with its options, counts, the viewer's ballot and (ranked) every ballot: one query for many posts. */
interface PollRow {
  id: number
  post_id: number
  thread_id: number
  position: number
  title: string
  kind: PollKind
  min_choices: number
  max_choices: number
  results: PollResults
  public: boolean
  closes_at: Date | null
  closed_at: Date | null
  min_trust_level: number
  idea_id: number | null
  voters: number
  options: { id: number; label: string; votes: number; names: string[] | null }[]
  mine: number[]
  ballots: number[][] | null
}

/** One option as the page shows it. */
export interface PollOptionView {
  id: number
  label: string
  votes: number
  percent: number
  chosen: boolean
  /** The viewer's rank for it (ranked polls). */
  rank: number | null
  winner: boolean
  /** Public polls, when results show: who chose it (first preference for ranked). */
  names: string[]
  more: number
}

/** One poll as a post shows it to one viewer. */
export interface PollView {
  id: number
  postId: number
  threadId: number
  title: string
  kind: PollKind
  kindLabel: string
  single: boolean
  multiple: boolean
  ranked: boolean
  /** A number scale (named so: `number` is a view helper). */
  numeric: boolean
  min: number
  max: number
  public: boolean
  closed: boolean
  closesAt: Date | null
  resultsRule: string
  resultsVisible: boolean
  /** Why results are hidden from this viewer right now. */
  resultsHiddenNote: string | null
  voters: number
  voted: boolean
  canVote: boolean
  voteBlock: string | null
  canClose: boolean
  options: PollOptionView[]
  /** Ranked: the instant-runoff rounds, each with its counts and who was eliminated. */
  rounds: { round: number; exhausted: number; rows: { label: string; votes: number; percent: number; eliminated: boolean }[]; eliminated: string | null }[]
  winner: string | null
  /** Number polls: the mean of the votes. */
  average: string | null
  ideaId: number | null
  /** Numbers 1..n for the ranked form's selects. */
  ranks: number[]
  /** Ranked: the viewer's ballot, first preference first. */
  myRanking: { rank: number; label: string }[]
}

/** Where a poll lives, for the guard. */
interface PollPlace {
  categoryId: number
  authorId: number
  moderator: boolean
}

function isClosed(p: { closed_at: Date | null; closes_at: Date | null }, now = new Date()): boolean {
  return p.closed_at !== null || (p.closes_at !== null && p.closes_at <= now)
}

/** Whether this viewer sees the poll's results now (pure). */
export function resultsVisible(rule: PollResults, s: { voted: boolean; closed: boolean; moderator: boolean }): boolean {
  if (s.moderator) return true
  switch (rule) {
    case 'always':
      return true
    case 'voted':
      return s.voted || s.closed
    case 'closed':
      return s.closed
    case 'staff':
      return false
  }
}

const pct = (n: number, of: number) => (of > 0 ? Math.round((n * 1000) / of) / 10 : 0)

/**
 * Polls written in posts as ```poll blocks: read when a post is published or edited, shown
 * under the post with a vote form, voted on exactly under concurrency. A member's ballot is
 * one `poll_ballots` row (its lock orders that member's concurrent votes) and its choices in
 * `poll_votes`; counts are derived from those rows when read, so they cannot drift.
 */
export class PollService implements PostExtras {
  private discussions!: DiscussionService

  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox,
    private readonly settings: CommunitySettings,
  ) {}

  /** The discussions, which call this service back for posts' polls (built after it). */
  attach(discussions: DiscussionService): void {
    this.discussions = discussions
  }

  /** Polls defined in a text (none without a fence naming poll: most posts cost one test). */
  private definitions(body: string): PollDefinition[] {
    if (!/(```|~~~)\s*poll/i.test(body)) return []
    try {
      return parsePolls(body)
    } catch (err) {
      if (err instanceof PollSyntaxError) throw Invalid.field('body', err.message)
      throw err
    }
  }

  /**
   * Refuses a post whose poll blocks do not parse, before anything is written or screened;
   * a new post's polls may not close in the past (an edit may close one that way).
   */
  check(body: string, options: { isNew: boolean }): void {
    const defs = this.definitions(body)
    if (!options.isNew) return
    const now = new Date()
    for (const [i, d] of defs.entries()) {
      if (d.closesAt && d.closesAt <= now) throw Invalid.field('body', `Poll ${i + 1}: its close date has already passed`)
    }
  }

  private async checkIdeas(trx: DbOrTrx, defs: PollDefinition[], staff: boolean): Promise<void> {
    for (const [i, d] of defs.entries()) {
      if (d.ideaId === null) continue
      if (!staff) throw Invalid.field('body', `Poll ${i + 1}: only staff link a poll to an idea`)
      const idea = await trx.selectFrom('ideas').select('id').where('id', '=', d.ideaId).executeTakeFirst()
      if (!idea) throw Invalid.field('body', `Poll ${i + 1}: there is no idea #${d.ideaId}`)
    }
  }

  private async insertPoll(trx: Trx, post: { postId: number; threadId: number }, position: number, d: PollDefinition): Promise<void> {
    const poll = await trx
      .insertInto('polls')
      .values({
        post_id: post.postId, thread_id: post.threadId, position, title: d.title, kind: d.kind, min_choices: d.min, max_choices: d.max,
        results: d.results, public: d.public, closes_at: d.closesAt, min_trust_level: d.minTrustLevel, idea_id: d.ideaId,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    await trx.insertInto('poll_options').values(d.options.map((label, i) => ({ poll_id: poll.id, position: i, label }))).execute()
  }

  /**
   * In the publishing transaction of a new post: its polls. (A held post is published on
   * approval, perhaps after its poll's close date: the poll is then created closed.)
   */
  async published(trx: Trx, post: { postId: number; threadId: number; body: string; staff: boolean }): Promise<void> {
    const defs = this.definitions(post.body)
    if (defs.length === 0) return
    await this.checkIdeas(trx, defs, post.staff)
    for (const [i, d] of defs.entries()) await this.insertPoll(trx, post, i, d)
    await trx.updateTable('posts').set({ has_poll: true }).where('id', '=', post.postId).execute()
  }

  /**
   * In an edit's transaction: the post's polls follow its text, matched by position. A poll
   * whose kind and options are unchanged keeps its votes (its title, close date, results
   * rule, trust level and idea may change; a secret poll with votes never becomes public,
   * which would reveal its voters). A poll without votes may change entirely. Once a poll has
   * votes its options are fixed: the edit is refused with a message saying so. Removing a
   * block deletes that poll with its votes.
   */
  async edited(trx: Trx, post: { postId: number; threadId: number; body: string; staff: boolean }): Promise<void> {
    const defs = this.definitions(post.body)
    const existing = await trx
      .selectFrom('polls as p')
      .select(['p.id', 'p.position', 'p.kind', 'p.min_choices', 'p.max_choices', 'p.public', 'p.idea_id'])
      .select(sql<string[]>`array(select o.label from poll_options o where o.poll_id = p.id order by o.position)`.as('labels'))
      .select(sql<number>`(select count(*) from poll_ballots b where b.poll_id = p.id)::int`.as('voters'))
      .where('p.post_id', '=', post.postId)
      .orderBy('p.position')
      // Votes take a share lock on the poll row: none lands between this check and the change.
      .forUpdate()
      .execute()
    if (defs.length === 0 && existing.length === 0) return
    await this.checkIdeas(trx, defs.filter((d, i) => d.ideaId !== null && d.ideaId !== existing[i]?.idea_id), post.staff)
    for (let i = 0; i < Math.max(defs.length, existing.length); i++) {
      const d = defs[i]
      const old = existing[i]
      if (old && !d) {
        await trx.deleteFrom('polls').where('id', '=', old.id).execute()
        continue
      }
      if (!old) {
        await this.insertPoll(trx, post, i, d!)
        continue
      }
      const same = pollShape({ kind: old.kind, options: old.labels, min: old.min_choices, max: old.max_choices }) === pollShape(d!)
      if (!same) {
        if (old.voters > 0) {
          throw Invalid.field('body', `Poll ${i + 1} already has votes, so its type and options cannot change. Change only its title, close date, results or trust level, or remove the block to delete the poll and its votes.`)
        }
        await trx.deleteFrom('polls').where('id', '=', old.id).execute()
        await this.insertPoll(trx, post, i, d!)
        continue
      }
      if (d!.public && !old.public && old.voters > 0) {
        throw Invalid.field('body', `Poll ${i + 1} was secret when people voted, so it cannot become public`)
      }
      await trx
        .updateTable('polls')
        .set({
          title: d!.title, min_choices: d!.min, max_choices: d!.max, results: d!.results, public: d!.public, closes_at: d!.closesAt,
          min_trust_level: d!.minTrustLevel, idea_id: d!.ideaId, updated_at: new Date(),
        })
        .where('id', '=', old.id)
        .execute()
    }
    await trx.updateTable('posts').set({ has_poll: defs.length > 0 }).where('id', '=', post.postId).execute()
  }

  /**
   * Every poll of these posts with options, counts, the viewer's ballot and (ranked polls) the
   * ballots for the runoff, in one query: the thread page calls it once, and only when a post
   * on the page has a poll.
   */
  private async rows(trx: DbOrTrx, where: { postIds?: number[]; pollIds?: number[]; ideaId?: number }, userId: number): Promise<PollRow[]> {
    const filter = where.postIds
      ? sql`p.post_id = any(${where.postIds}::bigint[])`
      : where.pollIds
        ? sql`p.id = any(${where.pollIds}::bigint[])`
        : sql`p.idea_id = ${where.ideaId ?? 0}`
    const { rows } = await sql<PollRow>`
      select p.id, p.post_id, p.thread_id, p.position, p.title, p.kind, p.min_choices, p.max_choices, p.results, p.public,
        p.closes_at, p.closed_at, p.min_trust_level, p.idea_id,
        (select count(*) from poll_ballots b where b.poll_id = p.id)::int as voters,
        (select coalesce(json_agg(json_build_object(
            'id', o.id, 'label', o.label,
            'votes', (select count(*) from poll_votes v where v.option_id = o.id and (p.kind <> 'ranked' or v.rank = 1)),
            'names', case when p.public then (
              select json_agg(u.username order by v.created_at) from (
                select v.user_id, v.created_at from poll_votes v where v.option_id = o.id and (p.kind <> 'ranked' or v.rank = 1)
                order by v.created_at limit ${PUBLIC_NAMES_PER_OPTION}) v join users u on u.id = v.user_id) end
          ) order by o.position), '[]') from poll_options o where o.poll_id = p.id) as options,
        (select coalesce(json_agg(v.option_id order by v.rank nulls last, v.option_id), '[]') from poll_votes v where v.poll_id = p.id and v.user_id = ${userId}) as mine,
        case when p.kind = 'ranked' then (
          select coalesce(json_agg(b.choices), '[]') from (
            select json_agg(v.option_id order by v.rank) as choices from poll_votes v where v.poll_id = p.id group by v.user_id) b
        ) end as ballots
      from polls p
      where ${filter}
      order by p.post_id, p.position`.execute(trx)
    return rows.map((r) => ({ ...r, id: Number(r.id), post_id: Number(r.post_id), thread_id: Number(r.thread_id), idea_id: r.idea_id === null ? null : Number(r.idea_id) }))
  }

  /** One poll as this viewer sees it (pure but for the clock). */
  private view(r: PollRow, viewer: Viewer, place: PollPlace, now = new Date()): PollView {
    const closed = isClosed(r, now)
    const mine = r.mine.map(Number)
    const voted = mine.length > 0
    const visible = resultsVisible(r.results, { voted, closed, moderator: place.moderator })
    const block = viewer.user ? null : 'Log in to vote'
    const refusal = viewer.user ? this.voteRefusal(viewer, r, closed) : block
    const options = r.options.map((o) => ({ ...o, id: Number(o.id), votes: visible ? Number(o.votes) : 0 }))
    // Multiple choice: the share of voters who chose each; the other kinds: the share of votes.
    const base = r.kind === 'multiple' ? r.voters : options.reduce((n, o) => n + o.votes, 0)
    let rounds: PollView['rounds'] = []
    let winner: string | null = null
    const labelOf = new Map(options.map((o) => [o.id, o.label]))
    if (visible && r.kind === 'ranked' && r.ballots) {
      const result = instantRunoff(options.map((o) => o.id), r.ballots.map((b) => b.map(Number)))
      rounds = result.rounds.map((round, i) => {
        const counting = [...round.counts.values()].reduce((a, b) => a + b, 0)
        return {
          round: i + 1,
          exhausted: round.exhausted,
          rows: [...round.counts].map(([id, votes]) => ({ label: labelOf.get(id)!, votes, percent: pct(votes, counting), eliminated: id === round.eliminated })),
          eliminated: round.eliminated === null ? null : labelOf.get(round.eliminated)!,
        }
      })
      winner = result.winner === null ? null : labelOf.get(result.winner)!
    }
    let average: string | null = null
    if (visible && r.kind === 'number' && base > 0) {
      average = (options.reduce((n, o) => n + Number(o.label) * o.votes, 0) / base).toFixed(1)
    }
    return {
      id: r.id,
      postId: r.post_id,
      threadId: r.thread_id,
      title: r.title,
      kind: r.kind,
      kindLabel: r.kind === 'multiple' ? (r.min_choices === r.max_choices ? `Choose ${r.min_choices}` : `Choose ${r.min_choices} to ${r.max_choices}`) : KIND_LABELS[r.kind],
      single: r.kind === 'single',
      multiple: r.kind === 'multiple',
      ranked: r.kind === 'ranked',
      numeric: r.kind === 'number',
      min: r.min_choices,
      max: r.max_choices,
      public: r.public,
      closed,
      closesAt: r.closed_at ?? r.closes_at,
      resultsRule: RESULTS_LABELS[r.results],
      resultsVisible: visible,
      resultsHiddenNote: visible ? null : r.results === 'voted' ? 'Vote to see the results.' : r.results === 'closed' ? 'Results will show when the poll closes.' : 'Only staff see the results of this poll.',
      voters: r.voters,
      voted,
      canVote: refusal === null,
      voteBlock: refusal,
      canClose: !closed && !!viewer.user && can(viewer, 'closePoll', { categoryId: place.categoryId, poll: { author_id: place.authorId } }),
      options: options.map((o) => {
        const names = visible && r.public ? (o.names ?? []) : []
        return {
          id: o.id, label: o.label, votes: o.votes, percent: pct(o.votes, base), chosen: mine.includes(o.id),
          rank: r.kind === 'ranked' && mine.includes(o.id) ? mine.indexOf(o.id) + 1 : null,
          winner: winner === o.label, names, more: Math.max(0, o.votes - names.length),
        }
      }),
      rounds,
      winner,
      average,
      ideaId: r.idea_id,
      ranks: options.map((_, i) => i + 1),
      myRanking: r.kind === 'ranked' ? mine.map((id, i) => ({ rank: i + 1, label: labelOf.get(id) ?? '' })) : [],
    }
  }

  // Why this viewer may not vote, as the poll says it (the guard's reason, shorter for trust).
  private voteRefusal(viewer: Viewer, r: { min_trust_level: number }, closed: boolean): string | null {
    if (!viewer.user) return 'Log in to vote'
    const why = refusal(viewer, 'votePoll', { poll: { min_trust_level: r.min_trust_level, closed } })
    if (!why) return null
    if (!closed && viewer.user.trust_level < r.min_trust_level && why.message.startsWith('This poll is open to')) return `Open to members at trust level ${r.min_trust_level} and above`
    return why.message
  }

  /** The polls of a page's posts, by post id (the thread page: one query, only when a post has one). */
  async forPosts(viewer: Viewer, posts: { id: number; author_id: number }[], categoryId: number): Promise<Map<number, PollView[]>> {
    const byPost = new Map<number, PollView[]>()
    if (posts.length === 0) return byPost
    const authors = new Map(posts.map((p) => [Number(p.id), Number(p.author_id)]))
    const moderator = canModerate(viewer, categoryId)
    for (const r of await this.rows(this.db, { postIds: [...authors.keys()] }, viewer.user?.id ?? 0)) {
      const list = byPost.get(r.post_id) ?? []
      list.push(this.view(r, viewer, { categoryId, authorId: authors.get(r.post_id)!, moderator }))
      byPost.set(r.post_id, list)
    }
    return byPost
  }

  /** A poll the viewer may see (its post visible to them), with where it lives. */
  private async visible(viewer: Viewer, pollId: number, trx?: DbOrTrx) {
    const poll = await (trx ?? this.db).selectFrom('polls').select(['id', 'post_id', 'thread_id', 'kind', 'min_choices', 'max_choices', 'closes_at', 'closed_at', 'min_trust_level']).where('id', '=', pollId).executeTakeFirst()
    if (!poll) throw new NotFound('No such poll')
    const { post, category, moderator } = await this.discussions.visiblePost(viewer, Number(poll.post_id), trx).catch(() => {
      throw new NotFound('No such poll')
    })
    if (post.deleted_at) throw new NotFound('No such poll')
    return { poll: { ...poll, id: Number(poll.id), post_id: Number(poll.post_id), thread_id: Number(poll.thread_id) }, place: { categoryId: category.id, authorId: post.author_id, moderator } }
  }

  /** One poll as this viewer sees it (the fragment, its page, the API). */
  async get(viewer: Viewer, pollId: number): Promise<PollView> {
    const { place } = await this.visible(viewer, pollId)
    return this.viewOf(viewer, pollId, place)
  }

  // The poll's view for a viewer whose access was already checked (after a vote, a close).
  private async viewOf(viewer: Viewer, pollId: number, place: PollPlace): Promise<PollView> {
    const [row] = await this.rows(this.db, { pollIds: [pollId] }, viewer.user?.id ?? 0)
    if (!row) throw new NotFound('No such poll')
    return this.view(row, viewer, place)
  }

  /** Checks a ballot against the poll's kind and options: option ids in order of preference. */
  private ballot(poll: { kind: PollKind; min_choices: number; max_choices: number }, optionIds: number[], raw: unknown): number[] {
    const { choices } = parse(VoteInput, raw)
    if (new Set(choices).size !== choices.length) throw Invalid.field('choices', 'Choose each option at most once')
    if (choices.some((c) => !optionIds.includes(c))) throw Invalid.field('choices', 'Choose among this poll’s options')
    if (choices.length === 0) throw Invalid.field('choices', poll.kind === 'ranked' ? 'Rank at least one option' : 'Choose an option')
    if ((poll.kind === 'single' || poll.kind === 'number') && choices.length !== 1) throw Invalid.field('choices', 'Choose one option')
    if (poll.kind === 'multiple' && (choices.length < poll.min_choices || choices.length > poll.max_choices)) {
      throw Invalid.field('choices', poll.min_choices === poll.max_choices ? `Choose ${poll.min_choices} options` : `Choose between ${poll.min_choices} and ${poll.max_choices} options`)
    }
    return choices
  }

  /**
   * Votes, or changes the member's vote, until the poll closes. The poll row is read under a
   * share lock (closing waits for votes in flight, and no vote lands after a close), the
   * member's ballot row is upserted (its lock orders the member's own concurrent votes), and
   * its choices replaced; all in one transaction, so counts derived from the rows are exact.
   */
  async vote(viewer: Viewer, pollId: number, raw: unknown): Promise<PollView> {
    const { poll, place } = await this.visible(viewer, pollId)
    const s = await this.settings.all()
    ensure(viewer, 'votePoll', { poll: { min_trust_level: poll.min_trust_level, closed: isClosed(poll) } }, { settings: s })
    const options = await this.db.selectFrom('poll_options').select('id').where('poll_id', '=', pollId).orderBy('position').execute()
    const choices = this.ballot(poll, options.map((o) => Number(o.id)), parseVote(raw))
    const userId = viewer.user!.id
    await this.db.transaction().execute(async (trx) => {
      const open = await trx
        .selectFrom('polls')
        .select('id')
        .where('id', '=', pollId)
        .where('closed_at', 'is', null)
        .where((eb) => eb.or([eb('closes_at', 'is', null), eb('closes_at', '>', sql<Date>`now()`)]))
        .forShare()
        .executeTakeFirst()
      if (!open) throw new Conflict('This poll has closed')
      await trx
        .insertInto('poll_ballots')
        .values({ poll_id: pollId, user_id: userId })
        .onConflict((oc) => oc.columns(['poll_id', 'user_id']).doUpdateSet({ updated_at: sql`now()` }))
        .execute()
      await trx.deleteFrom('poll_votes').where('poll_id', '=', pollId).where('user_id', '=', userId).execute()
      await trx
        .insertInto('poll_votes')
        .values(choices.map((optionId, i) => ({ poll_id: pollId, user_id: userId, option_id: optionId, rank: poll.kind === 'ranked' ? i + 1 : null })))
        .execute()
      await this.changed(trx, poll, place.categoryId)
      await this.outbox.emit(trx, 'poll.voted', { pollId, userId })
    })
    return this.viewOf(viewer, pollId, place)
  }

  /** Takes the member's vote back (until the poll closes). */
  async unvote(viewer: Viewer, pollId: number): Promise<PollView> {
    const { poll, place } = await this.visible(viewer, pollId)
    const s = await this.settings.all()
    ensure(viewer, 'votePoll', { poll: { min_trust_level: 0, closed: isClosed(poll) } }, { settings: s })
    await this.db.transaction().execute(async (trx) => {
      const open = await trx.selectFrom('polls').select('id').where('id', '=', pollId).where('closed_at', 'is', null)
        .where((eb) => eb.or([eb('closes_at', 'is', null), eb('closes_at', '>', sql<Date>`now()`)])).forShare().executeTakeFirst()
      if (!open) throw new Conflict('This poll has closed')
      const gone = await trx.deleteFrom('poll_ballots').where('poll_id', '=', pollId).where('user_id', '=', viewer.user!.id).executeTakeFirst()
      if (Number(gone.numDeletedRows) > 0) await this.changed(trx, poll, place.categoryId)
    })
    return this.viewOf(viewer, pollId, place)
  }

  /** Closes a poll now (its author, or a moderator of its category, logged when not the author). */
  async close(viewer: Viewer, pollId: number): Promise<PollView> {
    const { poll, place } = await this.visible(viewer, pollId)
    ensure(viewer, 'closePoll', { categoryId: place.categoryId, poll: { author_id: place.authorId } })
    await this.db.transaction().execute(async (trx) => {
      const done = await trx.updateTable('polls').set({ closed_at: new Date(), updated_at: new Date() }).where('id', '=', pollId).where('closed_at', 'is', null).executeTakeFirst()
      if (Number(done.numUpdatedRows) === 0) return
      if (place.authorId !== viewer.user!.id) {
        await logStaffAction(trx, { actorId: viewer.user!.id, action: 'poll.close', target: { type: 'post', id: poll.post_id }, categoryId: place.categoryId, details: { pollId, threadId: poll.thread_id } })
      }
      await this.changed(trx, poll, place.categoryId)
    })
    return this.viewOf(viewer, pollId, place)
  }

  private async changed(trx: Trx, poll: { id: number; post_id: number; thread_id: number }, categoryId: number): Promise<void> {
    const { n } = await trx.selectFrom('poll_ballots').select((eb) => eb.fn.countAll<number>().as('n')).where('poll_id', '=', poll.id).executeTakeFirstOrThrow()
    await this.outbox.emit(trx, 'poll.changed', { pollId: poll.id, postId: poll.post_id, threadId: poll.thread_id, voters: Number(n) }, { channels: [`thread:${poll.thread_id}`], categoryId })
  }

  /** Polls linked to an idea that this viewer may see, for the idea's page. */
  async forIdea(viewer: Viewer, ideaId: number): Promise<(PollView & { url: string })[]> {
    const rows = await this.rows(this.db, { ideaId }, viewer.user?.id ?? 0)
    const shown: (PollView & { url: string })[] = []
    for (const r of rows) {
      const found = await this.visible(viewer, r.id).catch(() => null)
      if (!found) continue
      shown.push({ ...this.view(r, viewer, found.place), url: await this.discussions.postUrl(viewer, r.post_id) })
    }
    return shown
  }

}

/**
 * A ballot from a form or JSON: `{choices: [...]}`, or a form's `choice` (one or several
 * values) or `rank_<optionId>` fields (a ranked form: the number each option was given).
 */
export function parseVote(raw: unknown): { choices: unknown[] } {
  if (!raw || typeof raw !== 'object') return { choices: [] }
  const body = raw as Record<string, unknown>
  if (Array.isArray(body.choices)) return { choices: body.choices }
  const ranks = Object.entries(body)
    .filter(([k, v]) => /^rank_\d+$/.test(k) && typeof v === 'string' && v !== '')
    .map(([k, v]) => ({ id: Number(k.slice(5)), rank: Number(v) }))
  if (ranks.length > 0) {
    if (new Set(ranks.map((r) => r.rank)).size !== ranks.length) throw Invalid.field('choices', 'Give each rank to one option only')
    return { choices: ranks.sort((a, b) => a.rank - b.rank).map((r) => r.id) }
  }
  const choice = body.choice
  return { choices: choice === undefined ? [] : Array.isArray(choice) ? choice : [choice] }
}
