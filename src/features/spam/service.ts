import { randomBytes } from 'node:crypto'
import disposableDomains from 'disposable-email-domains' with { type: 'json' }
import { type RawBuilder, sql } from 'kysely'
import type { SessionStore, SessionUser } from '../../core/auth/sessions.js'
import { type Db, type DbOrTrx, prepared, preparedTemplate, type Trx } from '../../core/db.js'
import type { User } from '../../core/db-types.js'
import { Conflict, Forbidden, Invalid, NotFound, parse } from '../../core/errors.js'
import { can, canModerate, canSeeCategory, ensure, type GuardUser, isApprover, isStaff, type MemberRank, type Viewer, viewerOf } from '../../core/guard.js'
import { markdownToText, renderMarkdown } from '../../core/markdown.js'
import type { EventType } from '../../core/events.js'
import type { Outbox } from '../../core/outbox.js'
import type { CommunitySettings, CommunitySettingsValues } from '../../core/settings.js'
import type { CategoryService } from '../discussions/categories.js'
import type { DiscussionService, GateRead, HeldRef, PostDraft, PostGate, Screening } from '../discussions/service.js'
import { logStaffAction } from '../moderation/log.js'
import type { NotificationService } from '../notifications/service.js'
import type { SpamChecker } from './checker.js'
import { NEAR_DUPLICATE_BITS, simhash, simhashProbes } from './fingerprint.js'
import { linkDomains } from './links.js'
import { isLocalIp, normaliseIp } from '../../core/net.js'
import { ApplicationDecisionInput, DecisionInput, HeldEditInput, InviteInput, SpammerInput, WatchedWordInput } from './schemas.js'
import { decide, DUPLICATES_COUNTED, type Outcome, type PostFacts, RECENT_POSTS_COUNTED, riskScore, signals, stricter } from './signals.js'
import { SignupTimer } from './signup-token.js'
import { compileAll, compileWord, type CompiledWord, MAX_WATCHED_WORDS, watch } from './watched.js'

const DISPOSABLE = new Set<string>(disposableDomains as string[])
/** A new post is compared with the fingerprints among the last this many written, besides every known spammer's. */
const RECENT_FINGERPRINTS = 2_000
const WATCHED_CACHE_MS = 5_000
/** A sign-up form older than this is sent again (its timing token has gone stale). */
const FORM_MAX_AGE_SECONDS = 24 * 60 * 60
/** A suspension for a spammer: as good as for ever. */
const SPAMMER_SUSPENSION_YEARS = 100

/** How a sign-up arrives: the page's form (honeypot and timing apply) or the API. */
export interface SignupMeta {
  ip?: string | null
  via: 'form' | 'api'
  /** The referral link's code the visitor arrived through, if any. */
  referral?: string | null
}

/** What sign-up screening decided, applied in the account's own transaction by `admit`. */
export interface Admission {
  status: 'approved' | 'pending'
  answers: Record<string, string>
  inviteCode: string | null
  /** In an invite-only community without an invitation code: the owner of the referral link that let them in. */
  referrer?: number | null
  ip: string | null
}

/** One held or flagged post as the approval queue shows it. */
export interface HeldItem {
  id: number
  status: 'pending' | 'flagged'
  kind: 'thread' | 'reply'
  author: string
  authorId: number
  categoryId: number
  categoryName: string
  threadTitle: string
  threadUrl: string | null
  title: string | null
  bodyHtml: string
  excerpt: string
  reasons: string[]
  score: number
  createdAt: Date
  waited: string
  postId: number | null
}

/** "3 minutes", "5 hours", "2 days": how long a post has waited. */
export function waitedFor(since: Date, now = new Date()): string {
  const minutes = Math.max(0, Math.floor((now.getTime() - since.getTime()) / 60_000))
  if (minutes < 1) return 'less than a minute'
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${hours} hour${hours === 1 ? '' : 's'}`
  const days = Math.floor(hours / 24)
  return `${days} days`
}

/** Is the address at a disposable-mail domain (or a subdomain of one)? */
export function isDisposableEmail(email: string): boolean {
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase()
  const parts = domain.split('.')
  for (let i = 0; i < parts.length - 1; i++) if (DISPOSABLE.has(parts.slice(i).join('.'))) return true
  return false
}

/** The questions of the sign-up application, one per line. */
export function applicationQuestions(s: Pick<CommunitySettingsValues, 'spam_application_questions'>): string[] {
  return s.spam_application_questions.split('\n').map((q) => q.trim()).filter(Boolean).slice(0, 10)
}

/**
 * The near-duplicate counts of a text (`known_spam`, `by_others`, `by_author` columns), as index
 * lookups (migrations 0190, 0192): the fingerprints sharing a probed band with the text, among the
 * last RECENT_FINGERPRINTS written and every known spammer's, each pair counted under its first
 * near band only; the author's own recent texts are read from their own. Counting stops at
 * DUPLICATES_COUNTED, so a flood of copies costs no more than one, and an unrelated text
 * examines only the few fingerprints that share a band value with it, however many there are.
 */
export function nearDuplicateCounts(authorId: unknown, fingerprint: unknown, probes: { ordinary: unknown; spam: unknown }) {
  // Built from values or from preparedTemplate's slots alike: nothing here looks at them, and
  // every constant is a literal.
  const fp = sql`coalesce(${fingerprint}::bigint, 0)`
  const has = sql`(${fingerprint}::bigint is not null)`
  const bits = sql.lit(NEAR_DUPLICATE_BITS)
  const recent = sql`(select coalesce(max(id), 0) from post_fingerprints) - ${sql.lit(RECENT_FINGERPRINTS)}`
  // Each probe is its own index range (the lateral subquery is kept apart by its limit, so no
  // plan can turn the probes into a scan of the whole table, statistics or not), read only until
  // it has given `upTo` near-duplicates: counting up to `upTo` over every probe after at most
  // `upTo` from each counts the same as over all of them. A band row carries its fingerprint's
  // simhash and author (migration 0192), so a candidate is judged without another lookup.
  // The probes (`simhashProbes`, 69 band keys) come as a parameter: computed by the function of
  // migration 0190 they cost this statement about a tenth of a millisecond per post.
  const candidates = (knownSpam: boolean, where: RawBuilder<unknown>, upTo: number) => sql`
    select 1 from unnest(${knownSpam ? probes.spam : probes.ordinary}::int[]) p(key)
    cross join lateral (
      select 1 from post_fingerprint_bands b
      where b.key = p.key and ${where}
        and simhash_near_band(b.simhash, ${fp}) = (p.key >> 13) & 7 and bit_count((b.simhash # ${fp})::bit(64)) <= ${bits}
      limit ${sql.lit(upTo)}) c
    where ${has}`
  return sql`
    -- Most forums have no known spam: one probe of its partial index skips the 69.
    (select count(*) from (${candidates(true, sql`true`, 1)} and (select id from post_fingerprints where known_spam order by id desc limit 1) is not null limit 1) spam)::int as known_spam,
    (select count(*) from (
      ${candidates(false, sql`b.fingerprint_id > ${recent} and b.author_id is distinct from ${authorId}::bigint`, DUPLICATES_COUNTED)}
      limit ${sql.lit(DUPLICATES_COUNTED)}) others)::int as by_others,
    (select count(*) from (
      select 1 from post_fingerprints f
      where ${has} and f.author_id = ${authorId}::bigint and not f.known_spam and f.id > ${recent}
        and bit_count((f.simhash # ${fp})::bit(64)) <= ${bits}
      order by f.id desc limit ${sql.lit(DUPLICATES_COUNTED)}) own)::int as by_author`
}

/** Counts a post's link domains (each domain's row, new or not): how the spam check knows a domain it has not seen. */
function linkDomainsUpsert(domains: string[]): RawBuilder<unknown> {
  return sql`insert into link_domains (domain) select unnest(${domains}::text[])
    on conflict (domain) do update set posts = link_domains.posts + 1`
}

/** What the facts statement binds (see `factColumns`). */
type FactValues = {
  authorId: number
  fingerprint: string | null
  /** The fingerprint's band probes (`simhashProbes`), ordinary and known spam. */
  probes: number[]
  spamProbes: number[]
  domains: string[]
  /** The first posts the owner holds (spam_hold_first_posts): published posts are counted that far. */
  firstPosts: number
}

function factValues(authorId: number, fingerprint: string | null, domains: string[], firstPosts: number): FactValues {
  return { authorId, fingerprint, probes: simhashProbes(fingerprint, false), spamProbes: simhashProbes(fingerprint, true), domains, firstPosts }
}

/** What the facts statement reads (SpamService.facts). */
interface FactRow {
  recent: number
  since_last: number | null
  agreed_flags: number
  rejected: number
  published: number
  new_domains: string[]
  known_spam: number
  by_others: number
  by_author: number
}

/**
 * Everything the signals need about the author and the text, as the columns of one select,
 * built from values or from preparedTemplate's slots (nothing here looks at them).
 */
function factColumns(v: { [K in keyof FactValues]: unknown }): RawBuilder<FactRow> {
  const counted = sql.lit(RECENT_POSTS_COUNTED)
  return sql<FactRow>`
        -- Counting stops at RECENT_POSTS_COUNTED: a flood costs no more than its first posts.
        least(${counted},
          (select count(*) from (select 1 from posts where author_id = ${v.authorId}::bigint and created_at > now() - interval '10 minutes' limit ${counted}) p)::int
          + (select count(*) from (select 1 from held_posts where author_id = ${v.authorId}::bigint and created_at > now() - interval '10 minutes' limit ${counted}) h)::int) as recent,
        -- The latest of each kind: one index probe apiece (greatest ignores a null).
        extract(epoch from now() - greatest(
          (select max(created_at) from posts where author_id = ${v.authorId}::bigint and created_at > now() - interval '1 day'),
          (select max(created_at) from held_posts where author_id = ${v.authorId}::bigint and created_at > now() - interval '1 day')))::float8 as since_last,
        (select count(*) from flags f join posts p on p.id = f.post_id where p.author_id = ${v.authorId}::bigint and f.status = 'agreed')::int as agreed_flags,
        (select count(*) from held_posts where author_id = ${v.authorId}::bigint and status = 'rejected')::int as rejected,
        -- Only ever compared with the first posts the owner holds (none by default): counted that far.
        (select count(*) from (select 1 from posts where author_id = ${v.authorId}::bigint limit ${v.firstPosts}::int) mine)::int as published,
        coalesce((select array_agg(d) from unnest(${v.domains}::text[]) d where not exists (select 1 from link_domains l where l.domain = d)), '{}') as new_domains,
        ${nearDuplicateCounts(v.authorId, v.fingerprint, { ordinary: v.probes, spam: v.spamProbes })}`
}

/**
 * Spam and abuse defence: the post gate (risk score, watched words, holds), the approval
 * queue, sign-up defences (honeypot and timing, disposable addresses, the blocked list,
 * applications, invitations) and the one-click spammer action.
 */
export class SpamService implements PostGate {
  private discussions!: DiscussionService
  private watchedCache: { at: number; words: CompiledWord[] } | null = null
  readonly timer: SignupTimer

  constructor(
    private readonly db: Db,
    private readonly settings: CommunitySettings,
    private readonly categories: CategoryService,
    private readonly notifications: NotificationService,
    private readonly outbox: Outbox,
    private readonly sessions: SessionStore,
    secret: string,
    private readonly options: { baseUrl: string; checker?: SpamChecker | null },
  ) {
    this.timer = new SignupTimer(secret)
  }

  /** The discussions service publishes approved posts; the two are built around each other (services.ts). */
  attach(discussions: DiscussionService): void {
    this.discussions = discussions
  }

  // ── the post gate ───────────────────────────────────────────────────────────

  /**
   * Screens a new post: staff and the category's moderators pass untouched; everyone else
   * gets watched words and the risk score, and the first-posts and category holds. Throws
   * Invalid (on `body`) to refuse.
   */
  async screen(viewer: Viewer, draft: PostDraft, along?: { read: GateRead; value: unknown }): Promise<Screening> {
    const user = viewer.user as SessionUser
    const { count, domains } = linkDomains(draft.html)
    const fingerprint = simhash(`${draft.title ?? ''} ${draft.body}`)
    const pass: Screening = { outcome: 'publish', score: 0, reasons: [], title: draft.title, body: draft.body, fingerprint, domains }
    if (canModerate(viewer, draft.categoryId)) return pass
    const s = await this.settings.all()

    // Watched words: title and body alike.
    const words = await this.watchedWords()
    const inBody = watch(draft.body, words)
    const inTitle = draft.title !== null ? watch(draft.title, words) : { action: null, matched: [], text: null }
    const matched = [...new Set([...inTitle.matched, ...inBody.matched])]
    const watchedAction = [inTitle.action, inBody.action].includes('block') ? 'block' : [inTitle.action, inBody.action].includes('hold') ? 'hold' : [inTitle.action, inBody.action].includes('flag') ? 'flag' : null
    if (watchedAction === 'block') {
      throw Invalid.field('body', `Your post contains “${matched[0]}”, which is not allowed here. Change it and post again.`)
    }

    const values = factValues(user.id, fingerprint, domains, s.spam_hold_first_posts)
    // Read along with the caller's own statement when it was read for these very values.
    const read = along && JSON.stringify(along.read.values) === JSON.stringify(values) ? (along.value as FactRow) : undefined
    const facts = await this.facts(user, values, count, draft, read)
    const { score, reasons } = riskScore(signals(facts))
    let outcome: Outcome = decide(score, s)
    if (watchedAction) {
      outcome = stricter(outcome, watchedAction)
      reasons.push(`watched word${matched.length === 1 ? '' : 's'}: ${matched.slice(0, 3).join(', ')}`)
    }
    if (outcome === 'reject') {
      throw Invalid.field('body', 'Our spam filter refused this post. If it is not spam, take out links or repeated text and try again, or ask a moderator.')
    }
    if (outcome !== 'hold') {
      const slugs = s.spam_hold_category_slugs.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean)
      if (slugs.length > 0) {
        const category = (await this.categories.all()).find((c) => c.id === draft.categoryId)
        if (category && slugs.includes(category.slug.toLowerCase())) {
          outcome = 'hold'
          reasons.push('new posts in this category are approved first')
        }
      }
    }
    if (outcome !== 'hold' && s.spam_hold_first_posts > 0 && facts.publishedPosts < s.spam_hold_first_posts) {
      outcome = 'hold'
      reasons.push(`one of the member’s first ${s.spam_hold_first_posts} posts`)
    }
    const title = inTitle.text ?? draft.title
    return { outcome, score, reasons, title, body: inBody.text, fingerprint, domains }
  }

  /**
   * What `screen` reads about the author and the text, for a caller to read in a statement of
   * its own: null for staff (never screened). A category's moderators pass without it.
   */
  async readAlong(viewer: Viewer, draft: Pick<PostDraft, 'title' | 'body' | 'html'>): Promise<GateRead | null> {
    const user = viewer.user
    if (!user || isStaff(viewer)) return null
    const s = await this.settings.all()
    const values = factValues(user.id, simhash(`${draft.title ?? ''} ${draft.body}`), linkDomains(draft.html).domains, s.spam_hold_first_posts)
    return { name: 'spam-facts', values, column: (v) => sql`(select to_jsonb(f) from (select ${factColumns(v as never)}) f)` }
  }

  /** Everything the signals need about the author and the text: one prepared statement (unless read along already). */
  private async facts(user: SessionUser, values: FactValues, links: number, draft: PostDraft, read?: FactRow): Promise<PostFacts & { publishedPosts: number }> {
    const rows = read ? [read] : await preparedTemplate(this.db, 'spam-facts', values, (v) => sql<FactRow>`select ${factColumns(v)}`)
    const f = rows[0]!
    const own = this.options.baseUrl ? new URL(this.options.baseUrl).hostname.replace(/^www\./, '') : ''
    const checker = this.options.checker && user.trust_level < 2
      ? await this.options.checker.check({
          ip: draft.meta.ip ?? null, userAgent: draft.meta.userAgent ?? null, author: user.username, email: user.email,
          content: `${draft.title ?? ''}\n\n${draft.body}`, permalink: this.options.baseUrl,
        })
      : null
    return {
      accountAgeMs: Date.now() - user.created_at.getTime(),
      emailVerified: user.email_verified_at !== null,
      trustLevel: user.trust_level,
      links,
      newDomains: f.new_domains.filter((d) => d !== own),
      duplicates: { knownSpam: f.known_spam, byOthers: f.by_others, byAuthor: f.by_author },
      postsLast10Minutes: f.recent,
      secondsSinceLastPost: f.since_last === null ? null : Number(f.since_last),
      agreedFlags: f.agreed_flags,
      rejectedPosts: f.rejected,
      checker,
      publishedPosts: f.published,
    }
  }

  /**
   * Holds a post for approval instead of publishing it; its author finds it at the returned url.
   * The held row, its fingerprint and its `post.held` event (payload EventMap['post.held']) are
   * one statement, so they are written together or not at all, in one round trip.
   */
  async hold(author: SessionUser, draft: Omit<PostDraft, 'html' | 'meta'>, screening: Screening): Promise<HeldRef> {
    const held: EventType = 'post.held'
    const rows = await prepared(this.db, sql<{ id: number }>`
      with held as (
        insert into held_posts (author_id, category_id, thread_id, parent_id, title, body_md, reasons, score)
        values (${author.id}, ${draft.categoryId}, ${draft.threadId}, ${draft.parentId}, ${draft.title}, ${draft.body}, ${screening.reasons}::text[], ${screening.score})
        returning id
      ),
      -- The text counts for near-duplicates at once: a wave of copies is caught while the first waits.
      printed as (
        insert into post_fingerprints (author_id, simhash)
        select ${author.id}, ${screening.fingerprint}::bigint where ${screening.fingerprint}::bigint is not null
      ),
      announced as (
        insert into outbox (type, payload, channels, category_id)
        select ${held}, jsonb_build_object('heldId', held.id, 'categoryId', ${draft.categoryId}::int, 'status', 'pending'), array['mod'], ${draft.categoryId}
        from held
        returning 1
      )
      select held.id, (select count(*) from announced) as announced from held`)
    this.outbox.written(this.db)
    const id = Number(rows[0]!.id)
    return { id, url: `/pending/${id}` }
  }

  /** The text's fingerprint and its link domains, written by the reply's own statement (PostGate.publishedAlong). */
  publishedAlong(screening: Screening, authorId: number): RawBuilder<unknown>[] {
    return [
      ...(screening.fingerprint
        ? [sql`insert into post_fingerprints (post_id, author_id, simhash) select id, ${authorId}::bigint, ${screening.fingerprint}::bigint from post`]
        : []),
      ...(screening.domains.length > 0 ? [linkDomainsUpsert(screening.domains)] : []),
    ]
  }

  /**
   * In the publishing transaction: the text's fingerprint and its link domains (unless `along`:
   * written with the post already), and a flag for a moderator's look.
   */
  async published(trx: Trx, post: { postId: number; threadId: number; authorId: number; categoryId: number }, screening: Screening, along = false): Promise<void> {
    // Unless they went with the post (publishedAlong).
    if (!along && screening.fingerprint) {
      await trx.insertInto('post_fingerprints').values({ post_id: post.postId, author_id: post.authorId, simhash: screening.fingerprint }).execute()
    }
    if (!along && screening.domains.length > 0) await linkDomainsUpsert(screening.domains).execute(trx)
    if (screening.outcome === 'flag') {
      const row = await trx
        .insertInto('held_posts')
        .values({
          author_id: post.authorId, category_id: post.categoryId, thread_id: post.threadId, post_id: post.postId, status: 'flagged',
          title: screening.title, body_md: screening.body, reasons: screening.reasons, score: screening.score,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      await this.outbox.emit(trx, 'post.held', { heldId: row.id, categoryId: post.categoryId, status: 'flagged' }, { channels: ['mod'], categoryId: post.categoryId })
    }
  }

  // ── what the author sees ────────────────────────────────────────────────────

  /** The viewer's own held posts (waiting, or turned down with the reason), newest first. */
  async mine(viewer: Viewer, threadId?: number) {
    const user = viewer.user
    if (!user) return []
    const rows = await this.heldQuery(this.db)
      .where('h.author_id', '=', user.id)
      .where('h.status', 'in', threadId === undefined ? ['pending', 'rejected'] : ['pending'])
      .$if(threadId !== undefined, (q) => q.where('h.thread_id', '=', threadId!))
      .orderBy('h.id', 'desc')
      .limit(50)
      .execute()
    return rows.map((r) => this.item(r))
  }

  /** One held post, for its author (and approvers of its category); 404 for everyone else. */
  async heldPost(viewer: Viewer, id: number) {
    const row = await this.heldQuery(this.db).where('h.id', '=', id).executeTakeFirst()
    if (!row || !viewer.user) throw new NotFound('No such post')
    const s = await this.settings.all()
    const mayApprove = row.author_id !== viewer.user.id && this.mayApprove(viewer, row, s)
    if (row.author_id !== viewer.user.id && !mayApprove) throw new NotFound('No such post')
    return { item: this.item(row), bodyMd: row.body_md, status: row.status, decisionReason: row.decision_reason, isAuthor: row.author_id === viewer.user.id, mayApprove, postId: row.post_id }
  }

  /** The author edits a post while it waits (title for a thread, and the text). */
  async editHeld(viewer: Viewer, id: number, raw: unknown) {
    const input = parse(HeldEditInput, raw)
    const s = await this.settings.all()
    const user = viewer.user
    if (!user) throw new NotFound('No such post')
    if (input.body.trim().length === 0) throw Invalid.field('body', 'Write something first')
    if (input.body.length > s.max_post_length) throw Invalid.field('body', `Posts are at most ${s.max_post_length.toLocaleString('en')} characters`)
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('held_posts').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
      if (!row || row.author_id !== user.id) throw new NotFound('No such post')
      if (row.status !== 'pending') throw new Conflict('This post has already been reviewed; it can no longer be edited here')
      let title = row.title
      if (row.thread_id === null && input.title !== undefined) {
        if (input.title.length < s.min_title_length) throw Invalid.field('title', `Titles are at least ${s.min_title_length} characters`)
        if (input.title.length > s.max_title_length) throw Invalid.field('title', `Titles are at most ${s.max_title_length} characters`)
        title = input.title
      }
      // Watched words apply to the new text as they did to the first.
      const words = await this.watchedWords()
      const checked = watch(input.body, words)
      if (checked.action === 'block') throw Invalid.field('body', `Your post contains “${checked.matched[0]}”, which is not allowed here. Change it and save again.`)
      await trx.updateTable('held_posts').set({ body_md: checked.text, title, updated_at: new Date() }).where('id', '=', id).execute()
      return { id, url: `/pending/${id}` }
    })
  }

  // ── the approval queue ──────────────────────────────────────────────────────

  private heldQuery(trx: DbOrTrx) {
    return trx
      .selectFrom('held_posts as h')
      .innerJoin('users as u', 'u.id', 'h.author_id')
      .innerJoin('categories as c', 'c.id', 'h.category_id')
      .leftJoin('threads as t', 't.id', 'h.thread_id')
      .select([
        'h.id', 'h.status', 'h.author_id', 'h.category_id', 'h.thread_id', 'h.parent_id', 'h.title', 'h.body_md', 'h.reasons', 'h.score',
        'h.created_at', 'h.post_id', 'h.decision_reason', 'u.username', 'c.name as category_name', 't.title as thread_title', 't.slug as thread_slug',
      ])
  }

  private item(r: {
    id: number; status: string; author_id: number; category_id: number; thread_id: number | null; title: string | null; body_md: string
    reasons: string[]; score: number; created_at: Date; post_id: number | null; username: string; category_name: string
    thread_title: string | null; thread_slug: string | null
  }): HeldItem {
    return {
      id: r.id,
      status: r.status as HeldItem['status'],
      kind: r.thread_id === null ? 'thread' : 'reply',
      author: r.username,
      authorId: r.author_id,
      categoryId: r.category_id,
      categoryName: r.category_name,
      threadTitle: r.thread_title ?? r.title ?? '',
      threadUrl: r.thread_id !== null && r.thread_slug ? `/t/${r.thread_id}/${r.thread_slug}` : null,
      title: r.title,
      bodyHtml: renderMarkdown(r.body_md).html,
      excerpt: markdownToText(r.body_md, 200),
      reasons: r.reasons,
      score: Math.round(r.score),
      createdAt: r.created_at,
      waited: waitedFor(r.created_at),
      postId: r.post_id,
    }
  }

  private mayApprove(viewer: Viewer, row: { category_id: number; author_id: number }, s: CommunitySettingsValues): boolean {
    return !this.approveRefusal(viewer, row, s)
  }

  private approveRefusal(viewer: Viewer, row: { category_id: number; author_id: number }, s: CommunitySettingsValues) {
    try {
      ensure(viewer, 'approvePost', { categoryId: row.category_id, authorId: row.author_id }, { settings: s })
      return null
    } catch (err) {
      return err as Error
    }
  }

  /** May the viewer reach the approval queue at all? */
  async mayReview(viewer: Viewer): Promise<boolean> {
    return isApprover(viewer, { settings: await this.settings.all() })
  }

  /**
   * The posts waiting for this viewer's approval (oldest first: the longest wait on top), and
   * published posts the spam check flagged: only in categories they may approve in, never their own.
   */
  async queue(viewer: Viewer): Promise<HeldItem[]> {
    const s = await this.settings.all()
    ensure(viewer, 'approvalQueue', undefined, { settings: s })
    const all = await this.categories.all()
    const byId = new Map(all.map((c) => [c.id, c]))
    const ids = all
      .filter((c) => canSeeCategory(viewer, c, c.parent_id ? byId.get(c.parent_id) : null) && this.mayApprove(viewer, { category_id: c.id, author_id: 0 }, s))
      .map((c) => c.id)
    if (ids.length === 0) return []
    const rows = await this.heldQuery(this.db)
      .where('h.status', 'in', ['pending', 'flagged'])
      .where('h.category_id', 'in', ids)
      .where('h.author_id', '<>', viewer.user!.id)
      .orderBy('h.created_at')
      .orderBy('h.id')
      .limit(100)
      .execute()
    return rows.map((r) => this.item(r))
  }

  /** How many posts wait for this viewer (the /mod page's link). */
  async waiting(viewer: Viewer): Promise<number> {
    if (!(await this.mayReview(viewer))) return 0
    return (await this.queue(viewer)).filter((i) => i.status === 'pending').length
  }

  /**
   * Decides a held post. Approve publishes it as if posted now, through the same code as any
   * new post: its notifications (replies, mentions) and live events are written now, in this
   * transaction. Reject tells the author why. For a published post the spam check flagged:
   * keep it, or delete it.
   */
  async decide(viewer: Viewer, id: number, raw: unknown) {
    const input = parse(DecisionInput, raw)
    const s = await this.settings.all()
    ensure(viewer, 'approvalQueue', undefined, { settings: s })
    const actorId = viewer.user!.id
    const result: { action: string; url: string | null; deletePostId?: number | null } = await this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('held_posts').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
      if (!row) throw new NotFound('No such post')
      const category = await this.categories.byId(viewer, row.category_id, trx)
      ensure(viewer, 'approvePost', { categoryId: category.id, authorId: row.author_id }, { settings: s })
      const open = row.status === 'pending' || row.status === 'flagged'
      if (!open) throw new Conflict('This post has already been reviewed')
      const flagged = row.status === 'flagged'
      if (flagged !== (input.action === 'keep' || input.action === 'delete')) {
        throw Invalid.field('action', flagged ? 'This post is already published: keep it or delete it' : 'Approve or reject this post')
      }
      const done = (status: 'approved' | 'rejected' | 'dismissed', postId: number | null = row.post_id) =>
        trx.updateTable('held_posts').set({ status, post_id: postId, decided_by: actorId, decided_at: new Date(), decision_reason: input.reason }).where('id', '=', id).execute()

      if (input.action === 'keep') {
        await done('dismissed')
        await logStaffAction(trx, { actorId, action: 'post.review_keep', target: { type: 'post', id: row.post_id ?? 0 }, reason: input.reason, categoryId: category.id })
        return { action: 'kept', url: null as string | null }
      }
      if (input.action === 'delete') {
        await done('dismissed')
        return { action: 'deleted', url: null, deletePostId: row.post_id }
      }
      if (input.action === 'reject') {
        await done('rejected')
        await this.notifications.create(trx, [{
          userId: row.author_id, kind: 'post.rejected', actorId,
          url: `/pending/${id}`,
          text: `Your post “${markdownToText(row.title ?? row.body_md, 60)}” was not approved${input.reason ? `: ${input.reason}` : ''}`,
          payload: { heldId: id, reason: input.reason },
        }])
        await logStaffAction(trx, { actorId, action: 'post.reject', target: { type: 'user', id: row.author_id }, reason: input.reason, categoryId: category.id, details: { heldId: id } })
        return { action: 'rejected', url: null }
      }

      // Approve: published now, as its author, through the one publishing path.
      const authorRow = await trx.selectFrom('users').selectAll().where('id', '=', row.author_id).executeTakeFirstOrThrow()
      const { password_hash: _, ...author } = authorRow as User
      const rendered = renderMarkdown(row.body_md)
      let postId: number
      let url: string
      if (row.thread_id === null) {
        const published = await this.discussions.publishThread(trx, author, category, row.title ?? 'Untitled', row.body_md, rendered)
        postId = published.postId
        url = `/t/${published.thread.id}/${published.thread.slug}`
      } else {
        const where = await this.discussions.visibleThread(viewer, row.thread_id, trx)
        if (where.thread.deleted_at) throw new Conflict('The thread was deleted meanwhile; reject this reply instead')
        if (row.parent_id !== null) {
          const parent = await trx.selectFrom('posts').select('id').where('id', '=', row.parent_id).executeTakeFirst()
          if (!parent) throw new Conflict('The post it answers is gone; reject this reply instead')
        }
        const published = await this.discussions.publishReply(trx, author, where, row.parent_id, row.body_md, rendered)
        postId = published.postId
        url = `/t/${where.thread.id}/${where.thread.slug}#p${postId}`
      }
      await done('approved', postId)
      const { domains } = linkDomains(rendered.html)
      // The fingerprint was recorded when the post was held.
      await this.published(trx, { postId, threadId: row.thread_id ?? 0, authorId: row.author_id, categoryId: category.id }, {
        outcome: 'publish', score: row.score, reasons: [], title: row.title, body: row.body_md, fingerprint: null, domains,
      })
      await this.notifications.create(trx, [{
        userId: row.author_id, kind: 'post.approved', actorId, url,
        text: `Your post “${markdownToText(row.title ?? row.body_md, 60)}” was approved and is now published`,
        payload: { heldId: id, postId },
      }])
      await logStaffAction(trx, { actorId, action: 'post.approve', target: { type: 'post', id: postId }, reason: input.reason, categoryId: category.id, details: { heldId: id } })
      return { action: 'approved', url }
    })
    // Deleting goes through the discussions' own delete (its log entry and live event).
    if (result.deletePostId) await this.discussions.delete(viewer, result.deletePostId, input.reason || 'Spam')
    return { action: result.action, url: result.url }
  }

  // ── the spammer action ──────────────────────────────────────────────────────

  /**
   * One click for staff: deletes every post of the member (and rejects the ones waiting),
   * suspends them, blocks their email address and the IP addresses they signed up and
   * logged in from, adds their texts to the near-duplicate check as known spam, and logs it.
   */
  async markSpammer(actor: GuardUser, userId: number, raw: unknown) {
    const input = parse(SpammerInput, raw)
    const actorViewer = viewerOf(actor)
    return this.db.transaction().execute(async (trx) => {
      const target = await trx.selectFrom('users').select(['id', 'username', 'email', 'role', 'signup_ip']).where('id', '=', userId).forUpdate().executeTakeFirst()
      if (!target) throw new NotFound('No such member')
      const moderates = await trx.selectFrom('category_moderators').select('category_id').where('user_id', '=', userId).limit(1).execute()
      const rank: MemberRank = { id: target.id, role: target.role, moderatesAny: moderates.length > 0 }
      ensure(actorViewer, 'markSpammer', { target: rank })

      // Their posts, deleted as a moderator deletes them (a thread with its opening post), counts kept true.
      const { rows: deleted } = await sql<{ id: number; thread_id: number; depth: number; category_id: number; body_md: string }>`
        with d as (
          update posts set deleted_at = now(), deleted_by = ${actor.id}
          where author_id = ${userId} and deleted_at is null
          returning id, thread_id, depth, body_md
        ),
        threads_gone as (
          update threads set deleted_at = now() where id in (select thread_id from d where depth = 0) and deleted_at is null
        ),
        counts as (
          update threads t set reply_count = greatest(0, t.reply_count - c.n)
          from (select thread_id, count(*)::int as n from d where depth > 0 group by thread_id) c
          where t.id = c.thread_id
        )
        select d.id, d.thread_id, d.depth, t.category_id, d.body_md from d join threads t on t.id = d.thread_id`.execute(trx)
      const held = await trx
        .updateTable('held_posts')
        .set({ status: 'rejected', decided_by: actor.id, decided_at: new Date(), decision_reason: 'Spam' })
        .where('author_id', '=', userId)
        .where('status', '=', 'pending')
        .returning(['body_md', 'title'])
        .execute()
      await trx.updateTable('held_posts').set({ status: 'dismissed', decided_by: actor.id, decided_at: new Date() }).where('author_id', '=', userId).where('status', '=', 'flagged').execute()

      const until = new Date()
      until.setUTCFullYear(until.getUTCFullYear() + SPAMMER_SUSPENSION_YEARS)
      await trx.updateTable('users').set({ suspended_until: until }).where('id', '=', userId).execute()

      // The blocked list: their address, and every public address they came from (never the
      // server's own network: behind a proxy that would block everyone).
      const ips = new Set<string>()
      const seen = [target.signup_ip, ...(await trx.selectFrom('sessions').select('ip').where('user_id', '=', userId).execute()).map((s) => s.ip)]
      for (const ip of seen) if (ip && !isLocalIp(ip)) ips.add(normaliseIp(ip))
      const blocks = [{ kind: 'email' as const, value: target.email.toLowerCase() }, ...[...ips].map((ip) => ({ kind: 'ip' as const, value: ip }))]
      await trx
        .insertInto('blocked_identities')
        .values(blocks.map((b) => ({ ...b, reason: `Spammer ${target.username}: ${input.reason}`, created_by: actor.id })))
        .onConflict((oc) => oc.columns(['kind', 'value']).doNothing())
        .execute()

      // Their texts become known spam for the near-duplicate check.
      const prints = [...deleted.map((p) => p.body_md), ...held.map((h) => `${h.title ?? ''} ${h.body_md}`)]
        .slice(0, 500)
        .map((text) => simhash(text))
        .filter((x): x is string => x !== null)
      if (prints.length > 0) {
        await trx.insertInto('post_fingerprints').values(prints.map((p) => ({ author_id: userId, simhash: p, known_spam: true }))).execute()
      }

      await this.sessions.invalidateAllFor(userId, undefined, trx)
      await logStaffAction(trx, {
        actorId: actor.id, action: 'member.spammer', target: { type: 'user', id: userId }, reason: input.reason,
        details: { username: target.username, posts: deleted.length, held: held.length, blockedIps: ips.size },
      })
      await this.outbox.emitMany(trx, [
        ...deleted.map((p) => ({
          type: 'post.deleted' as const, data: { threadId: p.thread_id, postId: p.id }, channels: [`thread:${p.thread_id}`], categoryId: p.category_id,
        })),
        { type: 'access.changed' as const, data: { userId } },
      ])
      return { username: target.username, posts: deleted.length, held: held.length, blocked: blocks.length }
    })
  }

  // ── sign-up defences ────────────────────────────────────────────────────────

  /** Is this email address or IP address on the blocked list? */
  async blocked(email: string | null, ip: string | null | undefined): Promise<'email' | 'ip' | null> {
    const values = [...(email ? [{ kind: 'email', value: email.toLowerCase() }] : []), ...(ip ? [{ kind: 'ip', value: normaliseIp(ip) }] : [])]
    if (values.length === 0) return null
    const row = await this.db
      .selectFrom('blocked_identities')
      .select('kind')
      .where((eb) => eb.or(values.map((v) => eb.and([eb('kind', '=', v.kind as 'email' | 'ip'), eb('value', '=', v.value)]))))
      .executeTakeFirst()
    return row?.kind ?? null
  }

  /**
   * Screens a sign-up before the account is made: the blocked list, the honeypot and the
   * form's timing (form only), disposable addresses, invitations and application answers.
   * Throws Invalid naming the field; returns what `admit` records with the account.
   */
  async screenSignup(raw: unknown, meta: SignupMeta): Promise<Admission> {
    const form = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>
    const s = await this.settings.all()
    const email = typeof form.email === 'string' ? form.email.trim() : ''
    // One look at the blocked list for both the network and the address.
    const hit = await this.blocked(email || null, meta.ip)
    if (hit === 'ip') throw new Forbidden('Sign-ups from your network are blocked. If you think this is a mistake, contact the community’s owners.')
    if (meta.via === 'form') {
      // Bots fill every field and submit at once; people leave the hidden one empty and take a few seconds.
      if (typeof form.website === 'string' && form.website !== '') throw Invalid.field('started', 'We could not tell you from a bot. Leave the last field empty and send the form again.')
      const age = this.timer.age(form.started)
      if (age === null || age > FORM_MAX_AGE_SECONDS) throw Invalid.field('started', 'This form has expired. Check your details and send it again.')
      if (age < s.spam_signup_min_seconds) throw Invalid.field('started', 'That was quicker than a person can fill in the form. Check your details and send it again.')
    }
    if (email && s.spam_block_disposable_email && isDisposableEmail(email)) {
      throw Invalid.field('email', 'Addresses from disposable email services cannot sign up here. Use an address you keep.')
    }
    if (hit === 'email') throw Invalid.field('email', 'This address cannot sign up here.')

    let inviteCode: string | null = null
    let referrer: number | null = null
    if (s.spam_signup_mode === 'invite') {
      inviteCode = typeof form.invite === 'string' && form.invite.trim() !== '' ? form.invite.trim().slice(0, 64) : null
      // A referral link is an invitation too: an owner's campaign link, or a member's own link
      // when that member may invite people (the guard's `invite`, as for invitation codes).
      const byLink = !inviteCode && meta.referral ? await this.referralInvitation(meta.referral, s) : undefined
      if (byLink !== undefined) referrer = byLink
      else if (!inviteCode) throw Invalid.field('invite', 'Joining this community needs an invitation link from a member.')
      else {
        const invite = await this.db.selectFrom('invites').select(['uses', 'max_uses', 'expires_at']).where('code', '=', inviteCode).executeTakeFirst()
        if (!invite) throw Invalid.field('invite', 'This invitation link is not valid. Ask for a new one.')
        if (invite.expires_at <= new Date()) throw Invalid.field('invite', 'This invitation has expired. Ask for a new one.')
        if (invite.uses >= invite.max_uses) throw Invalid.field('invite', 'This invitation has been used up. Ask for a new one.')
      }
    }
    const answers: Record<string, string> = {}
    if (s.spam_signup_mode === 'approval') {
      applicationQuestions(s).forEach((question, i) => {
        const answer = typeof form[`answer_${i}`] === 'string' ? (form[`answer_${i}`] as string).trim() : ''
        if (answer.length === 0) throw Invalid.field(`answer_${i}`, 'Answer this question')
        if (answer.length > 1_000) throw Invalid.field(`answer_${i}`, 'Keep your answer under 1,000 characters')
        answers[question] = answer
      })
    }
    return { status: s.spam_signup_mode === 'approval' ? 'pending' : 'approved', answers, inviteCode, referrer, ip: meta.ip ? normaliseIp(meta.ip) : null }
  }

  /**
   * Whether a referral link admits a sign-up to an invite-only community: undefined when it
   * does not (no such working link, or its owner may not invite), else who invited (null for
   * a campaign link).
   */
  async referralInvitation(code: string, s: CommunitySettingsValues): Promise<number | null | undefined> {
    const link = await this.db
      .selectFrom('referral_links')
      .select('owner_id')
      .where('code', '=', code.slice(0, 64))
      .where('disabled_at', 'is', null)
      .executeTakeFirst()
    if (!link) return undefined
    if (link.owner_id === null) return null
    const owner = await this.db
      .selectFrom('users')
      .select(['id', 'role', 'trust_level', 'suspended_until', 'silenced_until', 'email_verified_at', 'approval_status'])
      .where('id', '=', link.owner_id)
      .executeTakeFirst()
    return owner && can(viewerOf(owner), 'invite', undefined, { settings: s }) ? owner.id : undefined
  }

  /** Records the admission with the new account, in its transaction (an invitation used up meanwhile rolls it back). */
  async admit(trx: Trx, user: Pick<User, 'id' | 'role'>, admission: Admission): Promise<Pick<User, 'approval_status' | 'application_answers' | 'signup_ip' | 'invited_by'>> {
    let invitedBy: number | null = null
    if (admission.inviteCode) {
      const used = await trx
        .updateTable('invites')
        .set((eb) => ({ uses: eb('uses', '+', 1) }))
        .where('code', '=', admission.inviteCode)
        .where('uses', '<', sql<number>`max_uses`)
        .where('expires_at', '>', new Date())
        .returning('created_by')
        .executeTakeFirst()
      if (!used) throw Invalid.field('invite', 'This invitation has just been used up. Ask for a new one.')
      invitedBy = used.created_by
    } else if (admission.referrer) {
      invitedBy = admission.referrer
    }
    // The first account (the owner) is never held.
    const status = user.role === 'admin' ? 'approved' : admission.status
    return trx
      .updateTable('users')
      .set({ approval_status: status, application_answers: JSON.stringify(admission.answers), signup_ip: admission.ip, invited_by: invitedBy })
      .where('id', '=', user.id)
      .returning(['approval_status', 'application_answers', 'signup_ip', 'invited_by'])
      .executeTakeFirstOrThrow()
  }

  /** Refuses a log-in from a blocked address or to a blocked email. */
  async screenLogin(email: string, ip: string | null | undefined): Promise<void> {
    const hit = await this.blocked(email, ip)
    if (hit === 'ip') throw new Forbidden('Log-ins from your network are blocked. If you think this is a mistake, contact the community’s owners.')
    if (hit === 'email') throw new Forbidden('This account cannot log in.')
  }

  /** How many applications wait, for staff; null for anyone else (the /mod page's link). */
  async applicationsWaiting(viewer: Viewer): Promise<number | null> {
    if (!can(viewer, 'reviewSignups', undefined)) return null
    const { n } = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('approval_status', '=', 'pending').executeTakeFirstOrThrow()
    return Number(n)
  }

  /** Sign-up applications waiting for staff, oldest first. */
  async applications(viewer: Viewer) {
    ensure(viewer, 'reviewSignups', undefined)
    const rows = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'email', 'created_at', 'application_answers'])
      .where('approval_status', '=', 'pending')
      .orderBy('created_at')
      .limit(100)
      .execute()
    return rows.map((r) => ({
      id: r.id, username: r.username, email: r.email, createdAt: r.created_at, waited: waitedFor(r.created_at),
      answers: Object.entries(r.application_answers ?? {}).map(([question, answer]) => ({ question, answer })),
    }))
  }

  /** Approves or turns down an application; the applicant is told (by mail too, with mail on). */
  async decideApplication(viewer: Viewer, userId: number, raw: unknown) {
    ensure(viewer, 'reviewSignups', undefined)
    const input = parse(ApplicationDecisionInput, raw)
    const actorId = viewer.user!.id
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('users').select(['id', 'username', 'approval_status']).where('id', '=', userId).forUpdate().executeTakeFirst()
      if (!row) throw new NotFound('No such member')
      if (row.approval_status !== 'pending') throw new Conflict('This application has already been decided')
      const approve = input.action === 'approve'
      await trx.updateTable('users').set({ approval_status: approve ? 'approved' : 'rejected' }).where('id', '=', userId).execute()
      await this.notifications.create(trx, [{
        userId, kind: approve ? 'account.approved' : 'account.rejected', actorId, url: approve ? '/' : '/settings',
        text: approve ? 'Welcome! Your application to join was approved: you can post now.' : `Your application to join was not approved${input.reason ? `: ${input.reason}` : ''}.`,
        payload: { reason: input.reason },
      }])
      await logStaffAction(trx, { actorId, action: approve ? 'signup.approve' : 'signup.reject', target: { type: 'user', id: userId }, reason: input.reason, details: { username: row.username } })
      await this.outbox.emit(trx, 'access.changed', { userId })
      return { username: row.username, status: approve ? 'approved' : 'rejected' }
    })
  }

  // ── invitations ─────────────────────────────────────────────────────────────

  /** Creates an invitation link (staff; members of trust level 2+ when the owner allows). */
  async createInvite(viewer: Viewer, raw: unknown) {
    const s = await this.settings.all()
    ensure(viewer, 'invite', undefined, { settings: s })
    const input = parse(InviteInput, raw)
    const maxUses = isStaff(viewer) ? input.maxUses : 1
    const code = randomBytes(12).toString('base64url')
    const row = await this.db
      .insertInto('invites')
      .values({ code, created_by: viewer.user!.id, max_uses: maxUses, expires_at: new Date(Date.now() + input.days * 86_400_000) })
      .returning(['id', 'code', 'max_uses', 'uses', 'expires_at'])
      .executeTakeFirstOrThrow()
    return { ...row, url: `${this.options.baseUrl}/signup?invite=${row.code}` }
  }

  /** The viewer's invitation links, newest first. */
  async invites(viewer: Viewer) {
    if (!viewer.user) return []
    const rows = await this.db
      .selectFrom('invites')
      .select(['id', 'code', 'max_uses', 'uses', 'expires_at', 'created_at'])
      .where('created_by', '=', viewer.user.id)
      .orderBy('id', 'desc')
      .limit(50)
      .execute()
    const now = new Date()
    return rows.map((r) => ({ ...r, url: `${this.options.baseUrl}/signup?invite=${r.code}`, open: r.uses < r.max_uses && r.expires_at > now }))
  }

  // ── watched words and the blocked list (owners) ─────────────────────────────

  /** The watched words, compiled (cached for a few seconds, like settings). */
  async watchedWords(): Promise<CompiledWord[]> {
    if (this.watchedCache && Date.now() - this.watchedCache.at < WATCHED_CACHE_MS) return this.watchedCache.words
    const rows = await this.db.selectFrom('watched_words').select(['id', 'pattern', 'is_regex', 'action', 'replacement']).orderBy('id').limit(MAX_WATCHED_WORDS).execute()
    const words = compileAll(rows)
    this.watchedCache = { at: Date.now(), words }
    return words
  }

  async listWatched(actor: GuardUser) {
    ensure(viewerOf(actor), 'administer', undefined)
    return this.db.selectFrom('watched_words').select(['id', 'pattern', 'is_regex', 'action', 'replacement', 'created_at']).orderBy('id').execute()
  }

  /** Adds a watched word or pattern; refuses unsafe patterns and more than MAX_WATCHED_WORDS. */
  async addWatched(actor: GuardUser, raw: unknown) {
    ensure(viewerOf(actor), 'administer', undefined)
    const input = parse(WatchedWordInput, raw)
    compileWord(input.pattern, input.isRegex)
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext('hearth.watched_words'))`.execute(trx)
      const { n } = await trx.selectFrom('watched_words').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      if (Number(n) >= MAX_WATCHED_WORDS) throw Invalid.field('pattern', `There can be at most ${MAX_WATCHED_WORDS} watched words; remove some first`)
      const row = await trx
        .insertInto('watched_words')
        .values({ pattern: input.pattern, is_regex: input.isRegex, action: input.action, replacement: input.replacement, created_by: actor.id })
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .executeTakeFirst()
      if (!row) throw Invalid.field('pattern', 'That word is already watched')
      await logStaffAction(trx, { actorId: actor.id, action: 'watched.add', target: { type: 'settings', id: 'watched_words' }, details: { pattern: input.pattern, action: input.action } })
      this.watchedCache = null
      return row
    })
  }

  async removeWatched(actor: GuardUser, id: number) {
    ensure(viewerOf(actor), 'administer', undefined)
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.deleteFrom('watched_words').where('id', '=', id).returning(['pattern']).executeTakeFirst()
      if (!row) throw new NotFound('No such watched word')
      await logStaffAction(trx, { actorId: actor.id, action: 'watched.remove', target: { type: 'settings', id: 'watched_words' }, details: { pattern: row.pattern } })
    })
    this.watchedCache = null
  }

  async listBlocked(actor: GuardUser) {
    ensure(viewerOf(actor), 'administer', undefined)
    return this.db.selectFrom('blocked_identities').select(['id', 'kind', 'value', 'reason', 'created_at']).orderBy('id', 'desc').limit(200).execute()
  }

  async removeBlocked(actor: GuardUser, id: number) {
    ensure(viewerOf(actor), 'administer', undefined)
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.deleteFrom('blocked_identities').where('id', '=', id).returning(['kind', 'value']).executeTakeFirst()
      if (!row) throw new NotFound('No such entry')
      await logStaffAction(trx, { actorId: actor.id, action: 'blocked.remove', target: { type: 'settings', id: 'blocked_identities' }, details: row })
    })
  }

  /** Deletes fingerprints of ordinary posts older than `days` (known spam is kept). */
  async pruneFingerprints(days = 30): Promise<number> {
    const result = await this.db
      .deleteFrom('post_fingerprints')
      .where('known_spam', '=', false)
      .where('created_at', '<', sql<Date>`now() - ${`${days} days`}::interval`)
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}
