import type { Kysely } from 'kysely'

/**
 * Trust bookkeeping on members: since when a TL3 member has fallen short (the grace
 * period before losing TL3), and an owner's lock on the global role.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('tl3_short_since', 'timestamptz')
    .addColumn('role_locked', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('tl3_short_since').dropColumn('role_locked').execute()
}
