import { type Kysely, sql } from 'kysely'

/**
 * Events and meetups (src/features/events):
 * - `events`: what, where, which category (whose visibility it inherits), the wall-clock
 *   time and IANA zone of its first occurrence, and how it repeats.
 * - `event_occurrences`: one row per date people RSVP to (a one-off event has one; a
 *   series has a bounded horizon, extended by a scheduled job). Seats are counted on this
 *   row, which every RSVP, withdrawal and capacity change locks, and a check keeps
 *   `seats_taken <= capacity` whatever happens.
 * - `event_rsvps`: a member's answer for one occurrence. Waitlist positions are unique per
 *   occurrence (deferred, so a withdrawal renumbers the queue in one statement) and kept
 *   gapless by the service.
 * - `event_hosts`: who runs the event (edits it, checks people in).
 * - `event_deliveries`: the ledger that makes reminders and recaps exactly-once per
 *   (occurrence, member, kind), claimed in the transaction that writes the notification.
 * - `event_calendar_keys`: the SHA-256 digest of a member's private calendar feed secret.
 * - `users.time_zone`: the zone a member reads times in (null: the browser's, else UTC).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('events')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('category_id', 'bigint', (c) => c.notNull().references('categories.id').onDelete('cascade'))
    .addColumn('thread_id', 'bigint', (c) => c.references('threads.id').onDelete('set null'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description_md', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('description_html', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('time_zone', 'text', (c) => c.notNull())
    // The first occurrence's local start (wall clock in time_zone) and its length.
    .addColumn('local_start', 'text', (c) => c.notNull().check(sql`local_start ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$'`))
    .addColumn('duration_minutes', 'integer', (c) => c.notNull().check(sql`duration_minutes > 0`))
    .addColumn('recurrence', 'text', (c) => c.notNull().defaultTo('none').check(sql`recurrence in ('none', 'weekly', 'monthly')`))
    .addColumn('repeat_until', 'date')
    .addColumn('address', 'text')
    .addColumn('online_url', 'text')
    .addColumn('capacity', 'integer', (c) => c.check(sql`capacity > 0`))
    .addColumn('max_guests', 'integer', (c) => c.notNull().defaultTo(0).check(sql`max_guests between 0 and 20`))
    // RSVPs close this many minutes before each occurrence starts (null: at the start).
    .addColumn('rsvp_close_minutes', 'integer', (c) => c.check(sql`rsvp_close_minutes >= 0`))
    .addColumn('reminder_minutes', sql`integer[]`, (c) => c.notNull().defaultTo(sql`'{1440,60}'`))
    .addColumn('questions', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create index events_category_idx on events (category_id)`.execute(db)

  await db.schema
    .createTable('event_hosts')
    .addColumn('event_id', 'bigint', (c) => c.notNull().references('events.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('event_hosts_pkey', ['event_id', 'user_id'])
    .execute()
  await sql`create index event_hosts_user_idx on event_hosts (user_id)`.execute(db)

  await db.schema
    .createTable('event_occurrences')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('event_id', 'bigint', (c) => c.notNull().references('events.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ends_at', 'timestamptz', (c) => c.notNull())
    .addColumn('rsvp_closes_at', 'timestamptz')
    .addColumn('capacity', 'integer', (c) => c.check(sql`capacity > 0`))
    .addColumn('seats_taken', 'integer', (c) => c.notNull().defaultTo(0).check(sql`seats_taken >= 0`))
    .addColumn('waitlist_length', 'integer', (c) => c.notNull().defaultTo(0).check(sql`waitlist_length >= 0`))
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('event_occurrences_seq', ['event_id', 'seq'])
    .addCheckConstraint('event_occurrences_no_overbooking', sql`capacity is null or seats_taken <= capacity`)
    .addCheckConstraint('event_occurrences_window', sql`ends_at > starts_at`)
    .execute()
  await sql`create index event_occurrences_starts_idx on event_occurrences (starts_at)`.execute(db)
  await sql`create index event_occurrences_ends_idx on event_occurrences (ends_at)`.execute(db)

  await db.schema
    .createTable('event_rsvps')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('occurrence_id', 'bigint', (c) => c.notNull().references('event_occurrences.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('going', 'waitlisted', 'interested', 'not_going')`))
    .addColumn('guests', 'integer', (c) => c.notNull().defaultTo(0).check(sql`guests between 0 and 20`))
    .addColumn('waitlist_position', 'integer')
    .addColumn('answers', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('checked_in_at', 'timestamptz')
    .addColumn('checked_in_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('rating', 'smallint', (c) => c.check(sql`rating between 1 and 5`))
    .addColumn('rated_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('event_rsvps_one_per_member', ['occurrence_id', 'user_id'])
    .addCheckConstraint('event_rsvps_position_iff_waitlisted', sql`(status = 'waitlisted') = (waitlist_position is not null and waitlist_position > 0)`)
    .execute()
  await sql`alter table event_rsvps add constraint event_rsvps_position_unique
    unique (occurrence_id, waitlist_position) deferrable initially deferred`.execute(db)
  await sql`create index event_rsvps_user_idx on event_rsvps (user_id)`.execute(db)

  await db.schema
    .createTable('event_deliveries')
    .addColumn('occurrence_id', 'bigint', (c) => c.notNull().references('event_occurrences.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // 'reminder:<minutes before>' or 'recap'.
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('notification_id', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('event_deliveries_pkey', ['occurrence_id', 'user_id', 'kind'])
    .execute()

  await db.schema
    .createTable('event_calendar_keys')
    .addColumn('user_id', 'bigint', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema.alterTable('users').addColumn('time_zone', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('time_zone').execute()
  for (const table of ['event_calendar_keys', 'event_deliveries', 'event_rsvps', 'event_occurrences', 'event_hosts', 'events']) {
    await db.schema.dropTable(table).execute()
  }
}
