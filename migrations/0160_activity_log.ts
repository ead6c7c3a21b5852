import { type Kysely, sql } from 'kysely'

/**
 * Community health (src/features/activity):
 * - `activity_log`: one append-only row per thing a member did (posted, replied, liked or was
 *   liked, helped someone, voted, proposed, signed up for a beta, had a flag agreed with,
 *   visited). Rows are derived from the tables that record each act, so the same derivation
 *   backfills an existing community and keeps up with new events; the unique key makes
 *   every derivation idempotent.
 * - `member_days`: the days each member was active, the base of DAU/WAU/MAU; `member_months`
 *   the months, for retention cohorts.
 * - `health_daily`: each closed day's figures, computed in advance for the dashboard.
 * - `member_stages` and `member_stage_changes`: each member's lifecycle stage, computed
 *   nightly, and every change of it, so the flow between stages over time is known.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('activity_log')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    // What the act was about: a post, idea, beta program or flag id; a visit's day as yyyymmdd.
    .addColumn('subject_id', 'bigint', (c) => c.notNull().defaultTo(0))
    // The other member involved: whose post was liked or answered, who liked.
    .addColumn('other_user_id', 'bigint')
    .addColumn('category_id', 'bigint')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .execute()
  await sql`create unique index activity_log_act_key on activity_log (user_id, kind, subject_id, other_user_id) nulls not distinct`.execute(db)
  await sql`create index activity_log_at_idx on activity_log (at, user_id)`.execute(db)
  await sql`create index activity_log_user_at_idx on activity_log (user_id, at)`.execute(db)

  await db.schema
    .createTable('member_days')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('member_days_pkey', ['day', 'user_id'])
    .execute()
  await sql`create index member_days_user_idx on member_days (user_id, day)`.execute(db)

  // The months each member was active (rolled nightly from member_days): retention cohorts.
  await db.schema
    .createTable('member_months')
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('month', 'date', (c) => c.notNull())
    .addPrimaryKeyConstraint('member_months_pkey', ['user_id', 'month'])
    .execute()

  await db.schema
    .createTable('health_daily')
    .addColumn('day', 'date', (c) => c.primaryKey())
    .addColumn('dau', 'integer', (c) => c.notNull())
    .addColumn('wau', 'integer', (c) => c.notNull())
    .addColumn('mau', 'integer', (c) => c.notNull())
    .addColumn('new_members', 'integer', (c) => c.notNull())
    .addColumn('posts', 'integer', (c) => c.notNull())
    .addColumn('computed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('member_stages')
    .addColumn('user_id', 'bigint', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('drifting', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('score', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('recent_score', 'real', (c) => c.notNull().defaultTo(0))
    .addColumn('helped', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('since', 'date', (c) => c.notNull())
    .addColumn('computed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create index member_stages_stage_idx on member_stages (stage)`.execute(db)

  await db.schema
    .createTable('member_stage_changes')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('from_stage', 'text')
    .addColumn('to_stage', 'text', (c) => c.notNull())
    .addColumn('day', 'date', (c) => c.notNull())
    .execute()
  await sql`create index member_stage_changes_day_idx on member_stage_changes (day)`.execute(db)
  await sql`create index member_stage_changes_user_idx on member_stage_changes (user_id, day)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['member_stage_changes', 'member_stages', 'health_daily', 'member_months', 'member_days', 'activity_log']) {
    await db.schema.dropTable(table).execute()
  }
}
