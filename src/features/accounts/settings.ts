import { z } from 'zod'
import type { SettingsSection } from '../../core/settings-section.js'

const days = z.coerce.number({ error: 'Enter a number of days' }).int('Enter a whole number of days')

/** Renaming and leaving, as a section of /admin. */
export const accountSettingsSection: SettingsSection = {
  id: 'accounts',
  title: 'Usernames and leaving',
  intro: 'Members change their username and delete or export their account from their settings.',
  submit: 'Save account settings',
  fields: [
    { name: 'username_change_days', label: 'Days between username changes (0: any time)' },
    { name: 'username_hold_days', label: 'Days an old username stays reserved for its member' },
    { name: 'account_deletion_cooling_days', label: 'Cooling-off before an account is deleted (days; 0: at once)' },
    { name: 'data_export_days', label: 'Days a data export can be downloaded' },
  ],
  form: z.object({
    username_change_days: days.min(0, 'At least 0').max(365, 'At most 365'),
    username_hold_days: days.min(0, 'At least 0').max(3_650, 'At most 3,650'),
    account_deletion_cooling_days: days.min(0, 'At least 0').max(90, 'At most 90'),
    data_export_days: days.min(1, 'At least 1').max(90, 'At most 90'),
  }),
}
