import { type QueryCreator, type RawBuilder, type Selectable, sql } from 'kysely'
import type { LookedUpSession, PendingViewer, SessionUser } from '../../core/auth/sessions.js'
import { decodeCursor, encodeCursor } from '../../core/cursor.js'
import { type Db, type DbOrTrx, prepared, preparedTemplate, type Trx } from '../../core/db.js'
import type { Database, NotificationLevel, ThreadsTable } from '../../core/db-types.js'
import { Forbidden, Invalid, NotFound, parse } from '../../core/errors.js'
import type { Outbox } from '../../core/outbox.js'
import { markdownToText, renderMarkdown } from '../../core/markdown.js'
import { lf } from '../../core/newlines.js'
import { textDiff } from './revision-diff.js'
import type { CommunitySettings, CommunitySettingsValues } from '../../core/settings.js'
import { logStaffAction, type StaffActionCode } from '../moderation/log.js'
import type { NewNotification, NotificationService } from '../notifications/service.js'
import { type Category, categoryColumnsOf, categoryFromRow, type CategoryService, IDEA_COMMENTS_CATEGORY, slugify } from './categories.js'
import { can, canModerate, canSeeCategory, ensure, isStaff, postingBlock, type Viewer } from '../../core/guard.js'
import type { PollView } from '../polls/service.js'
import { EditInput, LatestCursor, ReadingListQuery, ReplyInput, ScoreCursor, ThreadCursor, ThreadInput, ThreadPatchInput, TimeCursor } from './schemas.js'

/** Where a request came from, for the spam checker (features/spam). */
export interface RequestMeta {
  ip?: string | null
  userAgent?: string | null
}

/** A new post as the post gate sees it, before anything is written. */
export interface PostDraft {
  kind: 'thread' | 'reply'
  categoryId: number
  threadId: number | null
  parentId: number | null
  title: string | null
  body: string
  html: string
  meta: RequestMeta
}

/** What the gate decided: the outcome, the score and its reasons, and the text to publish (watched words may replace parts). */
export interface Screening {
  outcome: 'publish' | 'flag' | 'hold'
  score: number
  reasons: string[]
  title: string | null
  body: string
  /** The text's simhash (null when too short), and the domains it links to. */
  fingerprint: string | null
  domains: string[]
}

/** A post held for approval: where its author finds it. */
export interface HeldRef {
  id: number
  url: string
}

/**
 * What the post gate reads for a draft, for a caller to read along in a statement of its own
 * (one round trip less), then hand back to `screen` (see PostGate.readAlong).
 */
export interface GateRead {
  /** Names the shape of the column (preparedTemplate's shape). */
  name: string
  /** The values `column` binds, by slot name. */
  values: Record<string, unknown>
  /** The column (one value, such as jsonb), built from a slot for each of `values` (see preparedTemplate). */
  column(slots: Record<string, unknown>): RawBuilder<unknown>
}

/**
 * The one place new posts are screened (features/spam implements it): before anything is
 * written (`screen`, which throws to refuse), instead of writing (`hold`), and in the
 * transaction that publishes (`published`: fingerprints, link domains, a flag for a look).
 */
export interface PostGate {
  /**
   * `along`: what `readAlong` asked to read, and its value, read in the caller's statement
   * (screen reads it itself when not given, or when given for another draft).
   */
  screen(viewer: Viewer, draft: PostDraft, along?: { read: GateRead; value: unknown }): Promise<Screening>
  /**
   * What screening this viewer's draft will read, as a column a caller may add to a statement
   * it runs first (saving a round trip); null when screening reads nothing for this viewer.
   */
  readAlong?(viewer: Viewer, draft: Pick<PostDraft, 'title' | 'body' | 'html'>): Promise<GateRead | null>
  hold(author: SessionUser, draft: Omit<PostDraft, 'html' | 'meta'>, screening: Screening): Promise<HeldRef>
  /**
   * In the publishing transaction. `along`: the part `publishedAlong` gave was written with the
   * post already (published writes the rest).
   */
  published(trx: Trx, post: { postId: number; threadId: number; authorId: number; categoryId: number }, screening: Screening, along?: boolean): Promise<void>
  /**
   * Optional: the part of `published` that needs only the new post's id, as a write the reply's
   * own statement makes (a data-modifying CTE that reads the new post from `post(id)`): that
   * statement takes the thread's row lock, which concurrent replies to the thread wait for, and
   * holds it to the commit, so each statement fewer after it is a shorter wait for them. Empty
   * when there is nothing of the kind to write.
   */
  publishedAlong?(screening: Screening, authorId: number): RawBuilder<unknown>[]
}

/**
 * What another feature keeps in step with a post's text, inside the post's own transactions
 * (features/polls: the ```poll blocks). Declared here, implemented there, so the
 * discussions need not know what a poll is.
 */
export interface PostExtras {
  /** Refuses a text whose blocks do not parse (Invalid on `body`), before anything is written or screened. */
  check(body: string, options: { isNew: boolean }): void
  /** In the publishing transaction of a new post (a held one too, on approval). */
  published(trx: Trx, post: { postId: number; threadId: number; body: string; staff: boolean }): Promise<void>
  /** In an edit's transaction, after the new text is saved. */
  edited(trx: Trx, post: { postId: number; threadId: number; body: string; staff: boolean }): Promise<void>
  /** What the posts of a page show besides their text, by post id; called only for posts marked `has_poll`. */
  forPosts(viewer: Viewer, posts: { id: number; author_id: number }[], categoryId: number): Promise<Map<number, PollView[]>>
}

const NO_EXTRAS: PostExtras = { check: () => {}, published: async () => {}, edited: async () => {}, forPosts: async () => new Map() }

/** The mention notifications of a post, for the members `mentionable` found (less those in `skip`). */
function mentionItems(
  userIds: number[],
  author: SessionUser,
  thread: { id: number; slug: string; title: string },
  postId: number,
  category: Category,
  skip: Set<number>,
): NewNotification[] {
  return userIds
    .filter((id) => !skip.has(id))
    .map((id) => ({
      userId: id,
      kind: 'mention',
      actorId: author.id,
      url: threadUrl(thread, postId),
      text: `${author.username} mentioned you in “${thread.title}”`,
      payload: { threadId: thread.id, postId },
      threadId: thread.id,
      categoryId: category.id,
    }))
}

/** A gate that lets everything through (the CLI's seed, tests of the service alone). */
export const OPEN_GATE: PostGate = {
  screen: async (_viewer, draft) => ({ outcome: 'publish', score: 0, reasons: [], title: draft.title, body: draft.body, fingerprint: null, domains: [] }),
  hold: async () => {
    throw new Error('the open gate holds nothing')
  },
  published: async () => {},
}

/** Replies are indented this deep; deeper ones continue on their own page. */
export const MAX_INDENT = 6
/** Top-level replies (with their whole branches) per thread page. */
export const BRANCHES_PER_PAGE = 20
/** Threads per category page. */
export const THREADS_PER_PAGE = 30
/** Threads per page of a reading list (the home page's Latest, Top, New, Unread). */
export const THREADS_PER_LIST = 25
/** A thread page shows at most this many posts… */
export const POSTS_PER_PAGE = 200
/** …and at most this much post HTML (bytes); the rest is on continuation pages. */
export const PAGE_HTML_BYTES = 1024 * 1024
const MAX_MENTIONS = 10

/** Replies deeper than this (below the page's top) also say whom they answer: on a phone they no longer indent. */
export const FLAT_FROM = 3
/** Participants a thread page names (the rest are counted). */
export const TOP_PARTICIPANTS = 5

/** One of a thread's top participants, as its page shows them. */
export interface Participant {
  id: number
  username: string
  display_name: string | null
  post_count: number
  /** One or two letters for the avatar. */
  initials: string
  /** Which of the avatar colours (0–7), the same for a member everywhere. */
  hue: number
}

/** The initials and colour a member's avatar shows. */
export function participantView(p: { id: number; username: string; display_name: string | null; post_count: number }): Participant {
  const words = (p.display_name?.trim() || p.username).split(/[\s_.-]+/).filter(Boolean)
  const initials = (words.length > 1 ? words[0]![0]! + words[1]![0]! : (words[0] ?? '?').slice(0, 2)).toUpperCase()
  return { id: p.id, username: p.username, display_name: p.display_name, post_count: p.post_count, initials, hue: p.id % 8 }
}

/** What decides a thread page statement's shape (its SQL); its values are `ThreadPageValues`. */
interface ThreadPageShape {
  pending: boolean
  root: boolean
  after: boolean
  cont: boolean
}

interface ThreadPageValues {
  threadId: number
  userId: number
  sessionId: string
  secretHash: Buffer
  after: number
  rootPath: string
  rootEnd: string
  floor: number
  contPath: string
}

/** The thread part of a thread page's statement (JSON: dates are strings). */
interface ThreadHeadJson extends Record<string, unknown> {
  idea_id: number | null
  id: number
  title: string
  slug: string
  category_id: number
  pinned: boolean
  locked: boolean
  reply_count: number
  created_at: string
  deleted_at: string | null
  author_id: number
  author_username: string
  last_read_post_id: number | null
  last_read_post_number: number | null
  read_at: string | null
  view_count: number
  last_post_number: number
  participant_count: number
  participants: { id: number; username: string; display_name: string | null; post_count: number }[]
  muted_ids: number[] | null
  held_here: boolean
  thread_level: NotificationLevel | null
  level_reason: string | null
  category_level: NotificationLevel | null
}

/** One post of a thread page's statement, as its JSON carries it. */
interface PagePostJson {
  id: number
  post_number: number
  parent_id: number | null
  branch_id: number
  depth: number
  path: string
  author_id: number
  body_html: string
  like_count: number
  reply_count: number
  revision_count: number
  created_at: string
  edited_at: string | null
  deleted_at: string | null
  hidden_at: string | null
  has_poll: boolean
  author_username: string
  author_display_name: string | null
  author_trust_level: number
  author_avatar: string | null
  liked_by: number | null
  bytes_through: number
  bytes: number
  top_count?: number
  last_branch?: number | null
}

type PagePost = Omit<PagePostJson, 'created_at' | 'edited_at' | 'deleted_at' | 'hidden_at'> & {
  created_at: Date
  edited_at: Date | null
  deleted_at: Date | null
  hidden_at: Date | null
}

function dateOrNull(value: string | null): Date | null {
  return value === null ? null : new Date(value)
}

function pagePostFromJson(p: PagePostJson): PagePost {
  return { ...p, created_at: new Date(p.created_at), edited_at: dateOrNull(p.edited_at), deleted_at: dateOrNull(p.deleted_at), hidden_at: dateOrNull(p.hidden_at) }
}

/** One post as a thread page shows it. */
export interface PostView {
  id: number
  /** Its place in the thread: #1 is the opening post. */
  post_number: number
  /** The post it answers, when the page does not show it just above (a deep or continued reply). */
  replyTo: { postId: number; number: number; username: string; href: string; onlyWhenFlat: boolean } | null
  parent_id: number | null
  branch_id: number
  depth: number
  path: string
  author_id: number
  author_username: string
  author_display_name: string | null
  /** The author's uploaded avatar, null for the generated one. */
  author_avatar: string | null
  author_trust_level: number
  body_html: string
  like_count: number
  reply_count: number
  revision_count: number
  created_at: Date
  edited_at: Date | null
  deleted: boolean
  hidden: boolean
  liked: boolean
  isNew: boolean
  canEdit: boolean
  children: PostView[]
  /** Set on a post at the indent limit whose replies continue on their own page. */
  continues: boolean
  /** The viewer muted its author: the page collapses it behind a "show" control. */
  mutedAuthor: boolean
  /** The post's polls as this viewer sees them (features/polls); empty for most posts. */
  polls: PollView[]
}

/** A thread row with what pages show about it. */
export interface ThreadSummary {
  id: number
  title: string
  slug: string
  category_id: number
  pinned: boolean
  locked: boolean
  reply_count: number
  view_count: number
  created_at: Date
  last_post_at: Date
  author_id: number
  author_username: string
  author_avatar: string | null
  last_poster_username: string | null
  url: string
  /** For a member who has read the thread before: posts after their marker (0 when caught up); null otherwise. */
  unread: number | null
  /** Where the member left off (the first unread post), or the thread's first page. */
  resumeUrl: string
}

/** One page of a reading list. */
export interface ReadingListPage {
  list: ReadingListQuery['list']
  period: ReadingListQuery['period']
  threads: (ThreadSummary & { category_name: string; category_slug: string; score: number; unread_count: number | null })[]
  nextCursor: string | null
}

function pathSegment(id: number): string {
  return String(id).padStart(12, '0')
}

/** The thread's URL, optionally pointing at a post. */
export function threadUrl(thread: { id: number; slug: string }, postId?: number): string {
  return `/t/${thread.id}/${thread.slug}${postId ? `#p${postId}` : ''}`
}

function threadCursor(t: { pinned: boolean; last_post_at: Date; id: number }): string {
  return encodeCursor([t.pinned, t.last_post_at, t.id])
}

/** Reading time one member may be credited with per day (reports beyond it add nothing). */
export const MAX_READING_SECONDS_PER_DAY = 3 * 60 * 60

/** Threads, nested replies, likes, edits with history, and reading positions. */
export class DiscussionService {
  constructor(
    private readonly db: Db,
    private readonly categories: CategoryService,
    private readonly settings: CommunitySettings,
    private readonly notifications: NotificationService,
    private readonly outbox: Outbox,
    private readonly gate: PostGate = OPEN_GATE,
  ) {}

  private extras: PostExtras = NO_EXTRAS

  /** Connects the feature that keeps posts' polls (built after this service, which it calls back). */
  attachExtras(extras: PostExtras): void {
    this.extras = extras
  }

  private checkBody(body: string, s: CommunitySettingsValues): string {
    const trimmed = body.trim()
    if (trimmed.length === 0) throw Invalid.field('body', 'Write something first')
    if (body.length > s.max_post_length) {
      throw Invalid.field('body', `Posts are at most ${s.max_post_length.toLocaleString('en')} characters (this one has ${body.length.toLocaleString('en')})`)
    }
    return body
  }

  private checkTitle(title: string, s: CommunitySettingsValues): string {
    if (title.length < s.min_title_length) throw Invalid.field('title', `Titles are at least ${s.min_title_length} characters`)
    if (title.length > s.max_title_length) throw Invalid.field('title', `Titles are at most ${s.max_title_length} characters`)
    return title
  }

  /**
   * New members (trust level 0) have limits that keep spam small: links and mentions per
   * post, and posts per day. Staff and members of trust level 1 and above have none.
   */
  private async checkNewMemberLimits(viewer: Viewer, html: string, mentions: string[], s: CommunitySettingsValues): Promise<void> {
    const user = viewer.user
    if (!user || user.trust_level > 0 || isStaff(viewer)) return
    const links = (html.match(/<a\s[^>]*>/g) ?? []).filter((tag) => !tag.includes('class="mention"')).length
    if (links > s.tl0_max_links_per_post) {
      throw Invalid.field('body', `New members can include at most ${s.tl0_max_links_per_post} link(s) per post (this one has ${links})`)
    }
    if (mentions.length > s.tl0_max_mentions_per_post) {
      throw Invalid.field('body', `New members can mention at most ${s.tl0_max_mentions_per_post} member(s) per post (this one mentions ${mentions.length})`)
    }
    // Counting stops at the limit, on the (author_id, created_at) index alone: the check costs
    // the same however much the member has posted.
    const { n } = await this.db
      .selectFrom((db) =>
        db
          .selectFrom('posts')
          .select('created_at')
          .where('author_id', '=', user.id)
          .where('created_at', '>', sql<Date>`now() - interval '1 day'`)
          .orderBy('created_at', 'desc')
          .limit(s.tl0_max_posts_per_day)
          .as('today'),
      )
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    if (Number(n) >= s.tl0_max_posts_per_day) {
      throw new Forbidden(`New members can post at most ${s.tl0_max_posts_per_day} times a day; try again tomorrow`)
    }
  }

  /** Threads as lists show them, with the member's read marker (none for a guest). */
  private threadSelect(trx: DbOrTrx, userId = 0) {
    return trx
      .selectFrom('threads as t')
      .innerJoin('users as a', 'a.id', 't.author_id')
      .leftJoin('users as lp', 'lp.id', 't.last_poster_id')
      .leftJoin('thread_reads as rd', (j) => j.onRef('rd.thread_id', '=', 't.id').on('rd.user_id', '=', userId))
      .select([
        't.id', 't.title', 't.slug', 't.category_id', 't.pinned', 't.locked', 't.reply_count', 't.view_count', 't.last_post_number', 't.created_at', 't.last_post_at',
        't.author_id', 'a.username as author_username', 'a.avatar_key as author_avatar', 'lp.username as last_poster_username', 'rd.last_read_post_number',
      ])
      .where('t.deleted_at', 'is', null)
  }

  private summary<T extends { id: number; slug: string; last_post_number: number; last_read_post_number: number | null }>(row: T): T & { url: string; unread: number | null; resumeUrl: string } {
    const url = threadUrl(row)
    const read = row.last_read_post_number
    const unread = read === null ? null : Math.max(0, row.last_post_number - read)
    return { ...row, url, unread, resumeUrl: unread ? `${url}?n=${read! + 1}` : url }
  }

  /** A category's threads: pinned first, then newest activity; keyset-paginated (no OFFSET). */
  async listThreads(category: Category, cursor?: string, userId = 0): Promise<{ threads: ThreadSummary[]; nextCursor: string | null }> {
    let q = this.threadSelect(this.db, userId)
      .where('t.category_id', '=', category.id)
      .orderBy('t.pinned', 'desc')
      .orderBy('t.last_post_at', 'desc')
      .orderBy('t.id', 'desc')
      .limit(THREADS_PER_PAGE + 1)
    if (cursor) {
      const [pinned, lastPostAt, id] = decodeCursor(ThreadCursor, cursor)
      // Row-value comparison in the index's order: (pinned desc, last_post_at desc, id desc).
      q = q.where(sql<boolean>`(t.pinned::int, t.last_post_at, t.id) < (${pinned ? 1 : 0}, ${lastPostAt}::timestamptz, ${id})`)
    }
    const rows = await q.execute()
    const threads = rows.slice(0, THREADS_PER_PAGE).map((r) => this.summary(r))
    return { threads, nextCursor: rows.length > THREADS_PER_PAGE ? threadCursor(threads[threads.length - 1]!) : null }
  }

  /**
   * A reading list across the categories the viewer may see, one page at a time (keyset):
   * - latest: pinned threads first, then newest activity;
   * - top: threads started in the period, by replies plus likes on their posts;
   * - new: threads started in the last two days that the member has not opened yet;
   * - unread: threads the member has opened that have posts after the last one they read.
   * Idea comment threads are left out: they belong on the idea's page.
   */
  async readingList(viewer: Viewer, raw: unknown): Promise<ReadingListPage> {
    const input = parse(ReadingListQuery, raw)
    const { list, period } = input
    const empty = { list, period, threads: [], nextCursor: null }
    const userId = viewer.user?.id
    if (list === 'unread' && !userId) return empty
    const ids = await this.categories.visibleIds(viewer)
    if (ids.length === 0) return empty
    const since = list === 'new' ? sql<Date>`now() - interval '2 days'` : list === 'top' && period !== 'all' ? sql<Date>`now() - ${sql.raw(`interval '1 ${period}'`)}` : null
    const likes = sql<number>`(select coalesce(sum(lp.like_count), 0) from posts lp where lp.thread_id = t.id and lp.deleted_at is null)::int`
    const score = list === 'top' ? sql<number>`(t.reply_count + ${likes})` : sql<number>`0`
    // Threads a member tracks or watches show how many posts they have not read yet (as in Discourse).
    const unreadCount = userId
      ? sql<number | null>`(
          select count(*)::int from posts up
          where up.thread_id = t.id and up.deleted_at is null and up.hidden_at is null and up.author_id <> ${userId}
            and up.id > (select ur.last_read_post_id from thread_reads ur where ur.user_id = ${userId} and ur.thread_id = t.id)
            and coalesce(
              (select ul.level from thread_notification_levels ul where ul.user_id = ${userId} and ul.thread_id = t.id),
              (select uc.level from category_notification_levels uc where uc.user_id = ${userId} and uc.category_id = t.category_id),
              'normal') in ('tracking', 'watching'))`
      : sql<number | null>`null::int`
    let q = this.threadSelect(this.db, userId ?? 0)
      .innerJoin('categories as c', 'c.id', 't.category_id')
      .select(['c.name as category_name', 'c.slug as category_slug', score.as('score'), unreadCount.as('unread_count')])
      .where('t.category_id', 'in', ids)
      .where('c.slug', '<>', IDEA_COMMENTS_CATEGORY)
      .$if(since !== null, (q) => q.where('t.created_at', '>', since!))
      // Threads the member muted, or in categories they muted (unless the thread has a level of its own), stay out of their lists.
      .$if(userId !== undefined, (q) =>
        q.where(sql<boolean>`coalesce(
          (select ml.level from thread_notification_levels ml where ml.user_id = ${userId} and ml.thread_id = t.id),
          (select mc.level from category_notification_levels mc where mc.user_id = ${userId} and mc.category_id = t.category_id),
          'normal') <> 'muted'`),
      )
      .limit(THREADS_PER_LIST + 1)
    const cursor = input.cursor
    if (list === 'latest') {
      q = q.orderBy('t.pinned', 'desc').orderBy('t.last_post_at', 'desc').orderBy('t.id', 'desc')
      if (cursor) {
        const [pinned, lastPostAt, id] = decodeCursor(LatestCursor, cursor)
        q = q.where(sql<boolean>`(t.pinned::int, t.last_post_at, t.id) < (${pinned ? 1 : 0}, ${lastPostAt}::timestamptz, ${id})`)
      }
    } else if (list === 'top') {
      q = q.orderBy('score', 'desc').orderBy('t.id', 'desc')
      if (cursor) {
        const [value, id] = decodeCursor(ScoreCursor, cursor)
        q = q.where(sql<boolean>`(${score}, t.id) < (${value}, ${id})`)
      }
    } else if (list === 'new') {
      q = q.orderBy('t.created_at', 'desc').orderBy('t.id', 'desc')
      if (userId) q = q.where(sql<boolean>`not exists (select 1 from thread_reads r where r.thread_id = t.id and r.user_id = ${userId})`)
      if (cursor) {
        const [at, id] = decodeCursor(TimeCursor, cursor)
        q = q.where(sql<boolean>`(t.created_at, t.id) < (${at}::timestamptz, ${id})`)
      }
    } else {
      q = q
        .innerJoin('thread_reads as r', (j) => j.onRef('r.thread_id', '=', 't.id').on('r.user_id', '=', userId!))
        .where(sql<boolean>`exists (select 1 from posts up where up.thread_id = t.id and up.id > r.last_read_post_id and up.deleted_at is null and up.hidden_at is null)`)
        .orderBy('t.last_post_at', 'desc')
        .orderBy('t.id', 'desc')
      if (cursor) {
        const [at, id] = decodeCursor(TimeCursor, cursor)
        q = q.where(sql<boolean>`(t.last_post_at, t.id) < (${at}::timestamptz, ${id})`)
      }
    }
    const rows = await q.execute()
    const threads = rows.slice(0, THREADS_PER_LIST).map((r) => ({ ...this.summary(r), score: Number(r.score) }))
    const last = threads[threads.length - 1]
    const nextCursor =
      rows.length <= THREADS_PER_LIST || !last ? null
      : list === 'latest' ? threadCursor(last)
      : list === 'top' ? encodeCursor([last.score, last.id])
      : list === 'new' ? encodeCursor([last.created_at, last.id])
      : encodeCursor([last.last_post_at, last.id])
    return { list, period, threads, nextCursor }
  }

  /**
   * The HTML a post would have, for the composer's Preview button: rendered and sanitised
   * exactly as a saved post is. Nothing is stored.
   */
  preview(body: unknown): string {
    return typeof body === 'string' ? renderMarkdown(lf(body)).html : ''
  }

  /** Threads per category and their newest activity, for the front page. */
  async categoryStats(categoryIds: number[]) {
    if (categoryIds.length === 0) return new Map<number, { threads: number; last_post_at: Date | null }>()
    const rows = await this.db
      .selectFrom('threads')
      .select(['category_id', (eb) => eb.fn.countAll<number>().as('threads'), (eb) => eb.fn.max('last_post_at').as('last_post_at')])
      .where('category_id', 'in', categoryIds)
      .where('deleted_at', 'is', null)
      .groupBy('category_id')
      .execute()
    return new Map(rows.map((r) => [r.category_id, { threads: Number(r.threads), last_post_at: r.last_post_at as Date | null }]))
  }

  /**
   * Starts a thread with its opening post. The post gate (features/spam) screens it first:
   * it may be published, published and flagged, held for approval (nothing is written to
   * threads or posts then: `held` says where the author finds it) or refused.
   */
  async createThread(viewer: Viewer, raw: unknown, meta: RequestMeta = {}) {
    const input = parse(ThreadInput, raw)
    const s = await this.settings.all()
    const category = await this.categories.byId(viewer, input.categoryId).catch(() => {
      throw Invalid.field('categoryId', 'Choose a category you can post in')
    })
    ensure(viewer, 'post', { category }, { settings: s })
    let title = this.checkTitle(input.title, s)
    let body = this.checkBody(input.body, s)
    this.extras.check(body, { isNew: true })
    const user = viewer.user as SessionUser
    let rendered = renderMarkdown(body)
    await this.checkNewMemberLimits(viewer, rendered.html, rendered.mentions, s)
    const screening = await this.gate.screen(viewer, { kind: 'thread', categoryId: category.id, threadId: null, parentId: null, title, body, html: rendered.html, meta })
    if (screening.outcome === 'hold') return { held: await this.gate.hold(user, { kind: 'thread', categoryId: category.id, threadId: null, parentId: null, title: screening.title ?? title, body: screening.body }, screening) }
    if (screening.body !== body || (screening.title !== null && screening.title !== title)) {
      body = screening.body
      title = screening.title ?? title
      rendered = renderMarkdown(body)
    }

    const { thread, postId } = await this.db.transaction().execute(async (trx) => {
      const published = await this.publishThread(trx, user, category, title, body, rendered)
      await this.gate.published(trx, { postId: published.postId, threadId: published.thread.id, authorId: user.id, categoryId: category.id }, screening)
      return published
    })
    return { ...thread, url: threadUrl(thread), postId, held: null }
  }

  /**
   * Writes a new thread and its opening post, its mention notifications and its events,
   * inside the caller's transaction: a new thread, and a held one on approval
   * (features/spam), go out through here alike.
   */
  async publishThread(trx: Trx, user: SessionUser, category: Category, title: string, body: string, rendered = renderMarkdown(body)) {
    const thread = await trx
      .insertInto('threads')
      .values({ category_id: category.id, author_id: user.id, title, slug: slugify(title), last_poster_id: user.id, last_post_number: 1 })
      .returning(['id', 'slug', 'title', 'category_id', 'created_at'])
      .executeTakeFirstOrThrow()
    const postId = await this.insertPost(trx, { threadId: thread.id, parent: null, authorId: user.id, body, html: rendered.html })
    await this.extras.published(trx, { postId, threadId: thread.id, body, staff: user.role === 'admin' || user.role === 'moderator' })
    // Whoever starts a thread watches it (as in Discourse).
    await trx.insertInto('thread_notification_levels').values({ user_id: user.id, thread_id: thread.id, level: 'watching', reason: 'created' }).execute()
    const mentions = await this.mentionNotifications(trx, rendered.mentions, category, user, thread, postId, new Set())
    await this.notifications.create(trx, mentions, [
      {
        type: 'thread.created',
        data: { threadId: thread.id, title: thread.title, url: threadUrl(thread), author: user.username, categoryId: category.id },
        channels: ['home', `category:${category.id}`],
        categoryId: category.id,
      },
      {
        type: 'post.notify',
        data: {
          threadId: thread.id, postId, categoryId: category.id, authorId: user.id, title: thread.title, url: threadUrl(thread, postId),
          text: `${user.username} started “${thread.title}”`, notified: mentions.map((m) => m.userId),
        },
      },
    ])
    return { thread, postId }
  }

  /**
   * Starts a thread on behalf of another feature (an idea's comments) inside that
   * feature's transaction, without the category's who-may-start rule: the feature has
   * already decided. Returns the thread id.
   */
  async createLinkedThread(trx: Trx, input: { categorySlug: string; authorId: number; title: string; body: string }): Promise<number> {
    const category = await trx.selectFrom('categories').select('id').where('slug', '=', input.categorySlug).executeTakeFirst()
    if (!category) throw new Error(`category ${input.categorySlug} is missing; run the migrations`)
    const thread = await trx
      .insertInto('threads')
      .values({ category_id: category.id, author_id: input.authorId, title: input.title, slug: slugify(input.title), last_poster_id: input.authorId, last_post_number: 1 })
      .returning('id')
      .executeTakeFirstOrThrow()
    await this.insertPost(trx, { threadId: thread.id, parent: null, authorId: input.authorId, body: input.body, html: renderMarkdown(input.body).html })
    return thread.id
  }

  private async insertPost(
    trx: Trx,
    p: { threadId: number; parent: { id: number; path: string; depth: number; branch_id: number } | null; authorId: number; body: string; html: string },
  ): Promise<number> {
    const { rows } = await sql<{ id: number }>`select nextval(pg_get_serial_sequence('posts', 'id'))::bigint as id`.execute(trx)
    const id = Number(rows[0]!.id)
    const depth = p.parent ? p.parent.depth + 1 : 0
    await trx
      .insertInto('posts')
      .values({
        id,
        thread_id: p.threadId,
        parent_id: p.parent?.id ?? null,
        branch_id: depth <= 1 ? id : p.parent!.branch_id,
        author_id: p.authorId,
        body_md: p.body,
        body_html: p.html,
        depth,
        path: p.parent ? `${p.parent.path}.${pathSegment(id)}` : pathSegment(id),
        // Only opening posts are inserted here (replies take theirs in the reply statement).
        post_number: 1,
      })
      .execute()
    return id
  }

  private async mentionNotifications(
    trx: DbOrTrx,
    names: string[],
    category: Category,
    author: SessionUser,
    thread: { id: number; slug: string; title: string },
    postId: number,
    skip: Set<number>,
    parentCategory?: Category | null,
  ): Promise<NewNotification[]> {
    return mentionItems(await this.mentionable(trx, names, category, parentCategory), author, thread, postId, category, skip)
  }

  /** The members named in a post who may see its category (each once), to notify of the mention. */
  private async mentionable(trx: DbOrTrx, names: string[], category: Category, parentCategory?: Category | null): Promise<number[]> {
    if (names.length === 0) return []
    const users = await trx
      .selectFrom('users')
      .select(['id', 'role', 'trust_level', 'suspended_until', 'silenced_until', 'email_verified_at'])
      .where(sql<string>`lower(username)`, 'in', names.slice(0, MAX_MENTIONS).map((n) => n.toLowerCase()))
      .execute()
    if (users.length === 0) return []
    const mods = await trx
      .selectFrom('category_moderators')
      .select(['user_id', 'category_id'])
      .where('user_id', 'in', users.map((u) => u.id))
      .execute()
    const parent = parentCategory !== undefined ? parentCategory : category.parent_id ? (await this.categories.all(trx)).find((c) => c.id === category.parent_id) : null
    return users
      .filter((u) =>
        canSeeCategory({ user: u, moderates: new Set(mods.filter((m) => m.user_id === u.id).map((m) => m.category_id)) }, category, parent),
      )
      .map((u) => u.id)
  }

  /**
   * Loads a thread the viewer may see, with its category, or NotFound. `along`: a column of the
   * post gate's (PostGate.readAlong) read in the same statement; its value comes back as `alongValue`.
   */
  async visibleThread(viewer: Viewer, threadId: number, trx?: DbOrTrx, along?: GateRead | null) {
    // The thread with its category and the category's parent (for the guard): one query, built
    // once per shape and prepared (every reply starts here).
    const on = trx ?? this.db
    const shape = along ? `visible-thread+${along.name}` : 'visible-thread'
    const values = along ? { ...along.values, threadId } : { threadId }
    const [found] = await preparedTemplate(on, shape, values, (v) => on
      .selectFrom('threads')
      .innerJoin('categories as c', 'c.id', 'threads.category_id')
      .leftJoin('categories as pc', 'pc.id', 'c.parent_id')
      .selectAll('threads')
      .select(categoryColumnsOf('c', 'c'))
      .select(categoryColumnsOf('pc', 'pc'))
      .$if(!!along, (q) => q.select(along!.column(v).as('gate_along')))
      .where('threads.id', '=', v.threadId))
    if (!found) throw new NotFound('No such thread')
    const category = categoryFromRow(found, 'c')!
    const parent = categoryFromRow(found, 'pc')
    if (!canSeeCategory(viewer, category, parent)) throw new NotFound('No such category')
    const thread = Object.fromEntries(Object.entries(found).filter(([k]) => !k.startsWith('c_') && !k.startsWith('pc_') && k !== 'gate_along')) as Selectable<ThreadsTable>
    if (thread.deleted_at && !canModerate(viewer, category.id)) throw new NotFound('No such thread')
    return { thread, category, parentCategory: parent, alongValue: (found as Record<string, unknown>).gate_along }
  }

  /**
   * Replies to a thread, or to a post in it; notifies the parent's author and anyone
   * mentioned. Screened by the post gate first, as a new thread is.
   */
  async reply(viewer: Viewer, threadId: number, raw: unknown, meta: RequestMeta = {}) {
    const input = parse(ReplyInput, raw)
    const s = await this.settings.all()
    // The text is checked and rendered first, so that the gate's reading of it goes along with
    // the thread's (one round trip); a text refused is refused where it always was, after the
    // thread and the guard.
    let checked: { body: string; rendered: ReturnType<typeof renderMarkdown> } | null = null
    let refusal: unknown = null
    try {
      const text = this.checkBody(input.body, s)
      this.extras.check(text, { isNew: true })
      checked = { body: text, rendered: renderMarkdown(text) }
    } catch (err) {
      refusal = err
    }
    const along = checked && viewer.user && this.gate.readAlong
      ? await this.gate.readAlong(viewer, { title: null, body: checked.body, html: checked.rendered.html })
      : null
    const { thread, category, parentCategory, alongValue } = await this.visibleThread(viewer, threadId, undefined, along)
    ensure(viewer, 'reply', { categoryId: category.id, thread }, { settings: s })
    if (!checked) throw refusal
    let body = checked.body
    const user = viewer.user as SessionUser
    let rendered = checked.rendered
    await this.checkNewMemberLimits(viewer, rendered.html, rendered.mentions, s)
    const parentId = input.parentId ?? null
    if (parentId !== null) {
      // Checked before screening too, so a held reply always answers a post of this thread.
      const parent = await this.db.selectFrom('posts').select('id').where('id', '=', parentId).where('thread_id', '=', threadId).executeTakeFirst()
      if (!parent) throw Invalid.field('parentId', 'You can only reply to a post in this thread')
    }
    const screening = await this.gate.screen(
      viewer,
      { kind: 'reply', categoryId: category.id, threadId, parentId, title: null, body, html: rendered.html, meta },
      along ? { read: along, value: alongValue } : undefined,
    )
    if (screening.outcome === 'hold') {
      const held = await this.gate.hold(user, { kind: 'reply', categoryId: category.id, threadId, parentId, title: null, body: screening.body }, screening)
      return { id: null, threadId, parentId, url: held.url, parentAuthor: null, held }
    }
    if (screening.body !== body) {
      body = screening.body
      rendered = renderMarkdown(body)
    }
    const writtenAlong = this.gate.publishedAlong?.(screening, user.id) ?? null
    const { postId, parentId: publishedParent, parentAuthor } = await this.db.transaction().execute(async (trx) => {
      const published = await this.publishReply(trx, user, { thread, category, parentCategory }, parentId, body, rendered, writtenAlong ?? [])
      await this.gate.published(trx, { postId: published.postId, threadId, authorId: user.id, categoryId: category.id }, screening, writtenAlong !== null)
      return published
    })
    return { id: postId, threadId, parentId: publishedParent, url: threadUrl(thread, postId), parentAuthor, held: null }
  }

  /**
   * Writes a reply with both reply counters, its notifications and its events, inside the
   * caller's transaction: a new reply, and a held one on approval (features/spam), go out
   * through here alike.
   */
  async publishReply(
    trx: Trx,
    user: SessionUser,
    where: { thread: { id: number; slug: string; title: string }; category: Category; parentCategory?: Category | null },
    parentId: number | null,
    body: string,
    rendered = renderMarkdown(body),
    along: RawBuilder<unknown>[] = [],
  ): Promise<{ postId: number; parentId: number; parentAuthor: number }> {
    const { thread, category, parentCategory } = where
    const threadId = thread.id
    // Who is mentioned, read before the statement below takes the thread's row lock (the
    // fewer statements after it, the shorter concurrent replies to the thread wait).
    const mentioned = await this.mentionable(trx, rendered.mentions, category, parentCategory)
    // The post, its number, the thread's and the parent's reply counts: one statement. The
    // thread row is updated first (threads before posts, as every reply does: no deadlock);
    // its lock orders concurrent replies, so each takes the next post number, and the post's
    // id is drawn under that lock too, so numbers and ids rise together within a thread.
    const rows = await prepared(trx, sql<{ id: number; post_number: number; parent_id: number; parent_author: number; parent_deleted: boolean }>`
      with parent as (
        select id, path, depth, branch_id, author_id, deleted_at from posts
        where thread_id = ${threadId} and ${parentId === null ? sql`depth = 0` : sql`id = ${parentId}`}
        limit 1
      ),
      thread as (
        update threads set reply_count = reply_count + 1, last_post_at = now(), last_poster_id = ${user.id}, last_post_number = last_post_number + 1
        where id = ${threadId} and exists (select 1 from parent)
        returning last_post_number
      ),
      n as (select nextval(pg_get_serial_sequence('posts', 'id')) as id, thread.last_post_number from thread),
      post as (
        insert into posts (id, thread_id, parent_id, branch_id, author_id, body_md, body_html, depth, path, post_number)
        select n.id, ${threadId}, parent.id, case when parent.depth = 0 then n.id else parent.branch_id end, ${user.id},
          ${body}, ${rendered.html}, parent.depth + 1, parent.path || '.' || lpad(n.id::text, 12, '0'), n.last_post_number
        from parent, n
        returning id, post_number
      ),
      -- A member who replies tracks the thread, unless they chose a level for it (as in Discourse).
      tracked as (
        insert into thread_notification_levels (user_id, thread_id, level, reason)
        select ${user.id}, ${threadId}, 'tracking', 'replied' where exists (select 1 from post)
        on conflict (user_id, thread_id) do nothing
      ),
      counted as (
        update posts set reply_count = reply_count + 1 where id = (select id from parent) and exists (select 1 from post)
      )${sql.join(along.map((write, i) => sql`,
      -- What the post gate records of a new post with it (PostGate.publishedAlong).
      ${sql.raw(`along_${i}`)} as (${write})`), sql``)}
      select post.id, post.post_number, parent.id as parent_id, parent.author_id as parent_author, parent.deleted_at is not null as parent_deleted from post, parent`)
    const created = rows[0]
    if (!created) throw Invalid.field('parentId', 'You can only reply to a post in this thread')
    const postId = Number(created.id)
    await this.extras.published(trx, { postId, threadId, body, staff: user.role === 'admin' || user.role === 'moderator' })
    const items: NewNotification[] = []
    if (!created.parent_deleted && created.parent_author !== user.id) {
      items.push({
        userId: created.parent_author,
        kind: 'reply',
        actorId: user.id,
        url: threadUrl(thread, postId),
        text: `${user.username} replied to your post in “${thread.title}”`,
        payload: { threadId, postId, title: thread.title },
        // Replies in one thread collapse while unread ("3 new replies in …", linking to the first).
        group: { key: `thread:${threadId}`, many: `new replies in “${thread.title}”` },
        threadId,
        categoryId: category.id,
      })
    }
    items.push(...mentionItems(mentioned, user, thread, postId, category, new Set([created.parent_author])))
    // The notifications and every event of this reply go out in one statement.
    await this.notifications.create(trx, items, [
      {
        type: 'post.created',
        data: { threadId, postId, parentId, title: thread.title, url: threadUrl(thread, postId), author: user.username, excerpt: markdownToText(body, 140) },
        channels: [`thread:${threadId}`, `category:${category.id}`, 'home'],
        categoryId: category.id,
      },
      {
        type: 'post.notify',
        data: {
          threadId, postId, categoryId: category.id, authorId: user.id, title: thread.title, url: threadUrl(thread, postId),
          text: `${user.username} posted in “${thread.title}”`, notified: [...new Set(items.map((n) => n.userId))],
        },
      },
    ])
    return { postId, parentId: Number(created.parent_id), parentAuthor: created.parent_author }
  }

  /**
   * A thread page: the opening post and one page of top-level branches, in tree order,
   * from a constant number of queries whatever the thread's size. With `rootPostId`, the
   * subtree under that post ("continue this thread").
   */
  /**
   * A page of a thread: the thread, its category, the viewer's marker and levels, and the page's
   * posts, in one statement. Asked with a PendingViewer (a member's page whose session the
   * statement looks up too), the whole page costs one round trip, and the viewer it settled
   * comes back with the page.
   */
  async threadPage(asker: Viewer | PendingViewer, threadId: number, options: { after?: number; rootPostId?: number; cont?: number } = {}) {
    const pending = 'lookup' in asker ? asker : null
    // A post to start from (a subtree) or to continue after: found first, by id (rare pages).
    let root: { id: number; path: string; depth: number } | null = null
    if (options.rootPostId) {
      root = (await this.db
        .selectFrom('posts')
        .select(['id', 'path', 'depth'])
        .where('id', '=', options.rootPostId)
        .where('thread_id', '=', threadId)
        .executeTakeFirst()) ?? null
    }
    // A continuation page starts after the last post the previous page could hold.
    let contPath: string | null = null
    if (options.cont !== undefined) {
      const start = await this.db.selectFrom('posts').select('path').where('id', '=', options.cont).where('thread_id', '=', threadId).executeTakeFirst()
      contPath = start?.path ?? null
    }
    const values = {
      threadId,
      userId: pending ? 0 : (asker as Viewer).user?.id ?? 0,
      sessionId: pending?.ref.id ?? '',
      secretHash: pending?.ref.secretHash ?? Buffer.alloc(0),
      after: options.after ?? 0,
      rootPath: root?.path ?? '',
      rootEnd: root ? `${root.path}/` : '',
      floor: root?.depth ?? 0,
      contPath: contPath ?? '',
    }
    const read = (by: PendingViewer | null) => {
      const shape = { pending: by !== null, root: root !== null, after: options.after !== undefined, cont: contPath !== null }
      return preparedTemplate(this.db, `thread-page:${JSON.stringify(shape)}`, values, (v) => this.threadPageStatement(v, shape, by))
    }
    let [found] = await read(pending)
    // The session first: whatever follows (a 404 too) is the settled viewer's.
    let viewer: Viewer
    if (pending) {
      const row = found?.session ? { session: found.session } : undefined
      viewer = await pending.settle(row)
      // A session found but not valid (expired): the page was read with its member's marks; read it again as a guest's.
      if (row && !viewer.user) [found] = await read(null)
    } else viewer = asker as Viewer
    const shape = { pending: false, root: root !== null, after: options.after !== undefined, cont: contPath !== null }
    if ((options.rootPostId && !root) || (options.cont !== undefined && contPath === null)) throw new NotFound('No such post')
    const head = found?.head ?? null
    if (!head) throw new NotFound('No such thread')
    const userId = viewer.user?.id ?? 0
    const category = categoryFromRow(head, 'c')!
    if (!canSeeCategory(viewer, category, categoryFromRow(head, 'pc'))) throw new NotFound('No such category')
    const row = {
      idea_id: head.idea_id, id: head.id, title: head.title, slug: head.slug, category_id: head.category_id, pinned: head.pinned,
      locked: head.locked, reply_count: head.reply_count, created_at: new Date(head.created_at), deleted_at: dateOrNull(head.deleted_at),
      author_id: head.author_id, author_username: head.author_username, last_read_post_id: head.last_read_post_id, read_at: dateOrNull(head.read_at),
      last_read_post_number: head.last_read_post_number,
      view_count: head.view_count, last_post_number: head.last_post_number, participant_count: head.participant_count, participants: head.participants.map(participantView),
      more_participants: Math.max(0, head.participant_count - head.participants.length),
    }
    const moderator = canModerate(viewer, category.id)
    if (row.deleted_at && !moderator) throw new NotFound('No such thread')
    const s = await this.settings.all()
    const mutedAuthors = new Set((head.muted_ids ?? []).map(Number))
    const notificationLevel = head.thread_level
      ? { level: head.thread_level, from: 'thread' as const, reason: head.level_reason }
      : { level: head.category_level ?? 'normal', from: head.category_level ? ('category' as const) : ('default' as const), reason: null }

    const fetched = (found!.posts as PagePostJson[]).map(pagePostFromJson)
    const floor = values.floor
    const cut = fetched.length > POSTS_PER_PAGE || (fetched.length > 0 && Number(fetched[fetched.length - 1]!.bytes_through) >= PAGE_HTML_BYTES)
    const rows = fetched.slice(0, POSTS_PER_PAGE)
    // Whether more of this scope follows: cheaper to ask than to count.
    const scope = () => this.pageScope(values, shape, sql<number>`0`)
    const more =
      cut &&
      rows.length > 0 &&
      (fetched.length > POSTS_PER_PAGE ||
        (await scope().from
          .selectFrom(scope().inScope.as('y'))
          .select('y.id')
          .where('y.path', '>', rows[rows.length - 1]!.path)
          .limit(1)
          .executeTakeFirst()) !== undefined)
    const nextCont = more ? rows[rows.length - 1]!.id : null
    const branchInfo = fetched[0]
    const nextAfter = !root && (branchInfo?.top_count ?? 0) > BRANCHES_PER_PAGE ? (branchInfo?.last_branch ?? null) : null

    const lastRead = row.last_read_post_id ?? 0
    // One clock and one context for the page's checks (each post's edit check would read its own).
    const guardContext = { settings: s, now: new Date() }
    const byId = new Map<number, PostView>()
    const roots: PostView[] = []
    const orphans: PostView[] = []
    for (const p of rows) {
      const hidden = p.hidden_at !== null && !moderator && p.author_id !== userId
      const parent = p.parent_id ? byId.get(p.parent_id) : undefined
      const view: PostView = {
        id: p.id,
        post_number: p.post_number,
        parent_id: p.parent_id,
        branch_id: p.branch_id,
        depth: p.depth - floor,
        path: p.path,
        author_id: p.author_id,
        author_username: p.author_username,
        author_display_name: p.author_display_name,
        author_avatar: p.author_avatar,
        author_trust_level: p.author_trust_level,
        body_html: p.deleted_at || hidden ? '' : p.body_html,
        like_count: p.like_count,
        reply_count: p.reply_count,
        revision_count: p.revision_count,
        created_at: p.created_at,
        edited_at: p.edited_at,
        deleted: p.deleted_at !== null,
        hidden: p.hidden_at !== null,
        liked: p.liked_by !== null,
        isNew: userId !== 0 && lastRead > 0 && p.id > lastRead,
        canEdit: can(viewer, 'edit', { categoryId: category.id, post: p, editWindowMinutes: s.edit_window_minutes }, guardContext),
        children: [],
        continues: p.depth - floor === MAX_INDENT && p.reply_count > 0,
        replyTo: parent && p.depth - floor > FLAT_FROM ? { postId: parent.id, number: parent.post_number, username: parent.author_username, href: `#p${parent.id}`, onlyWhenFlat: true } : null,
        mutedAuthor: mutedAuthors.has(Number(p.author_id)),
        polls: [],
      }
      byId.set(p.id, view)
      if (parent) parent.children.push(view)
      else {
        roots.push(view)
        // A reply whose parent is on another page (a continuation, a subtree) says whom it answers.
        if (p.parent_id && p.depth > 1) orphans.push(view)
      }
    }
    // Polls: one more query, only when a post on this page has one (features/polls).
    // (Not for a deleted post, nor a hidden one the viewer may not read; a post may be nothing but a poll.)
    const withPolls = rows.filter((p) => p.has_poll && !p.deleted_at && !(p.hidden_at !== null && !moderator && p.author_id !== userId))
    if (withPolls.length > 0) {
      const polls = await this.extras.forPosts(viewer, withPolls, category.id)
      for (const [postId, list] of polls) byId.get(postId)!.polls = list
    }
    if (orphans.length > 0) {
      const parents = await this.db
        .selectFrom('posts as p')
        .innerJoin('users as u', 'u.id', 'p.author_id')
        .select(['p.id', 'p.post_number', 'u.username'])
        .where('p.id', 'in', orphans.map((o) => o.parent_id!))
        .execute()
      const parentsById = new Map(parents.map((q) => [q.id, q]))
      for (const o of orphans) {
        const q = parentsById.get(o.parent_id!)
        if (q) o.replyTo = { postId: q.id, number: q.post_number, username: q.username, href: `/p/${q.id}`, onlyWhenFlat: false }
      }
    }

    const maxShown = rows.reduce((m, p) => Math.max(m, p.id), 0)
    const maxNumberShown = rows.reduce((m, p) => Math.max(m, p.post_number), 0)
    // Where the member left off: the first post after their marker, on this page (an anchor) or another (resolved by number).
    const readNumber = row.last_read_post_number ?? 0
    let resume: { href: string; url: string; unread: number } | null = null
    if (viewer.user && row.last_read_post_id !== null && row.last_post_number > readNumber) {
      const here = rows.find((p) => p.post_number === readNumber + 1)
      const url = `${threadUrl(row)}?n=${readNumber + 1}`
      resume = { href: here ? `#p${here.id}` : url, url, unread: row.last_post_number - readNumber }
    }
    // Rereading what was already read, on a day the thread was already entered, changes nothing: no write.
    const enteredToday = row.read_at !== null && row.read_at.toISOString().slice(0, 10) === new Date().toISOString().slice(0, 10)
    if (viewer.user && maxShown > 0 && (maxShown > lastRead || !enteredToday)) {
      await this.recordRead(viewer.user.id, threadId, maxShown, maxNumberShown, rows.filter((p) => p.id > lastRead).length, enteredToday)
    }
    return {
      /** Who read the page (settled here when the session was looked up with it). */
      viewer,
      thread: { ...row, url: threadUrl(row) },
      category,
      posts: roots,
      resume,
      root,
      // Branches continue after `nextAfter`; a page cut short continues after post `nextCont` first.
      nextAfter: nextCont === null ? nextAfter : null,
      nextCont,
      nextQuery:
        nextCont !== null
          ? new URLSearchParams({ ...(root ? { post: String(root.id) } : options.after !== undefined ? { after: String(options.after) } : {}), cont: String(nextCont) }).toString()
          : nextAfter !== null
            ? `after=${nextAfter}`
            : null,
      isFirstPage: !root && options.after === undefined && options.cont === undefined,
      canReply: can(viewer, 'reply', { categoryId: category.id, thread: row }, guardContext),
      // Why a logged-in member sees no reply box (suspended, silenced, unverified).
      replyBlock: viewer.user ? postingBlock(viewer, guardContext) : null,
      canModerate: moderator,
      canFlag: can(viewer, 'flag', {}),
      /** The viewer's notification level here (members only) and where it comes from. */
      notificationLevel: viewer.user ? notificationLevel : null,
      /** Whether the viewer has replies here waiting for approval (spam.mine lists them). */
      heldHere: viewer.user !== null && head.held_here,
    }
  }

  /**
   * A thread page's one statement (see threadPage): the session row when it is looked up here,
   * then the thread (`head`) and the page's posts (`posts`) as JSON, so rows of different
   * shapes share one round trip. Built once per shape; `v` holds slots (see preparedTemplate).
   */
  private threadPageStatement(v: ThreadPageValues, shape: ThreadPageShape, pending: PendingViewer | null) {
    // The viewer's id inside the statement: the session's member, or the viewer already known (0: a guest).
    const viewerId = shape.pending ? sql<number>`(select user_id from sess)` : sql<number>`${v.userId}::int`
    const head = this.db
      .selectFrom('threads as t')
      .innerJoin('users as a', 'a.id', 't.author_id')
      .innerJoin('categories as c', 'c.id', 't.category_id')
      .leftJoin('categories as pc', 'pc.id', 'c.parent_id')
      // The viewer (none for a guest) once, so their read marker, levels and mutes need no parameter of their own.
      .leftJoin('users as me', (j) => j.on('me.id', '=', viewerId))
      .leftJoin('thread_reads as r', (j) => j.onRef('r.thread_id', '=', 't.id').onRef('r.user_id', '=', 'me.id'))
      .leftJoin('thread_notification_levels as tl', (j) => j.onRef('tl.thread_id', '=', 't.id').onRef('tl.user_id', '=', 'me.id'))
      .leftJoin('category_notification_levels as cl', (j) => j.onRef('cl.category_id', '=', 't.category_id').onRef('cl.user_id', '=', 'me.id'))
      .leftJoin('ideas as i', 'i.thread_id', 't.id')
      .select(['i.id as idea_id', 'tl.level as thread_level', 'tl.reason as level_reason', 'cl.level as category_level'])
      .select(sql<number[]>`array(select mu.muted_user_id from user_mutes mu join users mu_u on mu_u.id = mu.muted_user_id where mu.user_id = me.id and mu_u.role = 'member')`.as('muted_ids'))
      // Whether the viewer has a reply waiting for approval here (the page then lists it for them alone).
      .select(sql<boolean>`exists (select 1 from held_posts h where h.author_id = me.id and h.thread_id = t.id and h.status = 'pending')`.as('held_here'))
      .select(['t.id', 't.title', 't.slug', 't.category_id', 't.pinned', 't.locked', 't.reply_count', 't.created_at', 't.deleted_at', 't.author_id'])
      .select(['t.view_count', 't.last_post_number', 'a.username as author_username', 'r.last_read_post_id', 'r.last_read_post_number', 'r.updated_at as read_at'])
      // The top participants and how many there are: a few rows of thread_participants, however long the thread.
      .select(sql<number>`(select count(*) from thread_participants tp where tp.thread_id = t.id and tp.post_count > 0)::int`.as('participant_count'))
      .select(sql<Participant[]>`(
        select coalesce(json_agg(x), '[]') from (
          select u.id, u.username, u.display_name, tp.post_count from thread_participants tp join users u on u.id = tp.user_id
          where tp.thread_id = t.id and tp.post_count > 0
          order by tp.post_count desc, tp.last_posted_at desc limit ${sql.lit(TOP_PARTICIPANTS)}
        ) x)`.as('participants'))
      .select(categoryColumnsOf('c', 'c'))
      .select(categoryColumnsOf('pc', 'pc'))
      .where('t.id', '=', v.threadId)
    const { from, inScope } = this.pageScope(v, shape, viewerId)
    const posts = from
      .selectFrom(inScope.as('x'))
      .selectAll()
      .$if(!shape.root, (q) =>
        q.select([sql<number>`(select count(*) from top)::int`.as('top_count'), sql<number | null>`(select max(id) from branches)`.as('last_branch')]),
      )
      // The first post always fits, however large.
      .where(sql<boolean>`x.bytes_through - x.bytes < ${sql.lit(PAGE_HTML_BYTES)}`)
      .orderBy('x.path')
      .limit(sql.lit(POSTS_PER_PAGE + 1))
    const headJson = sql`(select row_to_json(h) from (${head}) h)`
    const postsJson = sql`(select coalesce(json_agg(pp order by pp.path), '[]') from (${posts}) pp)`
    type PageRow = { head: ThreadHeadJson | null; posts: PagePostJson[] } & Partial<LookedUpSession>
    if (!pending) return sql<PageRow>`select ${headJson} as head, ${postsJson} as posts`
    return sql<PageRow>`
      with sess as (${pending.lookup({ id: v.sessionId, secretHash: v.secretHash })})
      select sess.session, ${headJson} as head, ${postsJson} as posts from (select) one left join sess on true`
  }

  /**
   * The posts a thread page may show, in tree order with running byte totals (`inScope`), and
   * the branches it starts from (`from`'s CTEs, without a subtree root): the next
   * BRANCHES_PER_PAGE top-level replies, chosen inside the same statement. One page holds at most
   * POSTS_PER_PAGE posts and PAGE_HTML_BYTES of post HTML (one huge branch, or many maximal
   * posts, cannot make a page of many megabytes); the rest follows on continuation pages.
   */
  private pageScope(v: ThreadPageValues, shape: ThreadPageShape, viewerId: RawBuilder<number>) {
    const from: QueryCreator<Database> = shape.root
      ? this.db
      : (this.db
          .with('top', (db) =>
            db
              .selectFrom('posts')
              .select('id')
              .where('thread_id', '=', v.threadId)
              .where('depth', '=', sql.lit(1))
              .$if(shape.after, (q) => q.where('id', '>', v.after))
              .orderBy('id')
              .limit(sql.lit(BRANCHES_PER_PAGE + 1)),
          )
          .with('branches', (db) => db.selectFrom('top').select('id').orderBy('id').limit(sql.lit(BRANCHES_PER_PAGE))) as unknown as QueryCreator<Database>)
    const inScope = this.db
      .selectFrom('posts as p')
      .innerJoin('users as u', 'u.id', 'p.author_id')
      .leftJoin('post_likes as l', (j) => j.onRef('l.post_id', '=', 'p.id').on('l.user_id', '=', viewerId))
      .select([
        'p.id', 'p.post_number', 'p.parent_id', 'p.branch_id', 'p.depth', 'p.path', 'p.author_id', 'p.body_html', 'p.like_count', 'p.reply_count',
        'p.revision_count', 'p.created_at', 'p.edited_at', 'p.deleted_at', 'p.hidden_at', 'p.has_poll',
        'u.username as author_username', 'u.display_name as author_display_name', 'u.trust_level as author_trust_level', 'u.avatar_key as author_avatar',
        'l.user_id as liked_by',
        sql<number>`sum(octet_length(p.body_html)) over (order by p.path)`.as('bytes_through'),
        sql<number>`octet_length(p.body_html)`.as('bytes'),
      ])
      .where('p.thread_id', '=', v.threadId)
      .where('p.depth', '<=', sql<number>`${v.floor}::int + ${sql.lit(MAX_INDENT)}`)
      .$if(shape.cont, (q) => q.where('p.path', '>', v.contPath))
      .where((eb) => {
        if (shape.root) return eb.and([eb('p.path', '>=', v.rootPath), eb('p.path', '<', v.rootEnd)])
        const inBranches = sql<boolean>`p.branch_id in (select id from branches)`
        return !shape.after && !shape.cont ? eb.or([eb('p.depth', '=', sql.lit(0)), inBranches]) : inBranches
      })
    return { from, inScope }
  }

  /**
   * Records reading in one statement: the member's last-read post in the thread, and
   * today's stats (posts read, topics entered) that trust levels are computed from.
   */
  private async recordRead(userId: number, threadId: number, maxPostId: number, maxPostNumber: number, newPosts: number, enteredToday: boolean) {
    await sql`
      with mark as (
        insert into thread_reads (user_id, thread_id, last_read_post_id, last_read_post_number, updated_at)
        values (${userId}, ${threadId}, ${maxPostId}, ${maxPostNumber}, now())
        on conflict (user_id, thread_id) do update
          set last_read_post_id = greatest(thread_reads.last_read_post_id, excluded.last_read_post_id),
              last_read_post_number = greatest(thread_reads.last_read_post_number, excluded.last_read_post_number), updated_at = now()
      )
      insert into user_daily_stats (user_id, day, posts_read, topics_entered)
      values (${userId}, (now() at time zone 'utc')::date, ${newPosts}, ${enteredToday ? 0 : 1})
      on conflict (user_id, day) do update
        set posts_read = user_daily_stats.posts_read + excluded.posts_read,
            topics_entered = user_daily_stats.topics_entered + excluded.topics_entered`.execute(this.db)
  }

  /**
   * Adds reading time reported by the page while it is open and visible. The page's word
   * is all there is, so a day counts at most MAX_READING_SECONDS_PER_DAY: a script posting
   * reports all day cannot buy a trust level with them.
   */
  async recordReadingTime(viewer: Viewer, threadId: number, seconds: number): Promise<void> {
    if (!viewer.user) return
    await this.visibleThread(viewer, threadId)
    await sql`
      insert into user_daily_stats (user_id, day, reading_seconds)
      values (${viewer.user.id}, (now() at time zone 'utc')::date, least(${seconds}::int, ${MAX_READING_SECONDS_PER_DAY}::int))
      on conflict (user_id, day) do update
        set reading_seconds = least(user_daily_stats.reading_seconds + excluded.reading_seconds, ${MAX_READING_SECONDS_PER_DAY}::int)`.execute(this.db)
  }

  /**
   * A post whose text the viewer may read (edit form, reply parent, quote): as visiblePost,
   * and never a deleted one — its text is gone for everyone, staff included.
   */
  async readablePost(viewer: Viewer, postId: number, threadId?: number) {
    const found = await this.visiblePost(viewer, postId)
    if (found.post.deleted_at || (threadId !== undefined && found.post.thread_id !== threadId)) throw new NotFound('No such post')
    return found
  }

  /** Loads a post the viewer may see, with its thread and category. */
  async visiblePost(viewer: Viewer, postId: number, trx?: DbOrTrx) {
    const post = await (trx ?? this.db).selectFrom('posts').selectAll().where('id', '=', postId).executeTakeFirst()
    if (!post) throw new NotFound('No such post')
    const { thread, category } = await this.visibleThread(viewer, post.thread_id, trx)
    const moderator = canModerate(viewer, category.id)
    if (post.hidden_at && !moderator && post.author_id !== viewer.user?.id) throw new NotFound('No such post')
    return { post, thread, category, moderator }
  }

  /**
   * The post a reply form answers, in the thread the URL names, with its author's name
   * and, when asked, the post quoted as Markdown to start the reply with.
   */
  async replyTarget(viewer: Viewer, threadId: number | undefined, postId: number, quote: boolean) {
    const { post, thread } = await this.readablePost(viewer, postId, threadId)
    const { username } = await this.db.selectFrom('users').select('username').where('id', '=', post.author_id).executeTakeFirstOrThrow()
    const body = quote ? `> @${username} wrote:\n${post.body_md.split('\n').map((l) => `> ${l}`).join('\n')}\n\n` : ''
    return { thread, parent: { ...post, author_username: username }, body }
  }

  /**
   * One post as its thread page shows it to this viewer (likes, edit rights, its actions),
   * for the composer to insert a reply it just posted without reloading the page.
   */
  async postView(viewer: Viewer, postId: number) {
    const { post, thread, category, moderator } = await this.readablePost(viewer, postId)
    const userId = viewer.user?.id ?? 0
    const author = await this.db
      .selectFrom('users as u')
      .leftJoin('post_likes as l', (j) => j.on('l.post_id', '=', postId).on('l.user_id', '=', userId))
      .select(['u.username', 'u.display_name', 'u.trust_level', 'u.avatar_key', 'l.user_id as liked_by'])
      .where('u.id', '=', post.author_id)
      .executeTakeFirstOrThrow()
    const s = await this.settings.all()
    const view: PostView = {
      id: post.id,
      post_number: post.post_number,
      replyTo: null,
      parent_id: post.parent_id,
      branch_id: post.branch_id,
      depth: post.depth,
      path: post.path,
      author_id: post.author_id,
      author_username: author.username,
      author_display_name: author.display_name,
      author_trust_level: author.trust_level,
      body_html: post.body_html,
      like_count: post.like_count,
      reply_count: post.reply_count,
      revision_count: post.revision_count,
      created_at: post.created_at,
      edited_at: post.edited_at,
      deleted: false,
      hidden: post.hidden_at !== null,
      liked: author.liked_by !== null,
      isNew: false,
      canEdit: can(viewer, 'edit', { categoryId: category.id, post, editWindowMinutes: s.edit_window_minutes }, { settings: s }),
      children: [],
      // The composer inserts the viewer's own new reply; nobody mutes themselves.
      author_avatar: author.avatar_key,
      mutedAuthor: false,
      continues: false,
      polls: post.has_poll ? ((await this.extras.forPosts(viewer, [post], category.id)).get(post.id) ?? []) : [],
    }
    return {
      post: view,
      thread: { ...thread, url: threadUrl(thread) },
      canReply: can(viewer, 'reply', { categoryId: category.id, thread }, { settings: s }),
      canModerate: moderator,
      canFlag: can(viewer, 'flag', {}),
    }
  }

  /**
   * Where a post lives: its thread page (the right branch page, or its subtree for deep
   * replies), and on it the continuation that holds it when that page is cut short.
   */
  async postUrl(viewer: Viewer, postId: number): Promise<string> {
    const { post, thread } = await this.visiblePost(viewer, postId)
    const base = `/t/${thread.id}/${thread.slug}`
    if (post.depth === 0) return `${base}#p${post.id}`
    const params = new URLSearchParams()
    let scope: { root: { id: number; path: string; depth: number } } | { branches: number[]; first: boolean }
    if (post.depth > MAX_INDENT) {
      const segments = post.path.split('.')
      const rootDepth = Math.floor((post.depth - 1) / MAX_INDENT) * MAX_INDENT
      const rootId = Number(segments[rootDepth])
      params.set('post', String(rootId))
      scope = { root: { id: rootId, path: segments.slice(0, rootDepth + 1).join('.'), depth: rootDepth } }
    } else {
      const before = await this.db
        .selectFrom('posts')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('thread_id', '=', thread.id)
        .where('depth', '=', 1)
        .where('id', '<', post.branch_id)
        .executeTakeFirstOrThrow()
      const page = Math.floor(Number(before.n) / BRANCHES_PER_PAGE)
      const branches = await this.db
        .selectFrom('posts')
        .select('id')
        .where('thread_id', '=', thread.id)
        .where('depth', '=', 1)
        .orderBy('id')
        .offset(Math.max(0, page * BRANCHES_PER_PAGE - 1))
        .limit(page === 0 ? BRANCHES_PER_PAGE : BRANCHES_PER_PAGE + 1)
        .execute()
      if (page > 0) params.set('after', String(branches.shift()!.id))
      scope = { branches: branches.map((b) => b.id), first: page === 0 }
    }
    // The page's posts up to this one, in page order: where a page fills up (posts or bytes),
    // the next continues after its last post, as threadPage cuts them.
    const floor = 'root' in scope ? scope.root.depth : 0
    const upTo = await this.db
      .selectFrom('posts as p')
      .select(['p.id', sql<number>`octet_length(p.body_html)`.as('bytes')])
      .where('p.thread_id', '=', thread.id)
      .where('p.depth', '<=', floor + MAX_INDENT)
      .where('p.path', '<=', post.path)
      .where((eb) => {
        if ('root' in scope) return eb.and([eb('p.path', '>=', scope.root.path), eb('p.path', '<', `${scope.root.path}/`)])
        const inBranches = eb('p.branch_id', 'in', scope.branches.length > 0 ? scope.branches : [0])
        return scope.first ? eb.or([eb('p.depth', '=', 0), inBranches]) : inBranches
      })
      .orderBy('p.path')
      .execute()
    let cont: number | null = null
    let count = 0
    let bytes = 0
    let previous: number | null = null
    for (const row of upTo) {
      if (count > 0 && (count >= POSTS_PER_PAGE || bytes >= PAGE_HTML_BYTES)) {
        cont = previous
        count = 0
        bytes = 0
      }
      count++
      bytes += Number(row.bytes)
      previous = row.id
    }
    if (cont !== null) params.set('cont', String(cont))
    const query = params.toString()
    return `${base}${query ? `?${query}` : ''}#p${post.id}`
  }

  /**
   * The post numbered `number` in a thread the viewer may see, or the first one after it
   * that they may read (a deleted or hidden post is skipped); past the end, the last post.
   */
  async postIdByNumber(viewer: Viewer, threadId: number, number: number): Promise<number> {
    const { category } = await this.visibleThread(viewer, threadId)
    const moderator = canModerate(viewer, category.id)
    const readable = (q: ReturnType<typeof this.numbered>) =>
      moderator ? q : q.where('deleted_at', 'is', null).where((eb) => eb.or([eb('hidden_at', 'is', null), eb('author_id', '=', viewer.user?.id ?? 0)]))
    const found =
      (await readable(this.numbered(threadId)).where('post_number', '>=', number).orderBy('post_number').limit(1).executeTakeFirst()) ??
      (await readable(this.numbered(threadId)).orderBy('post_number', 'desc').limit(1).executeTakeFirst())
    if (!found) throw new NotFound('No such post')
    return found.id
  }

  private numbered(threadId: number) {
    return this.db.selectFrom('posts').select('id').where('thread_id', '=', threadId)
  }

  /** Edits a post, keeping the previous text as a revision anyone who sees the post can open. */
  async edit(viewer: Viewer, postId: number, raw: unknown) {
    const input = parse(EditInput, raw)
    const s = await this.settings.all()
    const body = this.checkBody(input.body, s)
    this.extras.check(body, { isNew: false })
    const rendered = renderMarkdown(body)
    const result = await this.db.transaction().execute(async (trx) => {
      const { post, thread, category, moderator } = await this.visiblePost(viewer, postId, trx)
      await trx.selectFrom('posts').select('id').where('id', '=', postId).forUpdate().execute()
      // The author of a post hidden by flags may edit it once, whatever the edit window, to ask for review.
      const askingReview = post.hidden_at !== null && !moderator && post.author_id === viewer.user?.id && !post.deleted_at
      if (askingReview && post.review_requested_at) {
        throw new Forbidden('You have already edited this hidden post; it stays hidden until a moderator reviews it')
      }
      // Asking for review ignores the edit window, never the member's standing.
      ensure(viewer, 'edit', { categoryId: category.id, post, editWindowMinutes: askingReview ? 0 : s.edit_window_minutes }, { settings: s })
      const title = post.depth === 0 && input.title !== undefined ? this.checkTitle(input.title, s) : null
      const changed = body !== post.body_md || (title !== null && title !== thread.title)
      if (!changed) return { post, thread, category, changed }
      await trx
        .insertInto('post_revisions')
        .values({
          post_id: postId,
          number: post.revision_count + 1,
          body_md: post.body_md,
          editor_id: viewer.user!.id,
          // The title belongs to the opening post's history: kept with each of its revisions.
          title: post.depth === 0 ? thread.title : null,
          reason: input.reason ?? '',
        })
        .execute()
      await trx
        .updateTable('posts')
        .set({ body_md: body, body_html: rendered.html, edited_at: new Date(), revision_count: post.revision_count + 1, ...(askingReview ? { review_requested_at: new Date() } : {}) })
        .where('id', '=', postId)
        .execute()
      if (title !== null && title !== thread.title) {
        await trx.updateTable('threads').set({ title, slug: slugify(title) }).where('id', '=', thread.id).execute()
      }
      if (body !== post.body_md) await this.extras.edited(trx, { postId, threadId: thread.id, body, staff: isStaff(viewer) })
      if (moderator && post.author_id !== viewer.user!.id) {
        await logStaffAction(trx, { actorId: viewer.user!.id, action: 'post.edit', target: { type: 'post', id: postId }, reason: input.reason ?? '', categoryId: category.id, details: { threadId: thread.id } })
      }
      // Live frames carry ids only (the page fetches or reloads for the text), and a post
      // hidden or deleted is not announced at all: its readers may not see it.
      if (!post.hidden_at && !post.deleted_at) {
        await this.outbox.emit(trx, 'post.edited', { threadId: thread.id, postId }, { channels: [`thread:${thread.id}`], categoryId: category.id })
      }
      return { post, thread, category, changed }
    })
    return { id: postId, threadId: result.thread.id, url: await this.postUrl(viewer, postId) }
  }

  /**
   * The edit history of a post, newest edit first: for each edit who made it, when and why,
   * what it changed in the text (a word-level diff with a little context, see
   * revision-diff.ts) and, on an opening post, the title it replaced. Visible to whoever
   * may see the post (hidden posts: their author and moderators); never for a deleted post.
   */
  async revisions(viewer: Viewer, postId: number) {
    const { post, thread } = await this.visiblePost(viewer, postId)
    if (post.deleted_at) throw new NotFound('No such post')
    const rows = await this.db
      .selectFrom('post_revisions as r')
      .leftJoin('users as u', 'u.id', 'r.editor_id')
      .select(['r.number', 'r.body_md', 'r.title', 'r.reason', 'r.created_at', 'u.username as editor'])
      .where('r.post_id', '=', postId)
      .orderBy('r.number', 'asc')
      .execute()
    const currentTitle = post.depth === 0 ? thread.title : null
    // Revision n holds version n (the text before edit n); the version after it is the next revision, or the post now.
    const edits = rows.map((r, i) => {
      const next = rows[i + 1]
      const after = { body: next ? next.body_md : post.body_md, title: next ? next.title : currentTitle }
      return {
        number: r.number,
        created_at: r.created_at,
        editor: r.editor,
        reason: r.reason,
        titleChange: r.title !== null && after.title !== null && r.title !== after.title ? { from: r.title, to: after.title } : null,
        diff: r.body_md === after.body ? null : textDiff(r.body_md, after.body),
      }
    })
    return {
      post,
      thread: { ...thread, url: threadUrl(thread, postId) },
      revisions: rows.slice().reverse(),
      edits: edits.reverse(),
    }
  }

  /**
   * Soft-deletes a post: a placeholder keeps its replies in place. Deleting the opening
   * post deletes the thread. Authors delete their own; moderators any in their categories.
   */
  async delete(viewer: Viewer, postId: number, reason = '') {
    const result = await this.db.transaction().execute(async (trx) => {
      const { post, thread, category } = await this.visiblePost(viewer, postId, trx)
      if (post.deleted_at) return { thread, category, deleted: false }
      ensure(viewer, 'delete', { categoryId: category.id, post })
      await trx.updateTable('posts').set({ deleted_at: new Date(), deleted_by: viewer.user!.id }).where('id', '=', postId).where('deleted_at', 'is', null).execute()
      if (post.depth === 0) {
        await trx.updateTable('threads').set({ deleted_at: new Date() }).where('id', '=', thread.id).execute()
      } else {
        await trx.updateTable('threads').set((eb) => ({ reply_count: eb('reply_count', '-', 1) })).where('id', '=', thread.id).execute()
      }
      if (post.author_id !== viewer.user!.id) {
        await logStaffAction(trx, {
          actorId: viewer.user!.id,
          action: post.depth === 0 ? 'thread.delete' : 'post.delete',
          target: { type: 'post', id: postId },
          reason,
          categoryId: category.id,
          details: { threadId: thread.id },
        })
      }
      await this.outbox.emit(trx, 'post.deleted', { threadId: thread.id, postId }, { channels: [`thread:${thread.id}`], categoryId: category.id })
      return { thread, category, deleted: true }
    })
    return { threadId: result.thread.id, threadDeleted: result.deleted && result.thread.id !== undefined }
  }

  /** Likes or unlikes a post, idempotently; the count changes only when the like row does. */
  async setLike(viewer: Viewer, postId: number, like: boolean): Promise<{ liked: boolean; likeCount: number }> {
    if (!viewer.user) throw new Forbidden('Log in to like posts')
    const userId = viewer.user.id
    const s = await this.settings.all()
    const result = await this.db.transaction().execute(async (trx) => {
      const { post, thread, category } = await this.visiblePost(viewer, postId, trx)
      if (post.deleted_at) throw new NotFound('No such post')
      if (like) ensure(viewer, 'like', { post }, { settings: s })
      else ensure(viewer, 'retract', undefined)
      const changed = like
        ? await trx.insertInto('post_likes').values({ post_id: postId, user_id: userId }).onConflict((oc) => oc.doNothing()).returning(['post_id', 'notification_id']).executeTakeFirst()
        : await trx.deleteFrom('post_likes').where('post_id', '=', postId).where('user_id', '=', userId).returning(['post_id', 'notification_id']).executeTakeFirst()
      const counted = changed
        ? await trx
            .updateTable('posts')
            .set((eb) => ({ like_count: eb('like_count', like ? '+' : '-', 1) }))
            .where('id', '=', postId)
            .returning('like_count')
            .executeTakeFirstOrThrow()
        : await trx.selectFrom('posts').select('like_count').where('id', '=', postId).executeTakeFirstOrThrow()
      if (changed) {
        // After the post's row lock: likes and unlikes of one post are told in turn.
        if (like) {
          await this.notifications.liked(trx, {
            postId, liker: { id: userId, username: (viewer.user as SessionUser).username }, authorId: post.author_id, threadId: thread.id, categoryId: category.id,
            title: thread.title, url: threadUrl(thread, postId),
          })
        } else {
          await this.notifications.unliked(trx, changed.notification_id)
        }
        await this.outbox.emit(trx, 'like.changed', { threadId: thread.id, postId, likeCount: counted.like_count }, { channels: [`thread:${thread.id}`], categoryId: category.id })
      }
      return { likeCount: counted.like_count }
    })
    return { liked: like, likeCount: result.likeCount }
  }

  /** Pins, locks or moves a thread (moderators of its category; moving needs the target too). */
  async moderateThread(viewer: Viewer, threadId: number, raw: unknown) {
    const input = parse(ThreadPatchInput, raw)
    const { thread, category } = await this.visibleThread(viewer, threadId)
    if (!canModerate(viewer, category.id)) throw new Forbidden('Only moderators of this category can do that')
    if (input.categoryId !== undefined && input.categoryId !== category.id) {
      const target = await this.categories.byId(viewer, input.categoryId).catch(() => {
        throw Invalid.field('categoryId', 'Choose a category you moderate')
      })
      if (!canModerate(viewer, target.id)) throw Invalid.field('categoryId', 'Choose a category you moderate')
    }
    const changes: Record<string, unknown> = {}
    if (input.pinned !== undefined && input.pinned !== thread.pinned) changes.pinned = input.pinned
    if (input.locked !== undefined && input.locked !== thread.locked) changes.locked = input.locked
    if (input.categoryId !== undefined && input.categoryId !== category.id) changes.category_id = input.categoryId
    if (Object.keys(changes).length === 0) return { ...thread, url: threadUrl(thread) }
    const updated = await this.db.transaction().execute(async (trx) => {
      const row = await trx.updateTable('threads').set(changes).where('id', '=', threadId).returningAll().executeTakeFirstOrThrow()
      // One entry per change, so a request that pins and locks at once shows both. A move
      // belongs to both categories: readers who cannot see either never see it.
      const log = (action: StaffActionCode, details: Record<string, unknown> = {}) =>
        logStaffAction(trx, { actorId: viewer.user!.id, action, target: { type: 'thread', id: threadId }, reason: input.reason, categoryId: category.id, details })
      if (changes.pinned !== undefined) await log(changes.pinned ? 'thread.pin' : 'thread.unpin')
      if (changes.locked !== undefined) await log(changes.locked ? 'thread.lock' : 'thread.unlock')
      if (changes.category_id !== undefined) await log('thread.move', { toCategoryId: changes.category_id })
      return row
    })
    return { ...updated, url: threadUrl(updated) }
  }

  /** The newest threads with their opening posts, for Atom feeds. */
  async feedThreads(categoryIds: number[], limit = 30) {
    if (categoryIds.length === 0) return []
    const rows = await this.db
      .selectFrom('threads as t')
      .innerJoin('posts as p', (j) => j.onRef('p.thread_id', '=', 't.id').on('p.depth', '=', 0))
      .innerJoin('users as u', 'u.id', 't.author_id')
      .select(['t.id', 't.title', 't.slug', 't.created_at', 't.last_post_at', 'p.body_md', 'p.edited_at', 'u.username as author'])
      .where('t.category_id', 'in', categoryIds)
      .where('t.deleted_at', 'is', null)
      .where('p.deleted_at', 'is', null)
      .where('p.hidden_at', 'is', null)
      .orderBy('t.created_at', 'desc')
      .orderBy('t.id', 'desc')
      .limit(limit)
      .execute()
    return rows.map((r) => ({ ...r, url: threadUrl(r) }))
  }

  /** A member's recent posts in categories the viewer may see (for profiles). */
  async recentPostsBy(viewer: Viewer, authorId: number, limit = 10) {
    const ids = await this.categories.visibleIds(viewer)
    if (ids.length === 0) return []
    const rows = await this.db
      .selectFrom('posts as p')
      .innerJoin('threads as t', 't.id', 'p.thread_id')
      .innerJoin('categories as c', 'c.id', 't.category_id')
      .select(['p.id', 'p.body_md', 'p.created_at', 't.id as thread_id', 't.title', 't.slug'])
      .where('p.author_id', '=', authorId)
      // Comments on ideas belong on the idea's page, not among a member's forum posts.
      .where('c.slug', '<>', IDEA_COMMENTS_CATEGORY)
      .where('p.deleted_at', 'is', null)
      .where('p.hidden_at', 'is', null)
      .where('t.deleted_at', 'is', null)
      .where('t.category_id', 'in', ids)
      .orderBy('p.created_at', 'desc')
      .limit(limit)
      .execute()
    return rows.map((r) => ({ id: r.id, created_at: r.created_at, title: r.title, excerpt: markdownToText(r.body_md, 160), url: threadUrl({ id: r.thread_id, slug: r.slug }, r.id) }))
  }
}
