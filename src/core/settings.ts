import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import type { Db } from './db.js'

/**
 * The instance's signing key: SECRET_KEY when set, otherwise one generated on first
 * start and kept in community_settings, so every web instance and worker agree on it.
 */
export async function instanceSecret(db: Db, fromEnv: string | null): Promise<string> {
  if (fromEnv) return fromEnv
  const generated = randomBytes(32).toString('base64url')
  await db
    .insertInto('community_settings')
    .values({ key: 'instance_secret', value: JSON.stringify(generated), updated_at: sql`now()` as never })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute()
  const row = await db
    .selectFrom('community_settings')
    .select('value')
    .where('key', '=', 'instance_secret')
    .executeTakeFirstOrThrow()
  return row.value as string
}
