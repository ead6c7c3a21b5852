import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { z } from 'zod'
import type { Db } from './db.js'
import { parse } from './errors.js'

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
  ...trustSettings(),
  ...moderationSettings(),
  ...accountSettings(),
  ...activitySettings(),
})

function count(max: number, fallback: number) {
  return z.number().int().min(0).max(max).default(fallback)
}

// Trust thresholds, defaults after Discourse's: TL1 and TL2 from lifetime reading and
// activity, TL3 over a rolling window; TL0 members have posting limits.
function trustSettings() {
  return {
    tl0_max_links_per_post: count(100, 2),
    tl0_max_mentions_per_post: count(100, 2),
    tl0_max_posts_per_day: count(1_000, 10),
    tl1_topics_entered: count(100_000, 5),
    tl1_posts_read: count(1_000_000, 30),
    tl1_reading_minutes: count(100_000, 10),
    tl2_topics_entered: count(100_000, 20),
    tl2_posts_read: count(1_000_000, 100),
    tl2_reading_minutes: count(100_000, 60),
    tl2_days_visited: count(10_000, 15),
    tl2_likes_given: count(100_000, 1),
    tl2_likes_received: count(100_000, 1),
    tl2_replies: count(100_000, 3),
    tl3_window_days: z.number().int().min(7).max(3_650).default(100),
    tl3_days_visited: count(3_650, 50),
    tl3_topics_replied: count(100_000, 10),
    tl3_topics_read_percent: count(100, 25),
    tl3_posts_read_percent: count(100, 25),
    tl3_likes_received: count(100_000, 20),
    tl3_distinct_likers: count(100_000, 5),
    tl3_likes_given: count(100_000, 30),
    tl3_max_flagged_posts: count(100_000, 5),
    tl3_grace_days: count(365, 14),
  }
}

// Flags and volunteer moderators: when flags hide a post, and how members are promoted.
function moderationSettings() {
  return {
    flag_hide_threshold: z.number().min(1).max(100).default(5),
    moderators_per_category: count(50, 3),
    promotion_mode: z.enum(['automatic', 'invitation']).default('automatic'),
    promotion_min_activity: count(1_000_000, 20),
    promotion_min_accuracy_percent: count(100, 60),
    moderator_grace_days: count(365, 14),
  }
}

// Leaving and renaming: the cooling-off before a deletion, how often a name may change and
// how long an old name stays reserved for its member, how long an export link works.
function accountSettings() {
  return {
    account_deletion_cooling_days: count(90, 7),
    username_change_days: count(365, 30),
    username_hold_days: count(3_650, 90),
    data_export_days: z.number().int().min(1).max(90).default(7),
  }
}

// Community health (features/activity): what each kind of act weighs in a member's score,
// and the thresholds of the lifecycle stages computed nightly from it.
function activitySettings() {
  return {
    activity_weight_post: count(100, 5),
    activity_weight_reply: count(100, 3),
    activity_weight_like_given: count(100, 1),
    activity_weight_like_received: count(100, 2),
    activity_weight_helped: count(100, 3),
    activity_weight_vote: count(100, 1),
    activity_weight_idea: count(100, 4),
    activity_weight_beta_signup: count(100, 2),
    activity_weight_flag_agreed: count(100, 2),
    activity_weight_visit: count(100, 1),
    activity_weight_referral: count(100, 5),
    stage_window_days: z.number().int().min(14).max(365).default(90),
    stage_newcomer_days: count(365, 30),
    stage_contributor_score: count(100_000, 30),
    stage_champion_score: count(100_000, 100),
    stage_champion_helped: count(10_000, 5),
    stage_drift_percent: z.number().int().min(1).max(100).default(50),
    lifecycle_on_profile: z.boolean().default(true),
    health_report_mail: z.boolean().default(true),
  }
}

/** Keys of the activity weights and stage thresholds, in the order /admin shows them (features/activity/settings.ts). */
export const ACTIVITY_SETTING_KEYS = Object.keys(activitySettings()) as (keyof ReturnType<typeof activitySettings>)[]

/** Keys of the trust thresholds and limits, in the order /admin shows them (features/trust/settings.ts). */
export const TRUST_SETTING_KEYS = Object.keys(trustSettings()) as (keyof ReturnType<typeof trustSettings>)[]

/** Every setting at its default, as a fresh community has them. */
export function defaultSettings(): CommunitySettingsValues {
  return SettingsSchema.parse({})
}

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

  /**
   * Every setting, stored values over defaults. `fresh` skips the cache: jobs that run
   * rarely (in the worker, where an owner's change made in the web process is not yet seen)
   * read what is stored now.
   */
  async all(options: { fresh?: boolean } = {}): Promise<CommunitySettingsValues> {
    if (!options.fresh && this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.values
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
