import { type Kysely, sql } from 'kysely'

/**
 * Surveys (features/surveys). `surveys` holds each survey: its questions (jsonb), whom it
 * targets, when it runs, whether answers are anonymous, and the series it is a wave of.
 * `survey_invitations` records whom it was sent to (for the frequency cap and "your
 * surveys"). Answers are `survey_responses`: for an anonymous survey no member id is stored
 * there or anywhere linked to it; `survey_responders` is the ledger of who has answered,
 * keyed by a keyed hash of (survey, member) that only the server can compute, so it can
 * refuse a second answer without naming anyone. Response ids are random (not in order) and
 * anonymous rows carry only the day they were given. `survey_followups` are the staff's
 * follow-up items for attributed detractors.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('surveys')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    // The first wave's id; a repeated survey is a new wave of the same series.
    .addColumn('series_id', 'bigint', (c) => c.references('surveys.id').onDelete('set null'))
    .addColumn('wave', 'smallint', (c) => c.notNull().defaultTo(1))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('intro_md', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('intro_html', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('questions', 'jsonb', (c) => c.notNull())
    .addColumn('anonymous', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('target', 'jsonb', (c) => c.notNull())
    .addColumn('opens_at', 'timestamptz', (c) => c.notNull())
    .addColumn('closes_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('invited_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('surveys_period_check', sql`closes_at > opens_at`)
    .execute()
  await sql`create index surveys_series_idx on surveys (series_id)`.execute(db)

  await db.schema
    .createTable('survey_invitations')
    .addColumn('survey_id', 'bigint', (c) => c.notNull().references('surveys.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('survey_invitations_pkey', ['survey_id', 'user_id'])
    .execute()
  await sql`create index survey_invitations_user_idx on survey_invitations (user_id, created_at)`.execute(db)

  await db.schema
    .createTable('survey_responders')
    .addColumn('survey_id', 'bigint', (c) => c.notNull().references('surveys.id').onDelete('cascade'))
    .addColumn('responder_key', 'text', (c) => c.notNull())
    .addColumn('answered_on', 'date', (c) => c.notNull().defaultTo(sql`current_date`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('day', now())`))
    .addPrimaryKeyConstraint('survey_responders_pkey', ['survey_id', 'responder_key'])
    .execute()

  await db.schema
    .createTable('survey_responses')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('survey_id', 'bigint', (c) => c.notNull().references('surveys.id').onDelete('cascade'))
    // Attributed surveys only; always null for an anonymous one (checked below).
    .addColumn('user_id', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('anonymous', 'boolean', (c) => c.notNull())
    // Coarse facts for the breakdowns, as they were when answering.
    .addColumn('trust_level', 'smallint', (c) => c.notNull())
    .addColumn('stage', 'text')
    .addColumn('answers', 'jsonb', (c) => c.notNull())
    .addColumn('answered_on', 'date', (c) => c.notNull().defaultTo(sql`current_date`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('day', now())`))
    .addCheckConstraint('survey_responses_anonymous_check', sql`not anonymous or user_id is null`)
    .execute()
  await sql`create index survey_responses_survey_idx on survey_responses (survey_id)`.execute(db)
  await sql`create unique index survey_responses_member_key on survey_responses (survey_id, user_id) where user_id is not null`.execute(db)

  await db.schema
    .createTable('survey_followups')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('survey_id', 'bigint', (c) => c.notNull().references('surveys.id').onDelete('cascade'))
    .addColumn('response_id', 'uuid', (c) => c.notNull().unique().references('survey_responses.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('score', 'smallint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open', 'contacted', 'resolved')`))
    .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('updated_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('idea_id', 'bigint', (c) => c.references('ideas.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create index survey_followups_status_idx on survey_followups (status, created_at)`.execute(db)

  // Ideas made from a free-text answer link back to their survey.
  await db.schema.alterTable('ideas').addColumn('survey_id', 'bigint', (c) => c.references('surveys.id').onDelete('set null')).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('ideas').dropColumn('survey_id').execute()
  await db.schema.dropTable('survey_followups').execute()
  await db.schema.dropTable('survey_responses').execute()
  await db.schema.dropTable('survey_responders').execute()
  await db.schema.dropTable('survey_invitations').execute()
  await db.schema.dropTable('surveys').execute()
}
