import { sql } from 'kysely'
import type { Db } from '../../core/db.js'
import { parse } from '../../core/errors.js'
import { markdownToText } from '../../core/markdown.js'
import type { CategoryService } from './categories.js'
import type { Viewer } from '../../core/guard.js'
import { SearchQuery } from './schemas.js'

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
    if (input.q.length === 0) return empty
    const visible = await this.categories.visible(viewer)
    let ids = visible.map((c) => c.id)
    if (input.category) {
      const wanted = visible.find((c) => c.slug === input.category!.toLowerCase())
      ids = wanted ? visible.filter((c) => c.id === wanted.id || c.parent_id === wanted.id).map((c) => c.id) : []
    }
    if (ids.length === 0) return empty
    const query = sql`websearch_to_tsquery('english', ${input.q})`
    // Rank and cut to one page first; only that page's snippets are built (ts_headline is costly).
    const hits = this.db
      .selectFrom('posts as p')
      .innerJoin('threads as t', 't.id', 'p.thread_id')
      .innerJoin('users as u', 'u.id', 'p.author_id')
      .select([
        'p.id',
        sql<number>`ts_rank_cd(p.search, ${query}) + case when p.depth = 0 then 2 * ts_rank(t.search, ${query}) else 0 end`.as('rank'),
      ])
      .where('t.category_id', 'in', ids)
      .where('t.deleted_at', 'is', null)
      .where('p.deleted_at', 'is', null)
      .where('p.hidden_at', 'is', null)
      // Posts whose text matches, and opening posts whose thread title matches, each side by its
      // GIN index. Ranking reads every candidate's vector, so a very common query ranks only the
      // newest matches: the cost stays bounded however much the community has written.
      .where(
        sql<boolean>`p.id in (
          (select id from posts where search @@ ${query} order by id desc limit ${MAX_CANDIDATES})
          union
          (select op.id from threads tt join posts op on op.thread_id = tt.id and op.depth = 0
           where tt.search @@ ${query} order by tt.id desc limit ${MAX_CANDIDATES}))`,
      )
      .$if(!!input.author, (q) => q.where(sql`lower(u.username)`, '=', input.author!.toLowerCase()))
      .orderBy('rank', 'desc')
      .orderBy('p.id', 'desc')
      .limit(PER_PAGE + 1)
      .offset((input.page - 1) * PER_PAGE)
    const rows = await this.db
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
      .execute()
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
}
