import { type Kysely, sql } from 'kysely'

/**
 * Spam and abuse defence (src/features/spam):
 * - `held_posts`: posts waiting for approval. A held post is not in `posts` at all, so no
 *   list, search, feed, count or live event can show it; approval publishes it through the
 *   same code path as a new post. `post_id` is set on approval (and for published posts the
 *   spam check asked a moderator to look at: status `flagged`).
 * - `post_fingerprints`: a 64-bit simhash per published post (and per text of a member
 *   marked as a spammer, `known_spam`), for the near-duplicate signal.
 * - `link_domains`: every domain the forum's published posts have linked to, for the
 *   "domain new to the forum" signal.
 * - `watched_words`: owner-set words and bounded patterns with an action each.
 * - `blocked_identities`: email addresses and IP addresses refused at sign-up and log-in.
 * - `invites`: invitation links for invite-only communities.
 * - users: the sign-up application (approval status, answers), where they signed up from,
 *   and who invited them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('approval_status', 'text', (c) => c.notNull().defaultTo('approved').check(sql`approval_status in ('approved', 'pending', 'rejected')`))
    .addColumn('application_answers', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('signup_ip', 'text')
    .addColumn('invited_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .execute()
  await sql`create index users_pending_idx on users (created_at) where approval_status = 'pending'`.execute(db)

  await db.schema
    .createTable('held_posts')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('author_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('category_id', 'bigint', (c) => c.notNull().references('categories.id').onDelete('cascade'))
    .addColumn('thread_id', 'bigint', (c) => c.references('threads.id').onDelete('cascade'))
    .addColumn('parent_id', 'bigint', (c) => c.references('posts.id').onDelete('cascade'))
    .addColumn('title', 'text')
    .addColumn('body_md', 'text', (c) => c.notNull())
    .addColumn('reasons', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('score', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'approved', 'rejected', 'flagged', 'dismissed')`))
    .addColumn('post_id', 'bigint', (c) => c.references('posts.id').onDelete('set null'))
    .addColumn('decided_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decision_reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create index held_posts_open_idx on held_posts (category_id, created_at) where status in ('pending', 'flagged')`.execute(db)
  await sql`create index held_posts_author_idx on held_posts (author_id, created_at)`.execute(db)

  await db.schema
    .createTable('post_fingerprints')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('post_id', 'bigint', (c) => c.references('posts.id').onDelete('cascade'))
    .addColumn('author_id', 'bigint', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('simhash', 'bigint', (c) => c.notNull())
    .addColumn('known_spam', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create index post_fingerprints_recent_idx on post_fingerprints (created_at desc)`.execute(db)
  await sql`create index post_fingerprints_spam_idx on post_fingerprints (id) where known_spam`.execute(db)

  await db.schema
    .createTable('link_domains')
    .addColumn('domain', 'text', (c) => c.primaryKey())
    .addColumn('posts', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('watched_words')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('pattern', 'text', (c) => c.notNull())
    .addColumn('is_regex', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('block', 'hold', 'flag', 'replace')`))
    .addColumn('replacement', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create unique index watched_words_pattern_idx on watched_words (lower(pattern), is_regex)`.execute(db)

  await db.schema
    .createTable('blocked_identities')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('email', 'ip')`))
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('blocked_identities_kind_value', ['kind', 'value'])
    .execute()

  await db.schema
    .createTable('invites')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('max_uses', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('invites_uses_within', sql`uses <= max_uses`)
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['invites', 'blocked_identities', 'watched_words', 'link_domains', 'post_fingerprints', 'held_posts']) {
    await db.schema.dropTable(table).execute()
  }
  await db.schema.alterTable('users').dropColumn('approval_status').dropColumn('application_answers').dropColumn('signup_ip').dropColumn('invited_by').execute()
}
