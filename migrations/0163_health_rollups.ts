import { type Kysely, sql } from 'kysely'

/**
 * What the health dashboard reads instead of scanning a year of rows per request, kept by
 * the nightly roll (features/activity/service.ts, `rollDays`):
 * - `health_threads`: each thread's first response by someone else (minutes, and whether staff gave it);
 * - `health_members`: each member's join time, first participation within 30 days of it, and whether a link referred them;
 * - `cohort_activity`: for each join day, how many of that day's members were active in each later month;
 * - `health_helpers`: the top contributors of the dashboard's preset ranges (the last 7, 30, 90 and
 *   365 rolled days), exact;
 * - `helper_months`: per member and month, how many distinct members liked their replies (an upper
 *   bound for any other range that month covers; the exact count for the top candidates comes from
 *   the log's `helped` rows through the partial indexes below).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('health_threads')
    .addColumn('thread_id', 'bigint', (c) => c.primaryKey().references('threads.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('minutes', 'real')
    .addColumn('by_staff', 'boolean')
    .execute()
  await sql`create index health_threads_created_idx on health_threads (created_at)`.execute(db)
  await sql`create index health_threads_unanswered_idx on health_threads (created_at) where minutes is null`.execute(db)

  await db.schema
    .createTable('health_members')
    .addColumn('user_id', 'bigint', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull())
    .addColumn('took_part_at', 'timestamptz')
    .addColumn('referred', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('settled', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
  await sql`create index health_members_joined_idx on health_members (joined_at) include (took_part_at, referred)`.execute(db)
  await sql`create index health_members_open_idx on health_members (joined_at) where not settled`.execute(db)

  await db.schema
    .createTable('cohort_activity')
    .addColumn('join_day', 'date', (c) => c.notNull())
    .addColumn('month', 'date', (c) => c.notNull())
    .addColumn('members', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('cohort_activity_pkey', ['join_day', 'month'])
    .execute()

  await db.schema
    .createTable('health_helpers')
    .addColumn('days', 'integer', (c) => c.notNull())
    .addColumn('until', 'date', (c) => c.notNull())
    .addColumn('rank', 'integer', (c) => c.notNull())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('helped', 'integer', (c) => c.notNull())
    .addColumn('replies', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('health_helpers_pkey', ['days', 'rank'])
    .execute()

  await db.schema
    .createTable('helper_months')
    .addColumn('month', 'date', (c) => c.notNull())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('helped', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('helper_months_pkey', ['month', 'user_id'])
    .execute()

  // The rollups start from the first rolled day: let the next roll redo every day, so they cover the same days.
  await sql`delete from health_daily`.execute(db)

  await sql`create index activity_log_helped_at_idx on activity_log (at) include (user_id, other_user_id) where kind = 'helped'`.execute(db)
  await sql`create index activity_log_helped_user_idx on activity_log (user_id, at) include (other_user_id, subject_id) where kind = 'helped'`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists activity_log_helped_user_idx`.execute(db)
  await sql`drop index if exists activity_log_helped_at_idx`.execute(db)
  for (const table of ['helper_months', 'health_helpers', 'cohort_activity', 'health_members', 'health_threads']) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
