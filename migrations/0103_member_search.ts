import { type Kysely, sql } from 'kysely'

/**
 * Finding members by name from the search box: every word of a username and display name,
 * matched by prefix ("jan" finds "Jane Doe" and "jane_d"), through one GIN index.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index users_name_search_idx on users using gin (to_tsvector('simple', username || ' ' || coalesce(display_name, '')))`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index users_name_search_idx`.execute(db)
}
