import type { SettingsSection } from '../core/settings-section.js'
import { activitySettingsSection } from './activity/settings.js'
import { liveChannels as betaChannels } from './beta/live.js'
import { liveChannels as discussionChannels } from './discussions/live.js'
import { liveChannels as ideaChannels } from './ideas/live.js'
import { liveChannels as moderationChannels } from './moderation/live.js'
import { moderationSettingsSection } from './moderation/settings.js'
import { spamSettingsSection } from './spam/settings.js'
import { trustSettingsSection } from './trust/settings.js'
import { uploadSettingsSection } from './uploads/settings.js'

/**
 * What each feature adds to the shared pages and sockets. A new feature appends its
 * settings section and its live channels here; /admin and the live hub iterate the lists.
 */

/** Community settings sections, in the order /admin shows them. */
export const settingsSections: readonly SettingsSection[] = [moderationSettingsSection, trustSettingsSection, uploadSettingsSection, activitySettingsSection, spamSettingsSection]

/** Each feature's live channel registrar. */
export const liveChannelRegistrars = [discussionChannels, ideaChannels, betaChannels, moderationChannels] as const

// The services the registrars need between them: every registrar's argument at once.
type AllOf<U> = (U extends unknown ? (u: U) => void : never) extends (all: infer I) => void ? I : never
/** What registerLiveChannels needs: the hub and each feature's services its channels ask. */
export type LiveChannelServices = AllOf<Parameters<(typeof liveChannelRegistrars)[number]>[0]>

/** Opens every feature's live channels on the hub. */
export function registerLiveChannels(services: LiveChannelServices): void {
  for (const open of liveChannelRegistrars) open(services)
}
