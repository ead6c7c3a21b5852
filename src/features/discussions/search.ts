import { sql } from 'kysely'
import type { Db } from '../../core/db.js'
import { parse } from '../../core/errors.js'
import { markdownToText } from '../../core/markdown.js'
import type { CategoryService } from './categories.js'
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

/** Full-text search over posts and thread titles (PostgreSQL tsvector + GIN), never beyond what the viewer may see. */
export class SearchService {
  constructor(
    private readonly db: Db,
    private readonly categories: CategoryService,
  ) {}

  /** Ranked results with highlighted snippets, filterable by category slug and author username. */
  async search(viewer: Viewer, raw: unknown) {
    const input = parse(SearchQuery, raw)
    const empty = { query: input, results: [], hasMore: false }
    const statement = await this.statement(viewer, input)
    if (!statement) return empty
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
      query: input,
      hasMore: rows.length > PER_PAGE,
      results: rows.slice(0, PER_PAGE).map((r, i) => ({
        postId: r.id,
        threadId: r.thread_id,
        title: r.title,
        author: r.author,
        category: { name: r.category_name, slug: r.category_slug },
        createdAt: r.created_at,
        url: `/p/${r.id}`,
        snippetHtml: highlight(snippets[i] ?? ''),
        isThread: r.depth === 0,
      })),
    }
  }

  /** The search's one statement for its results (null when nothing can match); tests read its plan. */
  async statement(viewer: Viewer, input: SearchInput) {
    if (input.q.length === 0) return null
    const visible = await this.categories.visible(viewer)
    let ids = visible.map((c) => c.id)
    if (input.category) {
      const wanted = visible.find((c) => c.slug === input.category!.toLowerCase())
      ids = wanted ? visible.filter((c) => c.id === wanted.id || c.parent_id === wanted.id).map((c) => c.id) : []
    }
    if (ids.length === 0) return null
    const query = sql`websearch_to_tsquery('english', ${input.q})`
    // Rank and cut to one page first; only that page's snippets are built (ts_headline is costly).
    // Candidates: posts whose text matches, and opening posts whose thread title matches, each
    // side by its GIN index. Ranking reads every candidate's vector, so a very common query ranks
    // only the newest matches: the cost stays bounded however much the community has written.
    // Each candidate is then looked up by primary key in a LATERAL subquery, so the query is
    // driven from the candidates whatever the planner believes: without statistics it may
    // otherwise scan every visible post and probe the candidate set for each (quadratic).
    const byAuthor = input.author
      ? sql`and exists (select 1 from users u where u.id = p.author_id and lower(u.username) = ${input.author.toLowerCase()})`
      : sql``
    const hits = sql<{ id: number; rank: number }>`(
      select x.id, x.rank
      from unnest(array(
        (select id from posts where search @@ ${query} order by id desc limit ${MAX_CANDIDATES})
        union
        (select op.id from threads tt join posts op on op.thread_id = tt.id and op.depth = 0
         where tt.search @@ ${query} order by tt.id desc limit ${MAX_CANDIDATES})
      )) as c(id)
      cross join lateral (
        select p.id, ts_rank_cd(p.search, ${query}) + case when p.depth = 0 then 2 * ts_rank(t.search, ${query}) else 0 end as rank
        from posts p
        -- LIMIT 1 keeps each lookup a subquery of its own (the planner cannot flatten and reorder it).
        cross join lateral (select tt.search, tt.category_id, tt.deleted_at from threads tt where tt.id = p.thread_id limit 1) t
        where p.id = c.id and t.category_id in (${sql.join(ids)})
          and t.deleted_at is null and p.deleted_at is null and p.hidden_at is null ${byAuthor}
        limit 1
      ) x
      order by x.rank desc, x.id desc
      limit ${PER_PAGE + 1} offset ${(input.page - 1) * PER_PAGE})`
    return this.db
      .selectFrom(hits.as('h'))
      .innerJoin('posts as p', 'p.id', 'h.id')
      .innerJoin('threads as t', 't.id', 'p.thread_id')
      .innerJoin('users as u', 'u.id', 'p.author_id')
      .innerJoin('categories as c', 'c.id', 't.category_id')
      .select([
        'p.id', 'p.depth', 'p.created_at', 't.id as thread_id', 't.title', 'u.username as author', 'c.name as category_name', 'c.slug as category_slug', 'h.rank', 'p.body_md',
      ])
      .orderBy('h.rank', 'desc')
      .orderBy('p.id', 'desc')
  }
}
