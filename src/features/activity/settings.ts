import { z } from 'zod'
import type { SettingsSection } from '../../core/settings-section.js'
import { ACTIVITY_SETTING_KEYS } from '../../core/settings.js'
import { ACTIVITY_KINDS, type ActivityKind } from './kinds.js'

const STAGE_LABELS = {
  stage_window_days: 'Stages look at the last (days)',
  stage_newcomer_days: 'Newcomer: joined within (days)',
  stage_contributor_score: 'Contributor: score at least',
  stage_champion_score: 'Champion: score at least',
  stage_champion_helped: 'Champion: replies liked by at least this many members',
  stage_drift_percent: 'Drifting: last 30 days below this % of their usual month',
  lifecycle_on_profile: 'Show members their own stage on their profile',
  health_report_mail: 'Mail admins a weekly health report (Mondays)',
} as const

function label(key: (typeof ACTIVITY_SETTING_KEYS)[number]): string {
  if (key.startsWith('activity_weight_')) return `Weight: ${ACTIVITY_KINDS[key.slice('activity_weight_'.length) as ActivityKind].label.toLowerCase()}`
  return STAGE_LABELS[key as keyof typeof STAGE_LABELS]
}

const YES_NO_KEYS = new Set<string>(['lifecycle_on_profile', 'health_report_mail'])
const wholeNumber = z.coerce.number({ error: 'Enter a number' }).int('Enter a whole number').min(0, 'At least 0')
const YES_NO = [
  { value: 'true', label: 'Yes' },
  { value: 'false', label: 'No' },
] as const

/** Activity weights and lifecycle-stage thresholds, as a section of /admin. */
export const activitySettingsSection: SettingsSection = {
  id: 'activity',
  title: 'Health weights and stages',
  intro: "Each act's weight in a member's score, and the thresholds of the lifecycle stages computed nightly. The dashboard is at /admin/health.",
  submit: 'Save health settings',
  fields: ACTIVITY_SETTING_KEYS.map((name) => (YES_NO_KEYS.has(name) ? { name, label: label(name), options: YES_NO } : { name, label: label(name) })),
  form: z.object(
    Object.fromEntries(
      ACTIVITY_SETTING_KEYS.map((k) => [k, YES_NO_KEYS.has(k) ? z.enum(['true', 'false']).transform((v) => v === 'true') : wholeNumber]),
    ),
  ) as z.ZodType<Record<string, number | boolean>>,
}
