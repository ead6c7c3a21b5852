import { z } from 'zod'
import type { SettingsSection } from '../../core/settings-section.js'

/** The surveys' frequency cap, as a section of /admin. */
export const surveySettingsSection: SettingsSection = {
  id: 'surveys',
  title: 'Surveys',
  intro: 'Surveys are built and read at /admin/surveys. A member is asked (invited, or allowed to answer) at most once in this many days; 0 turns the cap off.',
  submit: 'Save survey settings',
  fields: [{ name: 'survey_min_interval_days', label: 'Survey a member at most once every (days)' }],
  form: z.object({
    survey_min_interval_days: z.coerce.number({ error: 'Enter a number' }).int('Enter a whole number').min(0, 'At least 0').max(365, 'At most 365'),
  }) as z.ZodType<Record<string, number>>,
}
