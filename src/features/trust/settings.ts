import { z } from 'zod'
import type { SettingsSection } from '../../core/settings-section.js'
import { TRUST_SETTING_KEYS } from '../../core/settings.js'

const LABELS: Record<(typeof TRUST_SETTING_KEYS)[number], string> = {
  tl0_max_links_per_post: 'TL0: most links per post',
  tl0_max_mentions_per_post: 'TL0: most mentions per post',
  tl0_max_posts_per_day: 'TL0: most posts per day',
  tl1_topics_entered: 'TL1: topics entered',
  tl1_posts_read: 'TL1: posts read',
  tl1_reading_minutes: 'TL1: minutes reading',
  tl2_topics_entered: 'TL2: topics entered',
  tl2_posts_read: 'TL2: posts read',
  tl2_reading_minutes: 'TL2: minutes reading',
  tl2_days_visited: 'TL2: days visited',
  tl2_likes_given: 'TL2: likes given',
  tl2_likes_received: 'TL2: likes received',
  tl2_replies: 'TL2: replies posted',
  tl3_window_days: 'TL3: rolling window (days)',
  tl3_days_visited: 'TL3: days visited in the window',
  tl3_topics_replied: 'TL3: topics replied to',
  tl3_topics_read_percent: 'TL3: % of recent topics read',
  tl3_posts_read_percent: 'TL3: % of recent posts read',
  tl3_likes_received: 'TL3: likes received',
  tl3_distinct_likers: 'TL3: from at least this many members',
  tl3_likes_given: 'TL3: likes given',
  tl3_max_flagged_posts: 'TL3: at most this many posts flagged (agreed)',
  tl3_grace_days: 'TL3: grace before losing it (days)',
}

const wholeNumber = z.coerce.number({ error: 'Enter a number' }).int('Enter a whole number')

/** The trust thresholds and new-member limits, as a section of /admin. */
export const trustSettingsSection: SettingsSection = {
  id: 'trust',
  title: 'Trust levels',
  intro: "Defaults follow Discourse's. TL4 is only ever granted by hand above.",
  submit: 'Save trust thresholds',
  fields: TRUST_SETTING_KEYS.map((name) => ({ name, label: LABELS[name] })),
  form: z.object(Object.fromEntries(TRUST_SETTING_KEYS.map((k) => [k, wholeNumber]))) as z.ZodType<Record<string, number>>,
}
