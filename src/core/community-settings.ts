import { sql } from 'kysely'
import { z } from 'zod'
import type { SessionUser } from './auth/sessions.js'
import type { DbOrTrx } from './db.js'
import { Forbidden } from './errors.js'

/**
 * Community settings with their defaults: stored as key → jsonb in community_settings,
 * edited by admins, read by every instance. A stored value that no longer parses falls
 * back to the default rather than breaking the page.
 */
export const communitySettingsSchema = {
  require_verified_email_to_post: z.boolean().default(false),
  guidelines: z
    .string()
    .max(20_000)
    .default(
      'Be kind and assume good intent. Stay on topic, search before you post, and flag what breaks these rules instead of answering it.',
    ),
} as const

export type SettingKey = keyof typeof communitySettingsSchema
export type CommunitySettings = { [K in SettingKey]: z.output<(typeof communitySettingsSchema)[K]> }

/** Reads and writes community settings. */
export class CommunitySettingsService {
  constructor(private readonly db: DbOrTrx) {}

  /** Every setting, stored value or default. */
  async all(trx?: DbOrTrx): Promise<CommunitySettings> {
    const keys = Object.keys(communitySettingsSchema) as SettingKey[]
    const rows = await (trx ?? this.db).selectFrom('community_settings').select(['key', 'value']).where('key', 'in', keys).execute()
    const stored = new Map(rows.map((r) => [r.key, r.value]))
    const out: Record<string, unknown> = {}
    for (const key of keys) {
      const schema = communitySettingsSchema[key] as z.ZodType
      const parsed = schema.safeParse(stored.get(key))
      out[key] = parsed.success ? parsed.data : schema.parse(undefined)
    }
    return out as CommunitySettings
  }

  /** Stores one setting after checking it against its schema. */
  async set<K extends SettingKey>(key: K, value: CommunitySettings[K], trx?: DbOrTrx): Promise<void> {
    const parsed = (communitySettingsSchema[key] as z.ZodType).parse(value)
    await (trx ?? this.db)
      .insertInto('community_settings')
      .values({ key, value: JSON.stringify(parsed), updated_at: sql`now()` as never })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(parsed), updated_at: sql`now()` as never }))
      .execute()
  }
}

/**
 * The guard every posting feature (threads, replies, ideas) calls before writing:
 * when the community requires it, an unverified address may not post yet.
 */
export function assertMayPost(user: Pick<SessionUser, 'email_verified_at'>, settings: Pick<CommunitySettings, 'require_verified_email_to_post'>): void {
  if (settings.require_verified_email_to_post && !user.email_verified_at) {
    throw new Forbidden('Confirm your email address before posting: use the link we mailed you, or resend it from your settings.')
  }
}
