import type { Kysely } from 'kysely'

/**
 * Staff can close a beta program's sign-ups by hand (and reopen them): `closed_at` is set
 * while it is closed. The scheduled `closes_at` stays as it was.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('beta_programs').addColumn('closed_at', 'timestamptz').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('beta_programs').dropColumn('closed_at').execute()
}
