import { type Kysely, sql } from 'kysely'

/**
 * A member's leaving: a deletion request waits out its cooling-off period
 * (`deletion_due_at`, with the member's choice of `deletion_mode`), and `deleted_at`
 * marks an account that has been anonymised (the row stays so posts keep an author).
 * `username_changed_at` paces username changes.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('username_changed_at', 'timestamptz')
    .addColumn('deletion_requested_at', 'timestamptz')
    .addColumn('deletion_due_at', 'timestamptz')
    .addColumn('deletion_mode', 'text', (c) => c.check(sql`deletion_mode in ('anonymize', 'erase')`))
    .addColumn('deleted_at', 'timestamptz')
    .execute()
  // The deletion job finds due requests without scanning every member.
  await sql`create index users_deletion_due_idx on users (deletion_due_at) where deletion_due_at is not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .dropColumn('deleted_at')
    .dropColumn('deletion_mode')
    .dropColumn('deletion_due_at')
    .dropColumn('deletion_requested_at')
    .dropColumn('username_changed_at')
    .execute()
}
