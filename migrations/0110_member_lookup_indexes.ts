import { type Kysely, sql } from 'kysely'

/**
 * Prefix indexes for looking members up as they are typed (the composer's @-mention
 * suggestions): `lower(username) like 'al%'` and the same on display names read these
 * instead of the whole table, whatever the database's collation.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index users_username_prefix_idx on users (lower(username) text_pattern_ops)`.execute(db)
  await sql`create index users_display_name_prefix_idx on users (lower(display_name) text_pattern_ops) where display_name is not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index users_display_name_prefix_idx`.execute(db)
  await sql`drop index users_username_prefix_idx`.execute(db)
}
