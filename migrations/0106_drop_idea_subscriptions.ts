import { type Kysely, sql } from 'kysely'

/** Following an idea is watching its comment thread now (0105 moved the rows); the old table goes. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idea_subscriptions').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('idea_subscriptions')
    .addColumn('idea_id', 'bigint', (c) => c.notNull().references('ideas.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('idea_subscriptions_pkey', ['idea_id', 'user_id'])
    .execute()
  await sql`
    insert into idea_subscriptions (idea_id, user_id, created_at)
    select i.id, l.user_id, l.created_at from thread_notification_levels l join ideas i on i.thread_id = l.thread_id
    where l.level = 'watching' and l.reason = 'idea'`.execute(db)
}
