import { type Kysely, sql } from 'kysely'

/**
 * Flags on posts: one per member per post, scored by the flagger's trust level and track
 * record when made; resolved by a moderator (agreed, disagreed or deferred).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('flags')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('post_id', 'bigint', (c) => c.notNull().references('posts.id').onDelete('cascade'))
    .addColumn('flagger_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('reason', 'text', (c) => c.notNull().check(sql`reason in ('spam', 'inappropriate', 'off_topic', 'other')`))
    .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('score', 'real', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'agreed', 'disagreed', 'deferred')`),
    )
    .addColumn('resolved_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('flags_post_flagger_key', ['post_id', 'flagger_id'])
    .execute()
  await sql`create index flags_pending_idx on flags (post_id) where status = 'pending'`.execute(db)
  await sql`create index flags_flagger_idx on flags (flagger_id, status)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('flags').execute()
}
