import { type Kysely, sql } from 'kysely'

/**
 * Automatic moderator promotion: since when a promoted moderator has fallen away (the
 * grace before demotion), and per category and member the standing of an offer —
 * an invitation waiting, accepted or declined, or blocked by an owner who removed them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('category_moderators').addColumn('short_since', 'timestamptz').execute()
  await db.schema
    .createTable('moderator_offers')
    .addColumn('category_id', 'bigint', (c) => c.notNull().references('categories.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('invited', 'accepted', 'declined', 'blocked')`),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('decided_at', 'timestamptz')
    .addPrimaryKeyConstraint('moderator_offers_pkey', ['category_id', 'user_id'])
    .execute()
  await db.schema.createIndex('moderator_offers_user_idx').on('moderator_offers').column('user_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('moderator_offers').execute()
  await db.schema.alterTable('category_moderators').dropColumn('short_since').execute()
}
