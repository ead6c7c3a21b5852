import { sql } from 'kysely'
import type { Db } from '../../core/db.js'
import { parse } from '../../core/errors.js'
import { ensure, type Viewer } from '../../core/guard.js'
import type { CategoryService } from '../discussions/categories.js'
import { MemberLookupQuery } from './schemas.js'

/** Suggestions per lookup. */
export const SUGGESTIONS = 8
/** How far back a thread's participants and the community's recent posters are read: bounded, whatever the sizes. */
const THREAD_POSTS_READ = 500
const RECENT_POSTS_READ = 200

/** A member as a suggestion shows them: nothing but their names. */
export interface MemberSuggestion {
  username: string
  displayName: string | null
}

/**
 * Who to suggest while a member types an @-mention. Whatever the community's size, one
 * lookup is two bounded queries (the categories the viewer sees, then the suggestions).
 */
export class MentionService {
  constructor(
    private readonly db: Db,
    private readonly categories: CategoryService,
  ) {}

  /**
   * Members whose username (or display name) starts with `q`, best first: people in the
   * thread being written in (latest first), then people posting lately in the categories
   * the viewer can see, then anyone else alphabetically. Never the viewer themself, nor a
   * member who is suspended. Threads and posts the viewer cannot see never shape the order.
   * With an empty `q` only the first two groups are offered (who is around).
   */
  async suggest(viewer: Viewer, raw: unknown): Promise<MemberSuggestion[]> {
    ensure(viewer, 'lookUpMembers', undefined)
    const { q, threadId } = parse(MemberLookupQuery, raw)
    const visible = await this.categories.visibleIds(viewer)
    const prefix = `${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    const visibleIds = visible.length > 0 ? visible : [0]
    const inThread = threadId
      ? sql`select p.author_id as id, 0 as tier, p.id as recency from posts p
            where p.thread_id = ${threadId} and p.deleted_at is null and p.hidden_at is null
              and exists (select 1 from threads t where t.id = ${threadId} and t.deleted_at is null and t.category_id = any(${visibleIds}::bigint[]))
            order by p.path desc limit ${THREAD_POSTS_READ}`
      : sql`select null::bigint as id, 0 as tier, 0::bigint as recency where false`
    const byName =
      q === ''
        ? sql`select null::bigint as id, 2 as tier, 0::bigint as recency where false`
        : // Bytewise order matches the prefix indexes (migration 0110): one range, read in order, stopped at the limit.
          sql`(select id, 2 as tier, 0::bigint as recency from users where lower(username) collate "C" like ${prefix} order by lower(username) collate "C" limit ${SUGGESTIONS * 2})
              union all
              (select id, 2 as tier, 0::bigint as recency from users where display_name is not null and lower(display_name) collate "C" like ${prefix} order by lower(display_name) collate "C" limit ${SUGGESTIONS})`
    const { rows } = await sql<{ username: string; display_name: string | null }>`
      with candidates as (
        (${inThread})
        union all
        (select r.author_id as id, 1 as tier, r.id as recency from (
          select p.author_id, p.id, p.thread_id from posts p
          where p.deleted_at is null and p.hidden_at is null
          order by p.id desc limit ${RECENT_POSTS_READ}
        ) r join threads t on t.id = r.thread_id and t.deleted_at is null and t.category_id = any(${visibleIds}::bigint[]))
        union all
        (${byName})
      )
      -- Each member once (their best group, their latest post), then their names.
      select u.username, u.display_name
      from (select id, min(tier) as tier, max(recency) as recency from candidates group by id) c
      join users u on u.id = c.id
      where u.id <> ${viewer.user!.id}
        and (u.suspended_until is null or u.suspended_until <= now())
        and (lower(u.username) collate "C" like ${prefix} or lower(u.display_name) collate "C" like ${prefix})
      order by c.tier, c.recency desc, lower(u.username) collate "C"
      limit ${SUGGESTIONS}`.execute(this.db)
    return rows.map((r) => ({ username: r.username, displayName: r.display_name }))
  }
}
