import { type Kysely, sql } from 'kysely'

/**
 * The category a moderation-log entry happened in, as an indexed column: the log page hides
 * entries about categories the reader cannot see, and filters in SQL so pages stay full.
 * Forward-safe: a nullable column, backfilled from what the rows already hold. No foreign
 * key on purpose: an entry about a deleted private category must stay hidden, not turn
 * public (which `on delete set null` would do).
 * Also renames the member codes `user.*` to `member.*`, beside the new `member.unsuspend`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('moderation_log').addColumn('category_id', 'bigint').execute()
  // Rows that named their category in details (flags, moderators, promotions).
  await sql`update moderation_log set category_id = (details->>'categoryId')::bigint
    where category_id is null and details->>'categoryId' ~ '^[0-9]+$'`.execute(db)
  // Post actions (edits, deletions) named only the thread: take the post's category.
  await sql`update moderation_log l set category_id = t.category_id
    from posts p join threads t on t.id = p.thread_id
    where l.category_id is null and l.target_type = 'post' and l.target_id = p.id::text`.execute(db)
  // Thread actions kept the category they happened in as "from"; a move also kept where it went.
  await sql`update moderation_log set category_id = (details->>'from')::bigint
    where category_id is null and target_type = 'thread' and details->>'from' ~ '^[0-9]+$'`.execute(db)
  await sql`update moderation_log set details = details || jsonb_build_object('toCategoryId', (details->>'category_id')::bigint)
    where action = 'thread.move' and details->>'category_id' ~ '^[0-9]+$' and not details ? 'toCategoryId'`.execute(db)
  await sql`update moderation_log set category_id = target_id::bigint
    where category_id is null and target_type = 'category' and target_id ~ '^[0-9]+$'`.execute(db)
  await sql`update moderation_log set action = 'member.' || substr(action, 6)
    where action in ('user.suspend', 'user.silence', 'user.role', 'user.trust')`.execute(db)
  await sql`create index moderation_log_category_idx on moderation_log (category_id, id desc) where category_id is not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`update moderation_log set action = 'user.' || substr(action, 8)
    where action in ('member.suspend', 'member.silence', 'member.role', 'member.trust')`.execute(db)
  await db.schema.alterTable('moderation_log').dropColumn('category_id').execute()
}
