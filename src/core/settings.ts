import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { z } from 'zod'
import type { Db, Trx } from './db.js'
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
  ...spamSettings(),
  ...accountSettings(),
  ...activitySettings(),
  ...uploadSettings(),
  ...identitySettings(),
  ...surveySettings(),
})

// The community's identity and its public pages, edited in /admin (features/community).
// Empty means "not set": the name falls back to COMMUNITY_NAME, the rest to Hearth's own.
function identitySettings() {
  return {
    community_name: z.string().max(80).default(''),
    tagline: z.string().max(160).default(''),
    logo_url: z.string().max(500).default(''),
    favicon_url: z.string().max(500).default(''),
    accent_color: z.string().regex(/^(#[0-9a-f]{6})?$/).default(''),
    about: z.string().max(20_000).default(''),
    contact: z.string().max(300).default(''),
    /** The first-run checklist on /admin was put away by an admin. */
    checklist_dismissed: z.boolean().default(false),
  }
}

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

// Spam and abuse defence (features/spam): sign-up defences, the post risk policy, the approval queue.
function spamSettings() {
  const score = (fallback: number) => z.number().int().min(0).max(101).default(fallback)
  return {
    /** Seconds a person needs at least to fill the sign-up form (faster is a bot). */
    spam_signup_min_seconds: count(600, 3),
    spam_block_disposable_email: z.boolean().default(true),
    /** open: anyone signs up; approval: staff approve each application; invite: only with an invitation link. */
    spam_signup_mode: z.enum(['open', 'approval', 'invite']).default('open'),
    /** One question per line, asked on the sign-up form when sign-ups are approved by hand. */
    spam_application_questions: z.string().max(2_000).default(''),
    /** Who may create invitation links: staff only, or members of trust level 2 and above too. */
    spam_invites_by: z.enum(['staff', 'members']).default('staff'),
    /** A member's first N posts wait for approval (0: none). */
    spam_hold_first_posts: count(50, 0),
    /** Category slugs (comma-separated) whose new posts all wait for approval. */
    spam_hold_category_slugs: z.string().max(1_000).default(''),
    /** Trust level 3 members may approve held posts in categories they can see. */
    spam_tl3_approves: z.boolean().default(false),
    /** Risk score (0–100) from which a post is published and flagged for a look, held, or refused; 101 turns a step off. */
    spam_flag_score: score(40),
    spam_hold_score: score(60),
    spam_reject_score: score(90),
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
    activity_weight_poll_vote: count(100, 1),
    activity_weight_survey_answer: count(100, 2),
    activity_weight_event_rsvp: count(100, 2),
    activity_weight_event_attended: count(100, 4),
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
// Images members upload: per-file and per-day limits (trust level 0 gets a smaller day), and
// the size pictures are scaled down to. A photo from a phone (12 megapixels, 3–6 MB) fits.
function uploadSettings() {
  return {
    upload_max_file_kb: z.number().int().min(16).max(20_480).default(8_192),
    upload_max_megapixels: z.number().int().min(1).max(100).default(40),
    upload_max_dimension: z.number().int().min(256).max(4_096).default(1_920),
    upload_daily_mb: count(10_000, 100),
    tl0_upload_daily_mb: count(10_000, 20),
    upload_daily_count: count(10_000, 100),
    tl0_upload_daily_count: count(10_000, 10),
    upload_min_trust_level: count(4, 0),
  }
}

/** Keys of the upload limits, in the order /admin shows them (features/uploads/settings.ts). */
export const UPLOAD_SETTING_KEYS = Object.keys(uploadSettings()) as (keyof ReturnType<typeof uploadSettings>)[]

/** Keys of the trust thresholds and limits, in the order /admin shows them (features/trust/settings.ts). */
export const TRUST_SETTING_KEYS = Object.keys(trustSettings()) as (keyof ReturnType<typeof trustSettings>)[]

// Surveys (features/surveys): a member is surveyed at most once in this many days (0: no cap).
function surveySettings() {
  return {
    survey_min_interval_days: count(365, 30),
  }
}

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

  /**
   * Changes some settings after validating them; throws Invalid naming the bad key. In the
   * caller's transaction when given one (so a staff-log entry commits with the change).
   */
  async update(changes: Partial<CommunitySettingsValues>, inTrx?: Trx): Promise<CommunitySettingsValues> {
    const next = parse(SettingsSchema, { ...(await this.all()), ...changes })
    const write = async (trx: Trx) => {
      for (const [key, value] of Object.entries(changes)) {
        await trx
          .insertInto('community_settings')
          .values({ key, value: JSON.stringify(next[key as keyof CommunitySettingsValues] ?? value), updated_at: new Date() })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: (eb) => eb.ref('excluded.value'), updated_at: new Date() }))
          .execute()
      }
    }
    if (inTrx) await write(inTrx)
    else await this.db.transaction().execute(write)
    this.cached = null
    return next
  }
}
