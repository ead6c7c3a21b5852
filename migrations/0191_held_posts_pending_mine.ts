import { type Kysely, sql } from 'kysely'

/**
 * A member's pending replies in one thread, by index: every page a member reads asks whether
 * they have a reply waiting there (the thread page's statement, `held_here`). The author index
 * alone walked all of a prolific member's held posts to answer it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index held_posts_pending_mine_idx on held_posts (author_id, thread_id) where status = 'pending'`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index held_posts_pending_mine_idx`.execute(db)
}
