import type { StageName } from '../../core/db-types.js'
import type { CommunitySettingsValues } from '../../core/settings.js'

/**
 * The kinds of act the activity log records. `participation` marks the acts that make a
 * member a participant (they added something), as opposed to reading, visiting or being liked.
 */
export const ACTIVITY_KINDS = {
  post: { label: 'Threads started', participation: true },
  reply: { label: 'Replies', participation: true },
  like_given: { label: 'Likes given', participation: false },
  like_received: { label: 'Likes received', participation: false },
  helped: { label: 'Members helped (a reply of theirs liked)', participation: false },
  vote: { label: 'Idea votes', participation: true },
  idea: { label: 'Ideas proposed', participation: true },
  beta_signup: { label: 'Beta sign-ups', participation: true },
  flag_agreed: { label: 'Flags agreed with', participation: true },
  visit: { label: 'Days visited', participation: false },
  referral: { label: 'Invitees who became active', participation: true },
  poll_vote: { label: 'Poll votes', participation: true },
  survey_answer: { label: 'Survey answers (attributed)', participation: true },
  event_rsvp: { label: 'Event RSVPs (going)', participation: true },
  event_attended: { label: 'Events attended (checked in)', participation: true },
} as const

export type ActivityKind = keyof typeof ACTIVITY_KINDS

export const ACTIVITY_KIND_NAMES = Object.keys(ACTIVITY_KINDS) as ActivityKind[]

export const PARTICIPATION_KINDS = ACTIVITY_KIND_NAMES.filter((k) => ACTIVITY_KINDS[k].participation)

/** Each kind's weight in a member's score, from the community settings. */
export function activityWeights(settings: CommunitySettingsValues): Record<ActivityKind, number> {
  return Object.fromEntries(
    ACTIVITY_KIND_NAMES.map((kind) => [kind, settings[`activity_weight_${kind}` as keyof CommunitySettingsValues] as number]),
  ) as Record<ActivityKind, number>
}

/** The lifecycle stages in flywheel order; `inactive` sits outside the wheel (nothing in the window). */
export const STAGES: readonly { name: StageName; label: string; description: string }[] = [
  { name: 'inactive', label: 'Inactive', description: 'Did nothing in the window' },
  { name: 'newcomer', label: 'Newcomer', description: 'Joined recently, has not taken part yet' },
  { name: 'explorer', label: 'Explorer', description: 'Visits and reads, has not taken part yet' },
  { name: 'participant', label: 'Participant', description: 'Posted, voted, proposed or signed up in the window' },
  { name: 'contributor', label: 'Contributor', description: 'Takes part regularly' },
  { name: 'champion', label: 'Champion', description: 'Among the most active, and helps many members' },
]

export const STAGE_NAMES = STAGES.map((s) => s.name)

export function stageLabel(stage: string): string {
  return STAGES.find((s) => s.name === stage)?.label ?? stage
}

/** What a member's stage is computed from: the window's weighted score and counts. */
export interface StageInputs {
  joinedDaysAgo: number
  score: number
  recentScore: number
  priorScore: number
  participations: number
  helped: number
  anyActivity: boolean
}

/**
 * The stage rules, as a pure function: the nightly SQL computes the same (see
 * `stageSql` in service.ts) and a test checks the two agree on a fixture.
 */
export function stageFor(input: StageInputs, settings: CommunitySettingsValues): { stage: StageName; drifting: boolean } {
  let stage: StageName
  if (input.participations > 0 && input.score >= settings.stage_champion_score && input.helped >= settings.stage_champion_helped) stage = 'champion'
  else if (input.participations > 0 && input.score >= settings.stage_contributor_score) stage = 'contributor'
  else if (input.participations > 0) stage = 'participant'
  else if (input.joinedDaysAgo < settings.stage_newcomer_days) stage = 'newcomer'
  else if (input.anyActivity) stage = 'explorer'
  else stage = 'inactive'
  return { stage, drifting: isDrifting(stage, input, settings) }
}

// Drifting: a participant or above whose last 30 days weigh less than the set share of
// their average 30 days before that.
function isDrifting(stage: StageName, input: StageInputs, settings: CommunitySettingsValues): boolean {
  if (!['participant', 'contributor', 'champion'].includes(stage)) return false
  const priorDays = Math.max(settings.stage_window_days - 30, 1)
  const priorPer30 = (input.priorScore * 30) / priorDays
  return priorPer30 > 0 && input.recentScore * 100 < priorPer30 * settings.stage_drift_percent
}

/** What would move a member on to the next stage, in words (shown on their own profile). */
export function nextStep(stage: StageName, input: Pick<StageInputs, 'score' | 'helped'>, settings: CommunitySettingsValues): string | null {
  switch (stage) {
    case 'inactive':
    case 'newcomer':
    case 'explorer':
      return 'Reply to a thread, vote on an idea or propose one to become a participant.'
    case 'participant': {
      const missing = Math.max(settings.stage_contributor_score - Math.round(input.score), 1)
      return `Keep taking part: about ${missing} more points of activity (a reply is ${settings.activity_weight_reply}, a new thread ${settings.activity_weight_post}) in the last ${settings.stage_window_days} days makes you a contributor.`
    }
    case 'contributor': {
      const parts: string[] = []
      if (input.score < settings.stage_champion_score) parts.push(`about ${Math.ceil(settings.stage_champion_score - input.score)} more points of activity`)
      if (input.helped < settings.stage_champion_helped) parts.push(`replies liked by ${settings.stage_champion_helped - input.helped} more members`)
      return parts.length ? `Champions help many members: ${parts.join(' and ')} in the last ${settings.stage_window_days} days.` : 'You are close to champion: it is computed nightly.'
    }
    case 'champion':
      return null
  }
}
