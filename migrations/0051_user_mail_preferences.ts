import { type Kysely, sql } from 'kysely'

/**
 * Per-member mail state: which notification kinds they switched off, and suppression
 * (an address the mail server permanently rejected is never mailed again until changed).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('mail_off_kinds', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('email_suppressed_at', 'timestamptz')
    .addColumn('email_suppressed_reason', 'text')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('email_suppressed_reason').dropColumn('email_suppressed_at').dropColumn('mail_off_kinds').execute()
}
