import { sql } from 'kysely'
import { z } from 'zod'
import { cursorId, decodeCursor, encodeCursor } from '../../core/cursor.js'
import type { Db } from '../../core/db.js'
import { can, type Viewer } from '../../core/guard.js'

/** How the directory can be ordered. */
export const MEMBER_SORTS = ['posts', 'likes', 'newest', 'name'] as const
export type MemberSort = (typeof MEMBER_SORTS)[number]

/** The directory's row value per sort: (key, id). */
export const MemberCursor = z.union([z.tuple([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), cursorId]), z.tuple([z.string().max(60), cursorId])])

export const DirectoryQuery = z.object({
  sort: z.enum(MEMBER_SORTS, { error: 'Sort by posts, likes, newest or name' }).default('posts'),
  q: z.string().trim().max(40, 'Search for at most 40 characters').default(''),
  cursor: z.string().max(200).default(''),
})

/** One member as the directory lists them. */
export interface DirectoryMember {
  id: number
  username: string
  displayName: string | null
  role: string
  trustLevel: number
  createdAt: Date
  lastSeenAt: Date | null
  posts: number
  likesReceived: number
  suspended: boolean
  deleted: boolean
}

const PAGE = 30

/**
 * The member directory (`/u`, `GET /api/v1/members`): everyone with their post and
 * received-like counts, sorted by activity, likes, join date or name, searchable by name,
 * paged by keyset. Suspended and deleted members are listed only for staff.
 */
export class MemberDirectory {
  constructor(private readonly db: Db) {}

  async list(viewer: Viewer, raw: unknown): Promise<{ members: DirectoryMember[]; nextCursor: string | null; sort: MemberSort; q: string }> {
    const { sort, q, cursor } = DirectoryQuery.parse(raw)
    const staff = can(viewer, 'seeHiddenMembers', undefined)
    const after = cursor ? decodeCursor(MemberCursor, cursor) : null
    const pattern = `%${q.replace(/[\\%_]/g, '\\$&')}%`
    const key = {
      posts: sql`s.posts`,
      likes: sql`s.likes`,
      newest: sql`floor(extract(epoch from s.created_at))::bigint`,
      name: sql`lower(s.username)`,
    }[sort]
    const ascending = sort === 'name'
    const keyset = after
      ? ascending
        ? sql`and (${key}, s.id) > (${after[0]}, ${after[1]})`
        : sql`and (${key}, s.id) < (${after[0]}, ${after[1]})`
      : sql``
    const order = ascending ? sql`${key} asc, s.id asc` : sql`${key} desc, s.id desc`
    const { rows } = await sql<{
      id: number
      username: string
      display_name: string | null
      role: string
      trust_level: number
      created_at: Date
      last_seen_at: Date | null
      suspended_until: Date | null
      deleted_at: Date | null
      posts: number
      likes: number
    }>`
      with s as (
        select u.id, u.username, u.display_name, u.role, u.trust_level, u.created_at, u.last_seen_at, u.suspended_until, u.deleted_at,
          coalesce(p.posts, 0)::int as posts, coalesce(p.likes, 0)::int as likes
        from users u
        left join lateral (
          select count(*) as posts, sum(like_count) as likes from posts
          where author_id = u.id and deleted_at is null and hidden_at is null
        ) p on true
        where ${staff ? sql`true` : sql`u.deleted_at is null and (u.suspended_until is null or u.suspended_until <= now())`}
          ${q ? sql`and (u.username ilike ${pattern} or u.display_name ilike ${pattern})` : sql``}
      )
      select * from s where true ${keyset} order by ${order} limit ${PAGE + 1}`.execute(this.db)
    const page = rows.slice(0, PAGE)
    const last = page.at(-1)
    const keyOf = (r: (typeof rows)[number]) =>
      sort === 'posts' ? r.posts : sort === 'likes' ? r.likes : sort === 'newest' ? Math.floor(r.created_at.getTime() / 1000) : r.username.toLowerCase()
    const now = new Date()
    return {
      members: page.map((r) => ({
        id: r.id,
        username: r.username,
        displayName: r.display_name,
        role: r.role,
        trustLevel: r.trust_level,
        createdAt: r.created_at,
        lastSeenAt: r.last_seen_at,
        posts: r.posts,
        likesReceived: r.likes,
        suspended: !!r.suspended_until && r.suspended_until > now,
        deleted: !!r.deleted_at,
      })),
      nextCursor: rows.length > PAGE && last ? encodeCursor([keyOf(last), last.id]) : null,
      sort,
      q,
    }
  }
}
