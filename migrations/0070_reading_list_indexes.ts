import { type Kysely, sql } from 'kysely'

/**
 * Indexes for the home page's reading lists: Latest keeps pinned threads on top across
 * categories (pinned, newest activity, id), New reads threads by creation time. Both skip
 * deleted threads, as every list does.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index threads_pinned_activity_idx on threads (pinned desc, last_post_at desc, id desc) where deleted_at is null`.execute(db)
  await sql`create index threads_created_idx on threads (created_at desc, id desc) where deleted_at is null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index threads_created_idx`.execute(db)
  await sql`drop index threads_pinned_activity_idx`.execute(db)
}
