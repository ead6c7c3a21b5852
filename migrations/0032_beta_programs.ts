import { type Kysely, sql } from 'kysely'

/**
 * Beta-test programs and sign-ups. Seats are counted on the program row, which every
 * sign-up and withdrawal locks, and a check keeps `seats_taken <= capacity` whatever
 * happens. Waitlist positions are unique per program (deferred, so a withdrawal can
 * renumber the queue in one statement) and kept gapless by the service.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('beta_programs')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description_md', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('description_html', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('idea_id', 'bigint', (c) => c.references('ideas.id').onDelete('set null'))
    .addColumn('opens_at', 'timestamptz', (c) => c.notNull())
    .addColumn('closes_at', 'timestamptz')
    .addColumn('capacity', 'integer', (c) => c.notNull().check(sql`capacity > 0`))
    .addColumn('min_trust_level', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('members_only', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('questions', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('review_mode', 'text', (c) => c.notNull().defaultTo('auto').check(sql`review_mode in ('auto', 'manual')`))
    .addColumn('seats_taken', 'integer', (c) => c.notNull().defaultTo(0).check(sql`seats_taken >= 0`))
    .addColumn('waitlist_length', 'integer', (c) => c.notNull().defaultTo(0).check(sql`waitlist_length >= 0`))
    .addColumn('created_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('beta_programs_no_overbooking', sql`seats_taken <= capacity`)
    .addCheckConstraint('beta_programs_window', sql`closes_at is null or closes_at > opens_at`)
    .execute()
  await sql`create index beta_programs_idea_idx on beta_programs (idea_id) where idea_id is not null`.execute(db)

  await db.schema
    .createTable('beta_signups')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('program_id', 'bigint', (c) => c.notNull().references('beta_programs.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('accepted', 'pending', 'waitlisted', 'declined', 'withdrawn')`),
    )
    .addColumn('waitlist_position', 'integer')
    .addColumn('answers', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('beta_signups_one_per_member', ['program_id', 'user_id'])
    .addCheckConstraint(
      'beta_signups_position_iff_waitlisted',
      sql`(status = 'waitlisted') = (waitlist_position is not null and waitlist_position > 0)`,
    )
    .execute()
  await sql`alter table beta_signups add constraint beta_signups_position_unique
    unique (program_id, waitlist_position) deferrable initially deferred`.execute(db)
  await sql`create index beta_signups_user_idx on beta_signups (user_id)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('beta_signups').execute()
  await db.schema.dropTable('beta_programs').execute()
}
