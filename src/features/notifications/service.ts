import { sql } from 'kysely'
import type { Db, DbOrTrx } from '../../core/db.js'
import { NotFound } from '../../core/errors.js'
import { type EventInput, OUTBOX_NOTIFY_CHANNEL, type Outbox } from '../../core/outbox.js'

/** What a feature asks to tell a member. `text` is plain text (escaped when shown). */
export interface NewNotification {
  userId: number
  kind: string
  text: string
  url: string
  actorId?: number | null
  payload?: Record<string, unknown>
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

const PAGE = 30

/**
 * The one notification model every feature reuses. Callers insert inside their own
 * transaction with `create(trx, …)`, which writes a `notification.created` event per row to
 * the outbox in the same transaction: a rolled-back action never notifies anyone, and a
 * committed one always does (live badge, mail), from the web process or the worker alike.
 */
export class NotificationService {
  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox,
  ) {}

  /**
   * Inserts notifications (one multi-row insert), skipping anyone notifying themselves.
   * `alongside` are the caller's own events, written to the outbox in the same statement
   * as the notifications' (one round trip for all of them).
   */
  async create(trx: DbOrTrx, items: NewNotification[], alongside: EventInput[] = []): Promise<NotificationRow[]> {
    const rows = items.filter((n) => n.userId !== n.actorId)
    if (rows.length === 0) {
      await this.outbox.emitMany(trx, alongside)
      return []
    }
    // The notifications, their `notification.created` events and the caller's own events: one statement.
    const values = sql.join(
      rows.map((n) => sql`(${n.userId}::bigint, ${n.kind}, ${n.url}, ${n.actorId ?? null}::bigint, ${JSON.stringify({ text: n.text, ...n.payload })}::jsonb)`),
    )
    const { rows: created } = await sql<NotificationRow>`
      with n as (
        -- A deleted account is told nothing (its votes and old posts may still draw notices).
        insert into notifications (user_id, kind, url, actor_id, payload)
        select * from (values ${values}) v (user_id, kind, url, actor_id, payload)
        where not exists (select 1 from users u where u.id = v.user_id and u.deleted_at is not null)
        returning id, user_id, kind, url, payload, actor_id, read_at, created_at
      ),
      e as (
        insert into outbox (type, payload, channels, category_id)
        ${alongside.length > 0 ? sql`select * from (values ${this.outbox.rows(alongside)}) a (type, payload, channels, category_id) union all` : sql``}
        select 'notification.created', jsonb_build_object('id', n.id, 'userId', n.user_id, 'kind', n.kind, 'url', n.url, 'text', coalesce(n.payload->>'text', '')),
          array['user:' || n.user_id], null::int
        from n
        returning id
      )
      -- The NOTIFY is queued with the transaction and sent only if it commits.
      select n.*, (select count(*) from (select pg_notify(${OUTBOX_NOTIFY_CHANNEL}, '') from e limit 1) w) as notified from n order by n.id`.execute(trx)
    this.outbox.written()
    for (const row of created) delete (row as { notified?: unknown }).notified
    return created
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
