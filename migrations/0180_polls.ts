import { type Kysely, sql } from 'kysely'

/**
 * Polls written in posts (```poll blocks). `polls` holds each poll's settings, `poll_options`
 * its choices in order; `poll_ballots` is one row per member who voted (its row lock orders a
 * member's concurrent votes, and the voter count is its count); `poll_votes` the choices of
 * each ballot, with a rank for ranked-choice polls. Counts are derived from `poll_votes` when
 * read, so they are exact by construction. `posts.has_poll` lets the thread page skip the poll
 * query entirely for pages without polls.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('posts').addColumn('has_poll', 'boolean', (c) => c.notNull().defaultTo(false)).execute()

  await db.schema
    .createTable('polls')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('post_id', 'bigint', (c) => c.notNull().references('posts.id').onDelete('cascade'))
    .addColumn('thread_id', 'bigint', (c) => c.notNull().references('threads.id').onDelete('cascade'))
    .addColumn('position', 'smallint', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('single', 'multiple', 'ranked', 'number')`))
    .addColumn('min_choices', 'smallint', (c) => c.notNull().defaultTo(1))
    .addColumn('max_choices', 'smallint', (c) => c.notNull().defaultTo(1))
    .addColumn('results', 'text', (c) => c.notNull().defaultTo('always').check(sql`results in ('always', 'voted', 'closed', 'staff')`))
    .addColumn('public', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('closes_at', 'timestamptz')
    .addColumn('closed_at', 'timestamptz')
    .addColumn('min_trust_level', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('idea_id', 'bigint', (c) => c.references('ideas.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('polls_post_position_key', ['post_id', 'position'])
    .execute()
  await sql`create index polls_thread_idx on polls (thread_id)`.execute(db)
  await sql`create index polls_idea_idx on polls (idea_id) where idea_id is not null`.execute(db)

  await db.schema
    .createTable('poll_options')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('poll_id', 'bigint', (c) => c.notNull().references('polls.id').onDelete('cascade'))
    .addColumn('position', 'smallint', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('poll_options_poll_position_key', ['poll_id', 'position'])
    .execute()

  await db.schema
    .createTable('poll_ballots')
    .addColumn('poll_id', 'bigint', (c) => c.notNull().references('polls.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('poll_ballots_pkey', ['poll_id', 'user_id'])
    .execute()
  await sql`create index poll_ballots_user_idx on poll_ballots (user_id)`.execute(db)

  await db.schema
    .createTable('poll_votes')
    .addColumn('poll_id', 'bigint', (c) => c.notNull())
    .addColumn('user_id', 'bigint', (c) => c.notNull())
    .addColumn('option_id', 'bigint', (c) => c.notNull().references('poll_options.id').onDelete('cascade'))
    // 1 for the first preference of a ranked ballot; null for the other kinds.
    .addColumn('rank', 'smallint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('poll_votes_pkey', ['poll_id', 'user_id', 'option_id'])
    .addForeignKeyConstraint('poll_votes_ballot_fkey', ['poll_id', 'user_id'], 'poll_ballots', ['poll_id', 'user_id'], (c) => c.onDelete('cascade'))
    .execute()
  await sql`create index poll_votes_option_idx on poll_votes (option_id)`.execute(db)
  await sql`create unique index poll_votes_rank_key on poll_votes (poll_id, user_id, rank) where rank is not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('poll_votes').execute()
  await db.schema.dropTable('poll_ballots').execute()
  await db.schema.dropTable('poll_options').execute()
  await db.schema.dropTable('polls').execute()
  await db.schema.alterTable('posts').dropColumn('has_poll').execute()
}
