import { type Kysely, sql } from 'kysely'

/**
 * Members a member has muted (their posts collapse, and they cause that member no
 * notifications), and whether a member wants to hear about likes at all.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('user_mutes')
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('muted_user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('user_mutes_pkey', ['user_id', 'muted_user_id'])
    .addCheckConstraint('user_mutes_not_self', sql`user_id <> muted_user_id`)
    .execute()
  await db.schema.alterTable('users').addColumn('like_notifications', 'boolean', (c) => c.notNull().defaultTo(true)).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('like_notifications').execute()
  await db.schema.dropTable('user_mutes').execute()
}
