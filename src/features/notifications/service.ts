import { type RawBuilder, sql } from 'kysely'
import { type Db, type DbOrTrx, prepared, type Trx } from '../../core/db.js'
import type { Role } from '../../core/db-types.js'
import { NotFound } from '../../core/errors.js'
import type { EventMap } from '../../core/events.js'
import { canSeeCategory } from '../../core/guard.js'
import type { EventConsumer, EventInput, Outbox } from '../../core/outbox.js'
import type { CategoryService } from '../discussions/categories.js'

/** What a feature asks to tell a member. `text` is plain text (escaped when shown). */
export interface NewNotification {
  userId: number
  kind: string
  text: string
  url: string
  actorId?: number | null
  payload?: Record<string, unknown>
  /**
   * Notifications with the same key collapse while unread: the next one bumps the unread
   * row's count and replaces its text with `${count} ${many}` instead of adding a row.
   */
  group?: { key: string; many: string }
  /** Where it happened: a member who muted the thread or its category hears nothing from it. */
  threadId?: number
  categoryId?: number
}

export interface NotificationRow {
  id: number
  user_id: number
  kind: string
  url: string
  payload: Record<string, unknown>
  actor_id: number | null
  read_at: Date | null
  created_at: Date
}

/**
 * Kinds about what members write (as opposed to moderation, ideas' status, betas): only these
 * are silenced by muting the member who caused them or the thread/category they happen in.
 * Moderation notices always arrive, whoever sends them.
 */
export const MUTEABLE_KINDS = ['reply', 'mention', 'posted', 'like'] as const

const PAGE = 30

/**
 * The rows to notify as a SELECT of (ord, user_id, kind, url, actor_id, payload, group_key,
 * many, thread_id, category_id), filtered by mutes and levels, and upserted: one statement that
 * also writes a `notification.created` event per new row (a bumped row, already unread and
 * counted in the badge, gets `notification.updated`) and the caller's own events.
 */
function upsertStatement(outbox: Outbox, source: RawBuilder<unknown>, alongside: EventInput[], claim?: RawBuilder<unknown>) {
  return sql<NotificationRow & { inserted: boolean }>`
    with ${claim ? sql`claim as (${claim}),` : sql``}
    src as (${source}),
    kept as (
      select distinct on (s.user_id, coalesce(s.group_key, s.kind || s.url)) s.* from src s
      where s.user_id is distinct from s.actor_id
        ${claim ? sql`and exists (select 1 from claim)` : sql``}
        and (s.kind <> all(${[...MUTEABLE_KINDS]}::text[]) or (
          -- A member someone muted causes them nothing (staff cannot be muted).
          not exists (
            select 1 from user_mutes m join users a on a.id = m.muted_user_id
            where m.user_id = s.user_id and m.muted_user_id = s.actor_id and a.role = 'member')
          -- A muted thread, or a muted category without a level of the thread's own, says nothing.
          and coalesce(
            (select l.level from thread_notification_levels l where l.user_id = s.user_id and l.thread_id = s.thread_id),
            (select c.level from category_notification_levels c where c.user_id = s.user_id and c.category_id = s.category_id),
            'normal') <> 'muted'))
      order by s.user_id, coalesce(s.group_key, s.kind || s.url), s.ord
    ),
    n as (
      insert into notifications as o (user_id, kind, url, actor_id, payload, group_key)
      select user_id, kind, url, actor_id, payload || jsonb_build_object('many', many), group_key from kept order by ord
      on conflict (user_id, group_key) where read_at is null and group_key is not null do update set
        count = o.count + 1,
        -- A reply to the member outranks news from a watched thread in the same group.
        kind = case when excluded.kind = 'reply' then 'reply' else o.kind end,
        actor_id = excluded.actor_id,
        payload = o.payload || jsonb_build_object('count', o.count + 1, 'text', (o.count + 1)::text || ' ' || (excluded.payload->>'many')),
        updated_at = now(),
        -- Mail tells of a growing reply group again (batched as every notification mail is); likes once.
        emailed_at = case when excluded.kind = 'like' then o.emailed_at else null end
      returning id, user_id, kind, url, payload, actor_id, read_at, created_at, (xmax = 0) as inserted
    ),
    e as (
      insert into outbox (type, payload, channels, category_id)
      ${alongside.length > 0 ? sql`select * from (values ${outbox.rows(alongside)}) a (type, payload, channels, category_id) union all` : sql``}
      select case when n.inserted then 'notification.created' else 'notification.updated' end,
        jsonb_build_object('id', n.id, 'userId', n.user_id, 'kind', n.kind, 'url', n.url, 'text', coalesce(n.payload->>'text', '')),
        array['user:' || n.user_id], null::int
      from n
      returning id
    )
    select n.*, (select count(*) from e) as notified from n order by n.id`
}

/**
 * The one notification model every feature reuses. Callers insert inside their own
 * transaction with `create(trx, …)`, which writes a `notification.created` event per row to
 * the outbox in the same transaction: a rolled-back action never notifies anyone, and a
 * committed one always does (live badge, mail), from the web process or the worker alike.
 * Fan-out to many (a thread's and a category's watchers) runs in this service's outbox
 * consumer, as one set-based statement per post.
 */
export class NotificationService {
  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox,
    private readonly categories: CategoryService,
  ) {}

  /**
   * Inserts notifications (one multi-row upsert), skipping anyone notifying themselves, and
   * for what members write, anyone who muted the actor or the thread. `alongside` are the
   * caller's own events, written to the outbox in the same statement as the notifications'
   * (one round trip for all of them).
   */
  async create(trx: DbOrTrx, items: NewNotification[], alongside: EventInput[] = []): Promise<NotificationRow[]> {
    const rows = items.filter((n) => n.userId !== n.actorId)
    if (rows.length === 0) {
      await this.outbox.emitMany(trx, alongside)
      return []
    }
    const values = sql.join(
      rows.map(
        (n, i) =>
          sql`(${i}::int, ${n.userId}::bigint, ${n.kind}, ${n.url}, ${n.actorId ?? null}::bigint, ${JSON.stringify({ text: n.text, ...n.payload })}::jsonb,
            ${n.group?.key ?? null}::text, ${n.group?.many ?? null}::text, ${n.threadId ?? null}::bigint, ${n.categoryId ?? null}::bigint)`,
      ),
    )
    // A deleted account is told nothing (its votes and old posts may still draw notices).
    const source = sql`select * from (values ${values}) v (ord, user_id, kind, url, actor_id, payload, group_key, many, thread_id, category_id)
      where not exists (select 1 from users u where u.id = v.user_id and u.deleted_at is not null)`
    // Prepared (one text per number of rows and events): planning this statement cost more than running it.
    const created = await prepared(trx, upsertStatement(this.outbox, source, alongside))
    this.outbox.written(trx)
    return created.map(({ inserted: _, ...row }) => {
      delete (row as { notified?: unknown }).notified
      return row
    })
  }

  /**
   * Tells everyone watching a thread (or its category, unless they set a level on the
   * thread itself) about a new post, in the outbox relay's transaction: one read of the
   * watchers, one set-based upsert for all of them. The fan-out ledger row, claimed in the
   * same statement, makes a repeated delivery of the event add nothing.
   */
  async fanOutPost(trx: Trx, eventId: number, p: EventMap['post.notify']): Promise<number> {
    const all = await this.categories.all(trx)
    const category = all.find((c) => c.id === p.categoryId)
    if (!category) return 0
    const parent = category.parent_id ? all.find((c) => c.id === category.parent_id) : null
    const watchers = await prepared(trx, sql<{ id: number; role: Role; trust_level: number; suspended_until: Date | null; silenced_until: Date | null; email_verified_at: Date | null; moderates: number[] }>`
      with w as (
        select l.user_id from thread_notification_levels l where l.thread_id = ${p.threadId} and l.level = 'watching'
        union
        select c.user_id from category_notification_levels c
        where c.category_id = ${p.categoryId} and c.level = 'watching'
          and not exists (select 1 from thread_notification_levels x where x.thread_id = ${p.threadId} and x.user_id = c.user_id)
      )
      select u.id, u.role, u.trust_level, u.suspended_until, u.silenced_until, u.email_verified_at,
        array(select m.category_id from category_moderators m where m.user_id = u.id) as moderates
      from w join users u on u.id = w.user_id
      where u.deleted_at is null and u.id <> ${p.authorId} and u.id <> all(${p.notified}::bigint[])`)
    // Watching a thread one can no longer see (moved, category closed) tells nothing.
    const ids = watchers
      .filter((u) => canSeeCategory({ user: u, moderates: new Set(u.moderates.map(Number)) }, category, parent))
      .map((u) => Number(u.id))
    if (ids.length === 0) return 0
    const payload = JSON.stringify({ text: p.text, threadId: p.threadId, postId: p.postId, title: p.title })
    const source = sql`select u as ord, u as user_id, 'posted'::text as kind, ${p.url}::text as url, ${p.authorId}::bigint as actor_id, ${payload}::jsonb as payload,
      ${`thread:${p.threadId}`}::text as group_key, ${`new replies in “${p.title}”`}::text as many, ${p.threadId}::bigint as thread_id, ${p.categoryId}::bigint as category_id
      from unnest(${ids}::bigint[]) u`
    const claim = sql`insert into notification_fanouts (event_id, recipients) values (${eventId}, ${ids.length}) on conflict do nothing returning event_id`
    const rows = await prepared(trx, upsertStatement(this.outbox, source, [], claim))
    this.outbox.written(trx)
    return rows.length
  }

  /** The outbox consumer that fans new posts out to their watchers. */
  consumer(): EventConsumer {
    return {
      name: 'notify',
      handle: async (event, trx) => {
        if (event.type !== 'post.notify') return
        // A failed statement must not abort the relay's transaction (it records the failure and retries).
        await sql`savepoint notify_fanout`.execute(trx)
        try {
          await this.fanOutPost(trx, event.id, event.data)
          await sql`release savepoint notify_fanout`.execute(trx)
        } catch (err) {
          await sql`rollback to savepoint notify_fanout`.execute(trx)
          throw err
        }
      },
    }
  }

  /**
   * Keeps a post author's like notification true after a like or unlike, inside the like's
   * transaction and after the post's row lock (which every like and unlike of the post takes
   * first), so likes of one post are told in turn. While the author has an unread like
   * notification for the post, new likes join it ("alice and 4 others liked your post"); each
   * like remembers the notification that counted it, so an unlike takes it out of that one
   * (and an unread notification whose likes are all taken back disappears).
   */
  async liked(
    trx: Trx,
    p: { postId: number; liker: { id: number; username: string }; authorId: number; threadId: number; categoryId: number; title: string; url: string },
  ): Promise<void> {
    if (p.liker.id === p.authorId) return
    const wants = await trx.selectFrom('users').select('like_notifications').where('id', '=', p.authorId).executeTakeFirst()
    if (!wants?.like_notifications) return
    const [row] = await this.create(trx, [
      {
        userId: p.authorId,
        kind: 'like',
        actorId: p.liker.id,
        url: p.url,
        text: `${p.liker.username} liked your post in “${p.title}”`,
        payload: { postId: p.postId, threadId: p.threadId, title: p.title },
        group: { key: `like:${p.postId}`, many: 'likes' },
        threadId: p.threadId,
        categoryId: p.categoryId,
      },
    ])
    if (!row) return
    await trx.updateTable('post_likes').set({ notification_id: row.id }).where('post_id', '=', p.postId).where('user_id', '=', p.liker.id).execute()
    // Told from the likes it counts, whichever transaction added them.
    await this.retellLikes(trx, row.id)
  }

  /** After an unlike (its like row deleted, in the like's transaction): retells the notification that had counted it. */
  async unliked(trx: Trx, notificationId: number | null): Promise<void> {
    if (notificationId) await this.retellLikes(trx, notificationId)
  }

  /**
   * Rewrites a like notification from the likes it counts: the newest liker's name, how many
   * others, and the count. One that counts none any more is deleted while unread.
   */
  async retellLikes(trx: Trx, notificationId: number): Promise<void> {
    await sql`
      with likes as (
        select l.user_id, u.username, l.created_at from post_likes l join users u on u.id = l.user_id
        where l.notification_id = ${notificationId}
      ),
      summary as (
        select count(*)::int as n, (select username from likes order by created_at desc, user_id desc limit 1) as newest from likes
      ),
      gone as (
        delete from notifications where id = ${notificationId} and read_at is null and (select n from summary) = 0 returning id
      )
      update notifications o set
        count = greatest((select n from summary), 1),
        payload = o.payload || jsonb_build_object('count', (select n from summary), 'text',
          (select newest from summary)
          || case when (select n from summary) = 2 then ' and 1 other'
                  when (select n from summary) > 2 then ' and ' || ((select n from summary) - 1)::text || ' others' else '' end
          || ' liked your post in “'
          || (o.payload->>'title') || '”')
      where o.id = ${notificationId} and (select n from summary) > 0
      returning o.id`.execute(trx)
  }

  /** Creates notifications in a transaction of their own, for callers without one. */
  async notify(items: NewNotification[]): Promise<NotificationRow[]> {
    return this.db.transaction().execute((trx) => this.create(trx, items))
  }

  /** A member's notifications, newest first, keyset-paginated by id. */
  async list(userId: number, before?: number) {
    let q = this.db
      .selectFrom('notifications')
      .leftJoin('users as actor', 'actor.id', 'notifications.actor_id')
      .select([
        'notifications.id',
        'notifications.kind',
        'notifications.url',
        'notifications.payload',
        'notifications.read_at',
        'notifications.created_at',
        'notifications.updated_at',
        'notifications.count',
        'actor.username as actor_username',
      ])
      .where('notifications.user_id', '=', userId)
      .orderBy('notifications.id', 'desc')
      .limit(PAGE + 1)
    if (before) q = q.where('notifications.id', '<', before)
    const rows = await q.execute()
    const more = rows.length > PAGE
    const items = rows.slice(0, PAGE)
    return { items, nextBefore: more ? items[items.length - 1]!.id : null }
  }

  /** How many unread notifications a member has (for the header badge). */
  async unreadCount(userId: number): Promise<number> {
    const row = await this.db
      .selectFrom('notifications')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('read_at', 'is', null)
      .executeTakeFirstOrThrow()
    return Number(row.n)
  }

  /** Marks one notification read and returns where it points; NotFound when it is not theirs. */
  async open(userId: number, id: number): Promise<string> {
    const row = await this.db
      .updateTable('notifications')
      .set({ read_at: sql<Date>`coalesce(read_at, now())` as unknown as Date })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .returning('url')
      .executeTakeFirst()
    if (!row) throw new NotFound()
    return row.url
  }

  /** Marks some (or all) of a member's notifications read; returns how many changed. */
  async markRead(userId: number, ids?: number[]): Promise<number> {
    let q = this.db
      .updateTable('notifications')
      .set({ read_at: sql<Date>`now()` as unknown as Date })
      .where('user_id', '=', userId)
      .where('read_at', 'is', null)
    if (ids) {
      if (ids.length === 0) return 0
      q = q.where('id', 'in', ids)
    }
    const result = await q.executeTakeFirst()
    return Number(result.numUpdatedRows)
  }
}
