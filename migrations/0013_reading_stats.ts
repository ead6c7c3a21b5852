import { type Kysely, sql } from 'kysely'

/**
 * Reading stats, recorded cheaply as people read: one row per member per day (days
 * visited, topics entered, posts read, reading time) feeding trust levels, and each
 * member's last-read post per thread for "new" markers.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('user_daily_stats')
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('posts_read', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('topics_entered', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reading_seconds', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('user_daily_stats_pkey', ['user_id', 'day'])
    .execute()

  await db.schema
    .createTable('thread_reads')
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('thread_id', 'bigint', (c) => c.notNull().references('threads.id').onDelete('cascade'))
    .addColumn('last_read_post_id', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('thread_reads_pkey', ['user_id', 'thread_id'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('thread_reads').execute()
  await db.schema.dropTable('user_daily_stats').execute()
}
