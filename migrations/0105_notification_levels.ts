import { type Kysely, sql } from 'kysely'

/**
 * Notification levels per thread and per category (watching, tracking, normal, muted), as
 * Discourse has them. A thread's own level wins over its category's; with neither, a member
 * is at "normal". Following an idea was its own table; it becomes watching the idea's comment
 * thread here (the table goes in the next migration).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('thread_notification_levels')
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('thread_id', 'bigint', (c) => c.notNull().references('threads.id').onDelete('cascade'))
    .addColumn('level', 'text', (c) => c.notNull().check(sql`level in ('muted', 'normal', 'tracking', 'watching')`))
    // Why the member is at this level: they chose it, started the thread, replied, or followed the idea.
    .addColumn('reason', 'text', (c) => c.notNull().defaultTo('manual').check(sql`reason in ('manual', 'created', 'replied', 'idea')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('thread_notification_levels_pkey', ['user_id', 'thread_id'])
    .execute()
  // The watcher fan-out reads a thread's watchers; the mute filters read one member's rows.
  await sql`create index thread_notification_levels_thread_idx on thread_notification_levels (thread_id, level)`.execute(db)

  await db.schema
    .createTable('category_notification_levels')
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('category_id', 'bigint', (c) => c.notNull().references('categories.id').onDelete('cascade'))
    .addColumn('level', 'text', (c) => c.notNull().check(sql`level in ('muted', 'normal', 'tracking', 'watching')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('category_notification_levels_pkey', ['user_id', 'category_id'])
    .execute()
  await sql`create index category_notification_levels_category_idx on category_notification_levels (category_id, level)`.execute(db)

  await sql`
    insert into thread_notification_levels (user_id, thread_id, level, reason, created_at)
    select s.user_id, i.thread_id, 'watching', 'idea', s.created_at
    from idea_subscriptions s join ideas i on i.id = s.idea_id
    where i.thread_id is not null
    on conflict do nothing`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('category_notification_levels').execute()
  await db.schema.dropTable('thread_notification_levels').execute()
}
