import { z } from 'zod'
import type { SettingsSection } from '../../core/settings-section.js'

const number = z.coerce.number({ error: 'Enter a number' })

/** Flag sensitivity and volunteer-moderator promotion, as a section of /admin. */
export const moderationSettingsSection: SettingsSection = {
  id: 'moderation',
  title: 'Moderation',
  submit: 'Save moderation settings',
  fields: [
    { name: 'flag_hide_threshold', label: 'Flag score that hides a post' },
    { name: 'moderators_per_category', label: 'Moderators per category (appointed + promoted)' },
    { name: 'promotion_min_activity', label: 'Minimum activity score to be promoted' },
    { name: 'promotion_min_accuracy_percent', label: 'Minimum flag accuracy to be promoted (%)' },
    { name: 'moderator_grace_days', label: 'Grace before a promoted moderator is demoted (days)' },
    {
      name: 'promotion_mode',
      label: 'When members qualify to moderate a category',
      options: [
        { value: 'automatic', label: 'Promote them automatically' },
        { value: 'invitation', label: 'Invite them; they accept or decline' },
      ],
    },
  ],
  form: z.object({
    flag_hide_threshold: number.min(1, 'At least 1').max(100, 'At most 100'),
    moderators_per_category: number.int('Enter a whole number'),
    promotion_mode: z.enum(['automatic', 'invitation'], { error: 'Choose automatic or invitation' }),
    promotion_min_activity: number.int('Enter a whole number'),
    promotion_min_accuracy_percent: number.int('Enter a whole number'),
    moderator_grace_days: number.int('Enter a whole number'),
  }),
}
