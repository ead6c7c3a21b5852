import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { z } from 'zod'
import type { Db } from './db.js'
import type { SessionUser } from './auth/sessions.js'
import { Forbidden, parse } from './errors.js'

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

const SettingsSchema = z.object({
  edit_window_minutes: z.number().int().min(0).max(525_600).default(1440),
  min_title_length: z.number().int().min(1).max(100).default(5),
  max_title_length: z.number().int().min(10).max(300).default(200),
  max_post_length: z.number().int().min(100).max(200_000).default(65_536),
  require_verified_email_to_post: z.boolean().default(false),
  guidelines: z
    .string()
    .max(20_000)
    .default(
      'Be kind and assume good intent. Stay on topic, search before you post, and flag what breaks these rules instead of answering it.',
    ),
})

/** Community settings: edited by admins in /admin, shared by every instance through the database. */
export type CommunitySettingsValues = z.output<typeof SettingsSchema>

const CACHE_MS = 5_000

/**
 * Typed community settings over the `community_settings` table, with defaults for every
 * key. Cached for a few seconds per process; a change made here is seen at once here and
 * within seconds by other instances.
 */
export class CommunitySettings {
  private cached: { at: number; values: CommunitySettingsValues } | null = null

  constructor(private readonly db: Db) {}

  /** Every setting, stored values over defaults. */
  async all(): Promise<CommunitySettingsValues> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.values
    const rows = await this.db.selectFrom('community_settings').select(['key', 'value']).execute()
    const stored = Object.fromEntries(rows.filter((r) => r.key in SettingsSchema.shape).map((r) => [r.key, r.value]))
    const parsed = SettingsSchema.safeParse(stored)
    const values = parsed.success ? parsed.data : SettingsSchema.parse({})
    this.cached = { at: Date.now(), values }
    return values
  }

  /** Changes one setting (see `update`). */
  async set<K extends keyof CommunitySettingsValues>(key: K, value: CommunitySettingsValues[K]): Promise<void> {
    await this.update({ [key]: value } as Partial<CommunitySettingsValues>)
  }

  /** Changes some settings after validating them; throws Invalid naming the bad key. */
  async update(changes: Partial<CommunitySettingsValues>): Promise<CommunitySettingsValues> {
    const next = parse(SettingsSchema, { ...(await this.all()), ...changes })
    await this.db.transaction().execute(async (trx) => {
      for (const [key, value] of Object.entries(changes)) {
        await trx
          .insertInto('community_settings')
          .values({ key, value: JSON.stringify(next[key as keyof CommunitySettingsValues] ?? value), updated_at: new Date() })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: (eb) => eb.ref('excluded.value'), updated_at: new Date() }))
          .execute()
      }
    })
    this.cached = null
    return next
  }
}

/**
 * The guard every posting feature (threads, replies, ideas) calls before writing:
 * when the community requires it, an unverified address may not post yet.
 */
export function assertMayPost(
  user: Pick<SessionUser, 'email_verified_at'>,
  settings: Pick<CommunitySettingsValues, 'require_verified_email_to_post'>,
): void {
  if (settings.require_verified_email_to_post && !user.email_verified_at) {
    throw new Forbidden('Confirm your email address before posting: use the link we mailed you, or resend it from your settings.')
  }
}
