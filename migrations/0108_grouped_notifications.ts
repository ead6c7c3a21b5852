import { type Kysely, sql } from 'kysely'

/**
 * Grouped notifications: while a member has an unread notification with a group key (the
 * likes on one post, the new replies in one thread), the next one updates that row instead
 * of adding another. The partial unique index is what makes that an atomic upsert under
 * concurrency. A like remembers the notification that counted it, so an unlike takes it
 * back out of exactly that one. The fan-out ledger makes the watcher fan-out run once per event.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('notifications')
    .addColumn('group_key', 'text')
    .addColumn('count', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('updated_at', 'timestamptz')
    .execute()
  await sql`create unique index notifications_unread_group_idx on notifications (user_id, group_key) where read_at is null and group_key is not null`.execute(db)
  await db.schema
    .alterTable('post_likes')
    .addColumn('notification_id', 'bigint', (c) => c.references('notifications.id').onDelete('set null'))
    .execute()
  await sql`create index post_likes_notification_idx on post_likes (notification_id) where notification_id is not null`.execute(db)
  await db.schema
    .createTable('notification_fanouts')
    .addColumn('event_id', 'bigint', (c) => c.primaryKey().references('outbox.id').onDelete('cascade'))
    .addColumn('recipients', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('notification_fanouts').execute()
  await db.schema.alterTable('post_likes').dropColumn('notification_id').execute()
  await db.schema.alterTable('notifications').dropColumn('updated_at').dropColumn('count').dropColumn('group_key').execute()
}
