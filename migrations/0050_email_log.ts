import { type Kysely, sql } from 'kysely'

/**
 * What makes mail exactly-once: one row per (member, kind, period). A sender inserts its
 * row and sends inside one transaction, so a second sender for the same period waits on
 * the unique key and then finds the row; a sender that dies rolls its row back.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('email_log')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('period_key', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('sent', 'empty', 'rejected')`))
    .addColumn('message_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('email_log_user_kind_period_key', ['user_id', 'kind', 'period_key'])
    .execute()
  await sql`create index email_log_user_kind_created_idx on email_log (user_id, kind, created_at desc)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('email_log').execute()
}
