import type { SettingsSection } from '../core/settings-section.js'
import { spamPersonalData } from './spam/personal-data.js'
import { uploadPersonalData } from './uploads/personal-data.js'
import { eventPersonalData } from './events/personal-data.js'
import { liveChannels as eventChannels } from './events/live.js'
import { accountPersonalData, outboxPersonalData } from './accounts/personal-data.js'
import { accountSettingsSection } from './accounts/settings.js'
import type { PersonalDataContributor } from './accounts/personal-data-registry.js'
import { activityPersonalData } from './activity/personal-data.js'
import { betaPersonalData } from './beta/personal-data.js'
import { discussionPersonalData } from './discussions/personal-data.js'
import { emailPersonalData } from './email/personal-data.js'
import { ideaPersonalData } from './ideas/personal-data.js'
import { moderationPersonalData } from './moderation/personal-data.js'
import { notificationPersonalData } from './notifications/personal-data.js'
import { trustPersonalData } from './trust/personal-data.js'
import { activitySettingsSection } from './activity/settings.js'
import { liveChannels as betaChannels } from './beta/live.js'
import { liveChannels as discussionChannels } from './discussions/live.js'
import { liveChannels as ideaChannels } from './ideas/live.js'
import { liveChannels as moderationChannels } from './moderation/live.js'
import { moderationSettingsSection } from './moderation/settings.js'
import { spamSettingsSection } from './spam/settings.js'
import { trustSettingsSection } from './trust/settings.js'
import { uploadSettingsSection } from './uploads/settings.js'
import { pollPersonalData } from './polls/personal-data.js'
import { surveyPersonalData } from './surveys/personal-data.js'
import { surveySettingsSection } from './surveys/settings.js'

/**
 * What each feature adds to the shared pages and sockets. A new feature appends its
 * settings section and its live channels here; /admin and the live hub iterate the lists.
 */

/** Community settings sections, in the order /admin shows them. */

/**
 * What each feature holds about a member, for data exports and account deletion
 * (src/features/accounts/personal-data-registry.ts). Erasure runs in this order inside one
 * transaction; the account itself comes last, so every contributor can still read the
 * member's old name and address.
 */
export const personalDataContributors: readonly PersonalDataContributor[] = [
  discussionPersonalData,
  ideaPersonalData,
  betaPersonalData,
  moderationPersonalData,
  notificationPersonalData,
  emailPersonalData,
  trustPersonalData,
  activityPersonalData,
  spamPersonalData,
  uploadPersonalData,
  pollPersonalData,
  surveyPersonalData,
  eventPersonalData,
  outboxPersonalData,
  accountPersonalData,
]
export const settingsSections: readonly SettingsSection[] = [moderationSettingsSection, trustSettingsSection, uploadSettingsSection, activitySettingsSection, spamSettingsSection, accountSettingsSection, surveySettingsSection]

/** Each feature's live channel registrar. */
export const liveChannelRegistrars = [discussionChannels, ideaChannels, betaChannels, moderationChannels, eventChannels] as const

// The services the registrars need between them: every registrar's argument at once.
type AllOf<U> = (U extends unknown ? (u: U) => void : never) extends (all: infer I) => void ? I : never
/** What registerLiveChannels needs: the hub and each feature's services its channels ask. */
export type LiveChannelServices = AllOf<Parameters<(typeof liveChannelRegistrars)[number]>[0]>

/** Opens every feature's live channels on the hub. */
export function registerLiveChannels(services: LiveChannelServices): void {
  for (const open of liveChannelRegistrars) open(services)
}
