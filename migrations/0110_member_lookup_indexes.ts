import { type Kysely, sql } from 'kysely'

/**
 * Prefix indexes for looking members up as they are typed (the composer's @-mention
 * suggestions). Bytewise ("C") order, whatever the database's collation: a prefix is then
 * one range of the index, read in order, so `… like 'al%' order by … limit n` stops after n
 * entries instead of scanning or sorting every match (see MentionService).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index users_username_prefix_idx on users ((lower(username) collate "C"))`.execute(db)
  await sql`create index users_display_name_prefix_idx on users ((lower(display_name) collate "C")) where display_name is not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index users_display_name_prefix_idx`.execute(db)
  await sql`drop index users_username_prefix_idx`.execute(db)
}
