import { type Kysely, sql } from 'kysely'

/**
 * Threads and their posts. A post's `path` (zero-padded ids from the opening post down,
 * compared bytewise) puts a whole thread in tree order with one index scan, siblings by
 * time; `branch_id` is the top-level reply a post hangs under, so long threads page by branch.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('threads')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('category_id', 'bigint', (c) => c.notNull().references('categories.id').onDelete('restrict'))
    .addColumn('author_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('restrict'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('slug', 'text', (c) => c.notNull())
    .addColumn('pinned', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('locked', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('reply_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_post_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_poster_id', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('search', sql`tsvector`, (c) => c.generatedAlwaysAs(sql`to_tsvector('english', title)`).stored())
    .execute()
  // Category pages: pinned first, then newest activity, keyset-paginated.
  await sql`create index threads_category_activity_idx on threads (category_id, pinned desc, last_post_at desc, id desc) where deleted_at is null`.execute(db)
  await sql`create index threads_activity_idx on threads (last_post_at desc, id desc) where deleted_at is null`.execute(db)
  await sql`create index threads_search_idx on threads using gin (search)`.execute(db)

  await db.schema
    .createTable('posts')
    // By default, not always: a post takes its id from the sequence first, since its path ends in it.
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    .addColumn('thread_id', 'bigint', (c) => c.notNull().references('threads.id').onDelete('cascade'))
    .addColumn('parent_id', 'bigint', (c) => c.references('posts.id').onDelete('restrict'))
    .addColumn('branch_id', 'bigint', (c) => c.notNull())
    .addColumn('author_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('restrict'))
    .addColumn('body_md', 'text', (c) => c.notNull())
    .addColumn('body_html', 'text', (c) => c.notNull())
    .addColumn('depth', 'smallint', (c) => c.notNull())
    .addColumn('path', sql`text collate "C"`, (c) => c.notNull())
    .addColumn('like_count', 'integer', (c) => c.notNull().defaultTo(0).check(sql`like_count >= 0`))
    .addColumn('reply_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('revision_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('edited_at', 'timestamptz')
    .addColumn('hidden_at', 'timestamptz')
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('deleted_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('search', sql`tsvector`, (c) => c.generatedAlwaysAs(sql`to_tsvector('english', body_md)`).stored())
    .execute()
  await sql`create index posts_thread_path_idx on posts (thread_id, path)`.execute(db)
  await sql`create index posts_thread_branch_idx on posts (thread_id, branch_id, path)`.execute(db)
  await sql`create index posts_thread_top_idx on posts (thread_id, id) where depth = 1`.execute(db)
  await sql`create index posts_author_idx on posts (author_id, created_at desc)`.execute(db)
  await sql`create index posts_search_idx on posts using gin (search)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('posts').execute()
  await db.schema.dropTable('threads').execute()
}
