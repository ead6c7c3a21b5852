import { sql } from 'kysely'
import type { Db } from '../../core/db.js'
import type { NotificationLevel } from '../../core/db-types.js'
import { Invalid, NotFound, parse } from '../../core/errors.js'
import { ensure, type Viewer } from '../../core/guard.js'
import type { CategoryService } from '../discussions/categories.js'
import { type DiscussionService, threadUrl } from '../discussions/service.js'
import { LevelInput, LikeSettingInput, MuteInput } from './schemas.js'

/** A member's level for one thread, and where it comes from. */
export interface EffectiveLevel {
  level: NotificationLevel
  /** `thread`: set on the thread (by the member, or by starting or replying to it); `category`: inherited; `default`: neither. */
  from: 'thread' | 'category' | 'default'
  reason: string | null
}

/**
 * How much a member hears, and from whom: notification levels per thread and per category
 * (watching, tracking, normal, muted, as in Discourse), the members they muted, and whether
 * likes notify them. The notification service reads the same tables when it notifies.
 */
export class NotificationLevelService {
  constructor(
    private readonly db: Db,
    private readonly discussions: DiscussionService,
    private readonly categories: CategoryService,
  ) {}

  /** The member's level for a thread they may see (a thread's own level wins over its category's). */
  async forThread(viewer: Viewer, threadId: number): Promise<EffectiveLevel> {
    const user = viewer.user
    const { thread } = await this.discussions.visibleThread(viewer, threadId)
    if (!user) return { level: 'normal', from: 'default', reason: null }
    const row = await sql<{ t: NotificationLevel | null; reason: string | null; c: NotificationLevel | null }>`
      select (select level from thread_notification_levels where user_id = ${user.id} and thread_id = ${thread.id}) as t,
        (select reason from thread_notification_levels where user_id = ${user.id} and thread_id = ${thread.id}) as reason,
        (select level from category_notification_levels where user_id = ${user.id} and category_id = ${thread.category_id}) as c`.execute(this.db)
    const r = row.rows[0]!
    if (r.t) return { level: r.t, from: 'thread', reason: r.reason }
    if (r.c) return { level: r.c, from: 'category', reason: null }
    return { level: 'normal', from: 'default', reason: null }
  }

  /** Sets the member's level for a thread they may see (404 otherwise). */
  async setThreadLevel(viewer: Viewer, threadId: number, raw: unknown): Promise<{ threadId: number; level: NotificationLevel; url: string }> {
    ensure(viewer, 'setNotificationLevel', undefined)
    const { level } = parse(LevelInput, raw)
    const { thread } = await this.discussions.visibleThread(viewer, threadId)
    if (thread.deleted_at) throw new NotFound('No such thread')
    await sql`
      insert into thread_notification_levels (user_id, thread_id, level, reason) values (${viewer.user!.id}, ${thread.id}, ${level}, 'manual')
      on conflict (user_id, thread_id) do update set level = excluded.level, reason = 'manual', updated_at = now()`.execute(this.db)
    return { threadId: thread.id, level, url: threadUrl(thread) }
  }

  /** Forgets the member's own level for a thread: it follows its category again. */
  async clearThreadLevel(viewer: Viewer, threadId: number): Promise<void> {
    ensure(viewer, 'setNotificationLevel', undefined)
    await this.discussions.visibleThread(viewer, threadId)
    await this.db.deleteFrom('thread_notification_levels').where('user_id', '=', viewer.user!.id).where('thread_id', '=', threadId).execute()
  }

  /** The member's level for a category they may see; `normal` is the default and stores nothing. */
  async forCategory(viewer: Viewer, categoryId: number): Promise<NotificationLevel> {
    if (!viewer.user) return 'normal'
    const row = await this.db
      .selectFrom('category_notification_levels')
      .select('level')
      .where('user_id', '=', viewer.user.id)
      .where('category_id', '=', categoryId)
      .executeTakeFirst()
    return row?.level ?? 'normal'
  }

  /** Sets the member's level for a category they may see (404 otherwise). Threads with a level of their own keep it. */
  async setCategoryLevel(viewer: Viewer, categoryId: number, raw: unknown): Promise<{ categoryId: number; level: NotificationLevel; url: string }> {
    ensure(viewer, 'setNotificationLevel', undefined)
    const { level } = parse(LevelInput, raw)
    const category = await this.categories.byId(viewer, categoryId)
    const userId = viewer.user!.id
    if (level === 'normal') {
      await this.db.deleteFrom('category_notification_levels').where('user_id', '=', userId).where('category_id', '=', category.id).execute()
    } else {
      await sql`
        insert into category_notification_levels (user_id, category_id, level) values (${userId}, ${category.id}, ${level})
        on conflict (user_id, category_id) do update set level = excluded.level, updated_at = now()`.execute(this.db)
    }
    return { categoryId: category.id, level, url: `/c/${category.slug}` }
  }

  /**
   * Everything the member set, for the settings page and the API: threads (in categories they
   * can still see) and categories at a level other than normal, the members they muted, and
   * whether likes notify them.
   */
  async overview(viewer: Viewer) {
    const user = viewer.user
    if (!user) throw new NotFound()
    const visible = await this.categories.visibleIds(viewer)
    const [threads, categories, mutes, me] = await Promise.all([
      visible.length === 0
        ? Promise.resolve([])
        : this.db
            .selectFrom('thread_notification_levels as l')
            .innerJoin('threads as t', 't.id', 'l.thread_id')
            .innerJoin('categories as c', 'c.id', 't.category_id')
            .select(['t.id', 't.title', 't.slug', 'c.name as category_name', 'l.level', 'l.reason', 'l.updated_at'])
            .where('l.user_id', '=', user.id)
            .where('t.deleted_at', 'is', null)
            .where('t.category_id', 'in', visible)
            // Normal is what an untouched thread is: listing every thread one replied to and then set back is noise.
            .where('l.level', '<>', 'normal')
            .orderBy('l.updated_at', 'desc')
            .limit(200)
            .execute(),
      visible.length === 0
        ? Promise.resolve([])
        : this.db
            .selectFrom('category_notification_levels as l')
            .innerJoin('categories as c', 'c.id', 'l.category_id')
            .select(['c.id', 'c.name', 'c.slug', 'l.level'])
            .where('l.user_id', '=', user.id)
            .where('c.id', 'in', visible)
            .orderBy('c.position')
            .orderBy('c.id')
            .execute(),
      this.mutes(viewer),
      this.db.selectFrom('users').select('like_notifications').where('id', '=', user.id).executeTakeFirstOrThrow(),
    ])
    return {
      threads: threads.map((t) => ({ id: t.id, title: t.title, url: threadUrl(t), category: t.category_name, level: t.level, reason: t.reason })),
      categories: categories.map((c) => ({ id: c.id, name: c.name, slug: c.slug, url: `/c/${c.slug}`, level: c.level })),
      mutes,
      likeNotifications: me.like_notifications,
    }
  }

  /** The members this member muted, by name. */
  async mutes(viewer: Viewer): Promise<{ id: number; username: string; since: Date }[]> {
    if (!viewer.user) return []
    const rows = await this.db
      .selectFrom('user_mutes as m')
      .innerJoin('users as u', 'u.id', 'm.muted_user_id')
      .select(['u.id', 'u.username', 'm.created_at'])
      .where('m.user_id', '=', viewer.user.id)
      .orderBy('u.username')
      .execute()
    return rows.map((r) => ({ id: r.id, username: r.username, since: r.created_at }))
  }

  /** Mutes a member by username (idempotent). Staff cannot be muted; neither can oneself. */
  async mute(viewer: Viewer, raw: unknown): Promise<{ username: string; muted: true }> {
    const { username } = parse(MuteInput, raw)
    const target = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'role', (eb) => eb.exists(eb.selectFrom('category_moderators').select('user_id').whereRef('user_id', '=', 'users.id')).as('moderates_any')])
      .where(sql<string>`lower(username)`, '=', username.toLowerCase())
      .executeTakeFirst()
    if (!target) throw Invalid.field('username', `There is no member called ${username}`)
    ensure(viewer, 'mute', { target: { id: target.id, role: target.role, moderatesAny: Boolean(target.moderates_any) } })
    await this.db.insertInto('user_mutes').values({ user_id: viewer.user!.id, muted_user_id: target.id }).onConflict((oc) => oc.doNothing()).execute()
    return { username: target.username, muted: true }
  }

  /** Unmutes a member (idempotent). */
  async unmute(viewer: Viewer, username: string): Promise<{ username: string; muted: false }> {
    ensure(viewer, 'retract', undefined)
    const target = await this.db.selectFrom('users').select(['id', 'username']).where(sql<string>`lower(username)`, '=', username.toLowerCase()).executeTakeFirst()
    if (!target) throw new NotFound('No such member')
    await this.db.deleteFrom('user_mutes').where('user_id', '=', viewer.user!.id).where('muted_user_id', '=', target.id).execute()
    return { username: target.username, muted: false }
  }

  /** Turns notifications about likes on the member's posts on or off. */
  async setLikeNotifications(viewer: Viewer, raw: unknown): Promise<{ likes: boolean }> {
    ensure(viewer, 'setNotificationLevel', undefined)
    const { likes } = parse(LikeSettingInput, raw)
    await this.db.updateTable('users').set({ like_notifications: likes }).where('id', '=', viewer.user!.id).execute()
    return { likes }
  }
}
