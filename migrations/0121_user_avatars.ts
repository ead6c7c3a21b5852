import type { Kysely } from 'kysely'

/**
 * A member's uploaded avatar: the content hash its sizes are stored under
 * (`/uploads/<hash>-<size>.webp`), null for the generated default. Kept on the member so
 * every page that shows an author gets it with the author's name, in the same query.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('avatar_key', 'text').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('avatar_key').execute()
}
