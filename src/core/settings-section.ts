import type { z } from 'zod'
import type { CommunitySettingsValues } from './settings.js'

/** One input of a settings section: a number, or a choice among options. */
export interface SettingsField {
  name: keyof CommunitySettingsValues & string
  label: string
  options?: readonly { value: string; label: string }[]
  /** How the input is shown when it has no options (default: a number). */
  input?: 'number' | 'text' | 'textarea'
  hint?: string
}

/**
 * A feature's section of community settings in /admin: the feature declares its fields
 * and form schema, and the admin pages render and save every section the same way.
 */
export interface SettingsSection {
  /** Anchor on /admin and the form's path: `/admin/<id>-settings`. */
  id: string
  title: string
  intro?: string
  submit: string
  fields: readonly SettingsField[]
  /** Parses the submitted form into the settings to store (throws Invalid per field). */
  form: z.ZodType<Partial<CommunitySettingsValues>>
}
