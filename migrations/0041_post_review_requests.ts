import type { Kysely } from 'kysely'

/**
 * Why a post was hidden, and when its author used their one edit of the hidden post to
 * ask for review (a second edit is refused until a moderator decides).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('posts')
    .addColumn('hidden_reason', 'text')
    .addColumn('review_requested_at', 'timestamptz')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('posts').dropColumn('hidden_reason').dropColumn('review_requested_at').execute()
}
