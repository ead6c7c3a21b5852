import type { Kysely } from 'kysely'

/**
 * A revision also keeps the thread's title as it was before the edit (opening posts only)
 * and the reason the editor gave, so the edit history can say "title changed from X to Y"
 * and why. Revisions written before this have neither (null title, empty reason).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('post_revisions').addColumn('title', 'text').execute()
  await db.schema.alterTable('post_revisions').addColumn('reason', 'text', (c) => c.notNull().defaultTo('')).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('post_revisions').dropColumn('reason').execute()
  await db.schema.alterTable('post_revisions').dropColumn('title').execute()
}
