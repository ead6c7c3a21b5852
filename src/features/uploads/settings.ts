import { z } from 'zod'
import type { SettingsSection } from '../../core/settings-section.js'
import { UPLOAD_SETTING_KEYS } from '../../core/settings.js'

const LABELS: Record<(typeof UPLOAD_SETTING_KEYS)[number], string> = {
  upload_max_file_kb: 'Largest file (KB)',
  upload_max_megapixels: 'Largest picture (megapixels)',
  upload_max_dimension: 'Pictures are scaled down to at most this many pixels wide or high',
  upload_daily_mb: 'Each member may upload this many MB a day',
  tl0_upload_daily_mb: 'TL0: MB a day',
  upload_daily_count: 'Each member may upload this many images a day',
  tl0_upload_daily_count: 'TL0: images a day',
  upload_min_trust_level: 'Lowest trust level that may upload images',
}

const wholeNumber = z.coerce.number({ error: 'Enter a number' }).int('Enter a whole number')

/** The upload limits, as a section of /admin. */
export const uploadSettingsSection: SettingsSection = {
  id: 'uploads',
  title: 'Images',
  intro: 'Members add images to posts and set avatars. Every image is checked, re-encoded without its metadata and scaled down.',
  submit: 'Save image limits',
  fields: UPLOAD_SETTING_KEYS.map((name) => ({ name, label: LABELS[name] })),
  form: z.object(Object.fromEntries(UPLOAD_SETTING_KEYS.map((k) => [k, wholeNumber]))) as z.ZodType<Record<string, number>>,
}
