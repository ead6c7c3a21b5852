import { type Kysely, sql } from 'kysely'

/**
 * How many times a thread has been viewed. Web processes count views in memory (one per
 * viewer or address per window) and add them in batches (`ThreadViews`), so a page view
 * writes nothing itself.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table threads add column view_count integer not null default 0`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table threads drop column view_count`.execute(db)
}
