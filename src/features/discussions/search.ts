import { sql } from 'kysely'
import type { Db } from '../../core/db.js'
import { parse } from '../../core/errors.js'
import { markdownToText } from '../../core/markdown.js'
import type { CategoryService } from './categories.js'
import { participantView } from './service.js'
import { STATUS_LABELS } from '../ideas/schemas.js'
import type { IdeaStatus } from '../../core/db-types.js'
import type { Viewer } from '../../core/guard.js'
import { SearchQuery } from './schemas.js'

type SearchInput = ReturnType<typeof SearchQuery.parse>

const PER_PAGE = 20
const MAX_CANDIDATES = 2_000
/** Plain text longer than this is cut before highlighting (ts_headline reads all of it). */
const MAX_SNIPPET_SOURCE = 20_000
// Markers ts_headline wraps matches in; the snippet is escaped, then they become <mark>.
const START = '⟦'
const STOP = '⟧'

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** A snippet from ts_headline, escaped, with the matched words in <mark>. */
export function highlight(snippet: string): string {
  return escapeHtml(snippet).replaceAll(START, '<mark>').replaceAll(STOP, '</mark>')
}

/** The best matching ideas and members shown above the posts when searching everything. */
const PREVIEW = 5
const PERIOD_INTERVAL = { day: '1 day', week: '7 days', month: '1 month', year: '1 year' } as const

/** The words of a search as a prefix query for names: "jan do" → 'jan':* & 'do':* (null when there are none). */
export function namePrefixQuery(text: string): string | null {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, 5)
  return words.length === 0 ? null : words.map((w) => `'${w}':*`).join(' & ')
}

/** One found member. */
export interface MemberHit {
  username: string
  displayName: string | null
  trustLevel: number
  joinedAt: Date
  url: string
  initials: string
  hue: number
}

/** One found idea. */
export interface IdeaHit {
  ideaId: number
  title: string
  status: string
  statusLabel: string
  votes: number
  author: string | null
  createdAt: Date
  url: string
  snippetHtml: string
}

/**
 * Full-text search over posts and thread titles (PostgreSQL tsvector + GIN), never beyond
 * what the viewer may see, and over ideas and members' names. Filters (author, category,
 * dates) and the order (relevance, newest, most liked) apply to posts and ideas alike.
 */
export class SearchService {
  constructor(
    private readonly db: Db,
    private readonly categories: CategoryService,
  ) {}

  /** Ranked results with highlighted snippets, plus matching ideas and members. */
  async search(viewer: Viewer, raw: unknown) {
    const input = parse(SearchQuery, raw)
    const filtered = Boolean(input.author || input.category || input.after || input.before || input.period)
    const empty = { query: input, results: [], hasMore: false, ideas: [] as IdeaHit[], ideasMore: false, members: [] as MemberHit[], membersMore: false, filtered }
    if (input.q.length === 0) return empty
    const wantPosts = input.type === 'all' || input.type === 'posts'
    // Ideas have no category; members have no author or dates: with those filters they stay out of "all".
    const wantIdeas = input.type === 'ideas' || (input.type === 'all' && !input.category && input.page === 1)
    const wantMembers = input.type === 'members' || (input.type === 'all' && !filtered && input.page === 1)
    const [posts, ideas, members] = await Promise.all([
      wantPosts ? this.posts(viewer, input) : { results: [], hasMore: false },
      wantIdeas ? this.ideas(input, input.type === 'ideas' ? PER_PAGE : PREVIEW) : { hits: [], more: false },
      wantMembers ? this.members(input, input.type === 'members' ? PER_PAGE : PREVIEW) : { hits: [], more: false },
    ])
    return { ...empty, ...posts, ideas: ideas.hits, ideasMore: ideas.more, members: members.hits, membersMore: members.more }
  }

  private async posts(viewer: Viewer, input: SearchInput) {
    const statement = await this.statement(viewer, input)
    if (!statement) return { results: [], hasMore: false }
    const rows = await statement.execute()
    const query = sql`websearch_to_tsquery('english', ${input.q})`
    // Snippets come from the posts' plain text, so no markdown syntax shows through; one
    // statement highlights the whole page.
    const texts = rows.slice(0, PER_PAGE).map((r) => markdownToText(r.body_md, MAX_SNIPPET_SOURCE))
    const snippets = texts.length === 0 ? [] : (
      await sql<{ snippet: string }>`
        select ts_headline('english', x.body, ${query}, ${`StartSel=${START}, StopSel=${STOP}, MaxWords=40, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "`}) as snippet
        from unnest(${texts}::text[]) with ordinality as x(body, n) order by x.n`.execute(this.db)
    ).rows.map((r) => r.snippet)
    return {
      hasMore: rows.length > PER_PAGE,
      results: rows.slice(0, PER_PAGE).map((r, i) => ({
        postId: r.id,
        threadId: r.thread_id,
        title: r.title,
        author: r.author,
        category: { name: r.category_name, slug: r.category_slug },
        createdAt: r.created_at,
        likes: r.like_count,
        url: `/p/${r.id}`,
        snippetHtml: highlight(snippets[i] ?? ''),
        isThread: r.depth === 0,
      })),
    }
  }

  /** The time bounds of a search: [from, to) as SQL, either of them null. */
  private bounds(input: SearchInput) {
    const from = input.period ? sql`now() - ${sql.raw(`interval '${PERIOD_INTERVAL[input.period]}'`)}` : input.after ? sql`${input.after}::date::timestamptz` : null
    const to = input.before ? sql`${input.before}::date::timestamptz` : null
    return { from, to }
  }

  /** The author filter's member id: undefined without one, null when nobody has that name. */
  private async authorId(input: SearchInput): Promise<number | null | undefined> {
    if (!input.author) return undefined
    const name = input.author.replace(/^@/, '').toLowerCase()
    const row = await this.db.selectFrom('users').select('id').where(sql<string>`lower(username)`, '=', name).executeTakeFirst()
    return row?.id ?? null
  }

  /** Ideas whose title or text match, not merged into another. */
  private async ideas(input: SearchInput, limit: number): Promise<{ hits: IdeaHit[]; more: boolean }> {
    const authorId = await this.authorId(input)
    if (authorId === null) return { hits: [], more: false }
    const query = sql`websearch_to_tsquery('english', ${input.q})`
    const { from, to } = this.bounds(input)
    const order =
      input.sort === 'newest' ? sql`i.created_at desc, i.id desc`
      : input.sort === 'likes' ? sql`i.vote_count desc, ts_rank(i.search, ${query}) desc, i.id desc`
      : sql`ts_rank(i.search, ${query}) desc, i.vote_count desc, i.id desc`
    const offset = input.type === 'ideas' ? (input.page - 1) * PER_PAGE : 0
    const { rows } = await sql<{ id: number; title: string; status: string; vote_count: number; created_at: Date; author: string | null; snippet: string }>`
      select x.*, ts_headline('english', x.excerpt, ${query}, ${`StartSel=${START}, StopSel=${STOP}, MaxWords=30, MinWords=10`}) as snippet
      from (
        select i.id, i.title, i.status, i.vote_count, i.created_at, i.excerpt, u.username as author
        from ideas i left join users u on u.id = i.author_id
        where i.search @@ ${query} and i.merged_into_id is null
          ${authorId !== undefined ? sql`and i.author_id = ${authorId}` : sql``}
          ${from ? sql`and i.created_at >= ${from}` : sql``}
          ${to ? sql`and i.created_at < ${to}` : sql``}
        order by ${order}
        limit ${limit + 1} offset ${offset}
      ) x`.execute(this.db)
    return {
      more: rows.length > limit,
      hits: rows.slice(0, limit).map((r) => ({
        ideaId: r.id, title: r.title, status: r.status, statusLabel: STATUS_LABELS[r.status as IdeaStatus] ?? r.status, votes: r.vote_count, author: r.author, createdAt: r.created_at,
        url: `/ideas/${r.id}`, snippetHtml: highlight(r.snippet),
      })),
    }
  }

  /** Members whose username or display name has words starting with the search's words. */
  private async members(input: SearchInput, limit: number): Promise<{ hits: MemberHit[]; more: boolean }> {
    const statement = this.memberStatement(input, limit)
    if (!statement) return { hits: [], more: false }
    const rows = await statement.execute()
    return {
      more: rows.length > limit,
      hits: rows.slice(0, limit).map((r) => {
        const p = participantView({ id: r.id, username: r.username, display_name: r.display_name, post_count: 0 })
        return { username: r.username, displayName: r.display_name, trustLevel: r.trust_level, joinedAt: r.created_at, url: `/u/${r.username}`, initials: p.initials, hue: p.hue }
      }),
    }
  }

  /** The members search's statement (null when the search has no name-like words); tests read its plan. */
  memberStatement(raw: unknown, limit = PER_PAGE) {
    const input = parse(SearchQuery, raw)
    const words = namePrefixQuery(input.q)
    if (!words) return null
    const offset = input.type === 'members' ? (input.page - 1) * PER_PAGE : 0
    const exact = input.q.replace(/^@/, '').toLowerCase()
    return this.db
      .selectFrom('users')
      .select(['id', 'username', 'display_name', 'trust_level', 'created_at'])
      .where(sql<boolean>`to_tsvector('simple', username || ' ' || coalesce(display_name, '')) @@ to_tsquery('simple', ${words})`)
      // The exact name first, then the most recently active.
      .orderBy(sql`lower(username) = ${exact}`, 'desc')
      .orderBy(sql`last_seen_at desc nulls last`)
      .orderBy('id')
      .limit(limit + 1)
      .offset(offset)
  }

  /** The posts search's one statement (null when nothing can match); tests read its plan. */
  async statement(viewer: Viewer, raw: unknown) {
    const input = parse(SearchQuery, raw)
    if (input.q.length === 0) return null
    const visible = await this.categories.visible(viewer)
    let ids = visible.map((c) => c.id)
    let narrowed = false
    if (input.category) {
      const wanted = visible.find((c) => c.slug === input.category!.toLowerCase())
      ids = wanted ? visible.filter((c) => c.id === wanted.id || c.parent_id === wanted.id).map((c) => c.id) : []
      narrowed = true
    }
    if (ids.length === 0) return null
    const authorId = await this.authorId(input)
    if (authorId === null) return null
    const query = sql`websearch_to_tsquery('english', ${input.q})`
    const { from, to } = this.bounds(input)
    // Rank and cut to one page first; only that page's snippets are built (ts_headline is costly).
    // Candidates: posts whose text matches, and opening posts whose thread title matches, each
    // side by its GIN index, with the author, date and category filters applied there (so a
    // filter never empties a page that the newest candidates happened to fill). Ranking reads
    // every candidate's vector, so a very common query ranks only the newest matches: the cost
    // stays bounded however much the community has written.
    // Each candidate is then looked up by primary key in a LATERAL subquery, so the query is
    // driven from the candidates whatever the planner believes: without statistics it may
    // otherwise scan every visible post and probe the candidate set for each (quadratic).
    const postFilters = (alias: string) => sql.join(
      [
        authorId !== undefined ? sql`${sql.ref(`${alias}.author_id`)} = ${authorId}` : null,
        from ? sql`${sql.ref(`${alias}.created_at`)} >= ${from}` : null,
        to ? sql`${sql.ref(`${alias}.created_at`)} < ${to}` : null,
      ].filter((f) => f !== null).map((f) => sql`and ${f}`),
      sql` `,
    )
    const inCategories = narrowed ? sql`and cp.thread_id in (select ct.id from threads ct where ct.category_id in (${sql.join(ids)}))` : sql``
    const order =
      input.sort === 'newest' ? sql`x.created_at desc, x.id desc`
      : input.sort === 'likes' ? sql`x.like_count desc, x.rank desc, x.id desc`
      : sql`x.rank desc, x.id desc`
    const hits = sql<{ id: number; rank: number }>`(
      select x.id, x.rank
      from unnest(array(
        (select cp.id from posts cp where cp.search @@ ${query} ${postFilters('cp')} ${inCategories} order by cp.id desc limit ${MAX_CANDIDATES})
        union
        (select op.id from threads tt join posts op on op.thread_id = tt.id and op.depth = 0
         where tt.search @@ ${query} ${postFilters('op')} ${narrowed ? sql`and tt.category_id in (${sql.join(ids)})` : sql``}
         order by tt.id desc limit ${MAX_CANDIDATES})
      )) as c(id)
      cross join lateral (
        select p.id, p.created_at, p.like_count,
          ts_rank_cd(p.search, ${query}) + case when p.depth = 0 then 2 * ts_rank(t.search, ${query}) else 0 end as rank
        from posts p
        -- LIMIT 1 keeps each lookup a subquery of its own (the planner cannot flatten and reorder it).
        cross join lateral (select tt.search, tt.category_id, tt.deleted_at from threads tt where tt.id = p.thread_id limit 1) t
        where p.id = c.id and t.category_id in (${sql.join(ids)})
          and t.deleted_at is null and p.deleted_at is null and p.hidden_at is null
        limit 1
      ) x
      order by ${order}
      limit ${PER_PAGE + 1} offset ${(input.page - 1) * PER_PAGE})`
    const outer =
      input.sort === 'newest' ? [sql`p.created_at desc`, sql`p.id desc`]
      : input.sort === 'likes' ? [sql`p.like_count desc`, sql`h.rank desc`, sql`p.id desc`]
      : [sql`h.rank desc`, sql`p.id desc`]
    let q = this.db
      .selectFrom(hits.as('h'))
      .innerJoin('posts as p', 'p.id', 'h.id')
      .innerJoin('threads as t', 't.id', 'p.thread_id')
      .innerJoin('users as u', 'u.id', 'p.author_id')
      .innerJoin('categories as c', 'c.id', 't.category_id')
      .select([
        'p.id', 'p.depth', 'p.created_at', 'p.like_count', 't.id as thread_id', 't.title', 'u.username as author', 'c.name as category_name', 'c.slug as category_slug', 'h.rank', 'p.body_md',
      ])
    for (const o of outer) q = q.orderBy(o)
    return q
  }
}
