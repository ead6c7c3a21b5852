import { type Kysely, sql } from 'kysely'

/**
 * Ideas and their votes. `vote_count` is changed only in the transaction that inserts or
 * deletes an `idea_votes` row (guarded by its primary key), so it is always exact.
 * `search` is a generated tsvector for "similar ideas"; `trending_score` is a cached,
 * periodically refreshed ranking (the counts shown never come from it).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('ideas')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('author_id', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body_md', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('body_html', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('excerpt', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('tags', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('open')
        .check(sql`status in ('open', 'under_review', 'planned', 'in_progress', 'done', 'declined')`),
    )
    .addColumn('vote_count', 'integer', (c) => c.notNull().defaultTo(0).check(sql`vote_count >= 0`))
    .addColumn('trending_score', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('merged_into_id', 'bigint', (c) => c.references('ideas.id'))
    .addColumn('merged_at', 'timestamptz')
    .addColumn('thread_id', 'bigint')
    .addColumn('release_note_md', 'text')
    .addColumn('release_note_html', 'text')
    .addColumn('done_at', 'timestamptz')
    .addColumn('status_changed_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('ideas_not_merged_into_itself', sql`merged_into_id is null or merged_into_id <> id`)
    .execute()
  await sql`alter table ideas add column search tsvector generated always as (
    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body_md), 'B')
  ) stored`.execute(db)
  await sql`create index ideas_search_idx on ideas using gin (search)`.execute(db)
  await sql`create index ideas_tags_idx on ideas using gin (tags)`.execute(db)
  // The board's three orders, over ideas still on the board (not merged away).
  await sql`create index ideas_top_idx on ideas (vote_count desc, id desc) where merged_into_id is null`.execute(db)
  await sql`create index ideas_trending_idx on ideas (trending_score desc, id desc) where merged_into_id is null`.execute(db)
  await sql`create index ideas_new_idx on ideas (id desc) where merged_into_id is null`.execute(db)
  await sql`create index ideas_status_top_idx on ideas (status, vote_count desc, id desc) where merged_into_id is null`.execute(db)
  await sql`create index ideas_done_idx on ideas (done_at desc, id desc) where status = 'done' and merged_into_id is null`.execute(db)
  await sql`create index ideas_merged_into_idx on ideas (merged_into_id) where merged_into_id is not null`.execute(db)

  await db.schema
    .createTable('idea_votes')
    .addColumn('idea_id', 'bigint', (c) => c.notNull().references('ideas.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('idea_votes_pkey', ['idea_id', 'user_id'])
    .execute()
  await sql`create index idea_votes_user_idx on idea_votes (user_id)`.execute(db)
  // Trending reads only the last 7 days of votes: an index-only range scan.
  await sql`create index idea_votes_recent_idx on idea_votes (created_at) include (idea_id)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idea_votes').execute()
  await db.schema.dropTable('ideas').execute()
}
