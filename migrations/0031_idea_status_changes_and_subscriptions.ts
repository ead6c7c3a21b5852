import { type Kysely, sql } from 'kysely'

/** The public history of an idea's status moves, and members following an idea without voting. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('idea_status_changes')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('idea_id', 'bigint', (c) => c.notNull().references('ideas.id').onDelete('cascade'))
    .addColumn('actor_id', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('from_status', 'text', (c) => c.notNull())
    .addColumn('to_status', 'text', (c) => c.notNull())
    .addColumn('note_md', 'text', (c) => c.notNull())
    .addColumn('note_html', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create index idea_status_changes_idea_idx on idea_status_changes (idea_id, id)`.execute(db)

  await db.schema
    .createTable('idea_subscriptions')
    .addColumn('idea_id', 'bigint', (c) => c.notNull().references('ideas.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('idea_subscriptions_pkey', ['idea_id', 'user_id'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idea_subscriptions').execute()
  await db.schema.dropTable('idea_status_changes').execute()
}
