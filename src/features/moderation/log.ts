import type { DbOrTrx } from '../../core/db.js'

/** What a staff action was done to: a post, a member, a category, an idea, a beta sign-up. */
export type StaffTargetType = 'post' | 'thread' | 'user' | 'category' | 'idea' | 'beta_program' | 'beta_signup' | 'settings' | 'event'

/** What a staff action was done to, by id (settings are named by their key). */
export interface StaffActionTarget {
  type: StaffTargetType
  id: number | string
}

/**
 * Every action Hearth writes to the moderation log: the code stored in the row, the words
 * the log page shows between the actor's name and the target ("Anna | deleted a reply in |
 * “Dark mode?”"), what the target links to, and the words between the target and the
 * category, when the entry has one. Adding a staff action starts here.
 */
export const STAFF_ACTIONS = {
  // posts and threads (always in a category)
  'post.edit': { label: 'edited a post in', target: 'post', after: 'in' },
  'post.delete': { label: 'deleted a reply in', target: 'post', after: 'in' },
  'thread.delete': { label: 'deleted the thread', target: 'post', after: 'in' },
  'thread.pin': { label: 'pinned', target: 'thread', after: 'in' },
  'thread.unpin': { label: 'unpinned', target: 'thread', after: 'in' },
  'thread.lock': { label: 'locked', target: 'thread', after: 'in' },
  'thread.unlock': { label: 'unlocked', target: 'thread', after: 'in' },
  'thread.move': { label: 'moved', target: 'thread', after: 'from' },
  // flags (always in a category)
  'flag.agree': { label: 'agreed with the flags on a post in', target: 'post', after: 'in' },
  'flag.disagree': { label: 'did not agree with the flags on a post in', target: 'post', after: 'in' },
  'flag.defer': { label: 'set aside the flags on a post in', target: 'post', after: 'in' },
  // categories and their moderators
  'category.create': { label: 'created the category', target: 'category', after: '' },
  'category.update': { label: 'changed the category', target: 'category', after: '' },
  'category.delete': { label: 'deleted a category and moved its threads to', target: 'category', after: '' },
  'moderator.appoint': { label: 'appointed', target: 'user', after: 'as a moderator of' },
  'moderator.remove': { label: 'removed', target: 'user', after: 'as a moderator of' },
  'moderator.promote': { label: 'made', target: 'user', after: 'a moderator of' },
  'moderator.demote': { label: 'stepped down', target: 'user', after: 'as a moderator of' },
  'moderator.invite': { label: 'invited', target: 'user', after: 'to moderate' },
  'moderator.accept': { label: 'accepted the invitation to moderate', target: 'user', after: '' },
  'moderator.decline': { label: 'declined the invitation to moderate', target: 'user', after: '' },
  // members (a penalty decided on a flag carries the flag's category)
  'member.suspend': { label: 'suspended', target: 'user', after: 'over a post in' },
  'member.unsuspend': { label: 'lifted the suspension of', target: 'user', after: 'in' },
  'member.silence': { label: 'silenced', target: 'user', after: 'over a post in' },
  'member.unsilence': { label: 'lifted the silencing of', target: 'user', after: 'in' },
  'member.role': { label: 'changed the role of', target: 'user', after: 'in' },
  'member.trust': { label: 'changed the trust level of', target: 'user', after: 'in' },
  'member.password_reset': { label: 'sent a password-reset link to', target: 'user', after: 'in' },
  'member.delete': { label: 'deleted the account of', target: 'user', after: 'in' },
  'member.delete_scheduled': { label: 'scheduled the deletion of the account of', target: 'user', after: 'in' },
  // the idea board and betas
  'idea.status': { label: 'moved the idea', target: 'idea', after: 'in' },
  'idea.merge': { label: 'merged the idea', target: 'idea', after: 'in' },
  'idea.edit': { label: 'edited the idea', target: 'idea', after: 'in' },
  'beta.edit': { label: 'edited the beta program', target: 'beta_program', after: 'in' },
  'beta.close': { label: 'closed the sign-ups of the beta program', target: 'beta_program', after: 'in' },
  'beta.reopen': { label: 'reopened the sign-ups of the beta program', target: 'beta_program', after: 'in' },
  'beta.accept': { label: 'accepted the beta sign-up of', target: 'beta_signup', after: 'in' },
  'beta.decline': { label: 'declined the beta sign-up of', target: 'beta_signup', after: 'in' },
  // spam defence (features/spam)
  'post.approve': { label: 'approved a held post in', target: 'post', after: 'in' },
  'post.reject': { label: 'rejected a held post by', target: 'user', after: 'in' },
  'post.review_keep': { label: 'kept a post the spam check flagged in', target: 'post', after: 'in' },
  'member.spammer': { label: 'marked as a spammer and removed the posts of', target: 'user', after: 'in' },
  'signup.approve': { label: 'approved the application to join of', target: 'user', after: 'in' },
  'signup.reject': { label: 'turned down the application to join of', target: 'user', after: 'in' },
  'blocked.remove': { label: 'removed an entry from the blocked list', target: 'settings', after: 'in' },
  'watched.add': { label: 'added a watched word', target: 'settings', after: 'in' },
  'watched.remove': { label: 'removed a watched word', target: 'settings', after: 'in' },
  // community settings
  'settings.vote_limits': { label: 'changed the idea vote limits', target: 'settings', after: 'in' },
  // community health: reaching out to a segment of members
  'segment.message': { label: 'sent a message to a segment of members', target: 'settings', after: '' },
  'segment.beta_invite': { label: 'invited a segment of members to a beta program', target: 'settings', after: '' },
  'settings.community': { label: 'changed the community’s identity and pages', target: 'settings', after: 'in' },
  // polls in posts (features/polls)
  'poll.close': { label: 'closed a poll in', target: 'post', after: 'in' },
  // surveys (features/surveys)
  'survey.create': { label: 'created a survey', target: 'settings', after: '' },
  'survey.close': { label: 'closed a survey early', target: 'settings', after: '' },
  'survey.followup': { label: 'updated a survey follow-up', target: 'settings', after: '' },
  'survey.idea': { label: 'turned a survey answer into an idea', target: 'idea', after: '' },
  // events (features/events): staff and category moderators acting on an event they do not host
  'event.edit': { label: 'edited the event', target: 'event', after: 'in' },
  'event.cancel': { label: 'cancelled the event', target: 'event', after: 'in' },
} as const satisfies Record<string, { label: string; target: StaffTargetType; after: string }>

/** One code of the typed list above; a misspelt action fails typecheck. */
export type StaffActionCode = keyof typeof STAFF_ACTIONS

/** The action codes, for tests and for checking rows written before this list existed. */
export const STAFF_ACTION_CODES = Object.keys(STAFF_ACTIONS) as StaffActionCode[]

/** Whether a stored code is one of ours (old or hand-written rows may not be). */
export function isStaffActionCode(code: string): code is StaffActionCode {
  return Object.hasOwn(STAFF_ACTIONS, code)
}

/** One entry of the moderation log: who did what to what, and why. */
export interface StaffAction {
  /** Null for automatic changes (the promotion job). */
  actorId: number | null
  action: StaffActionCode
  target: StaffActionTarget
  reason?: string
  /** The category the action happened in, when it has one: readers who cannot see it never see the entry. */
  categoryId?: number | null
  details?: Record<string, unknown>
}

/**
 * Writes a staff action to the moderation log, inside the caller's transaction, so the
 * entry exists exactly when the change does. The only writer of `moderation_log`.
 */
export async function logStaffAction(trx: DbOrTrx, entry: StaffAction): Promise<void> {
  const categoryId = entry.categoryId ?? null
  await trx
    .insertInto('moderation_log')
    .values({
      actor_id: entry.actorId,
      action: entry.action,
      target_type: entry.target.type,
      target_id: String(entry.target.id),
      reason: entry.reason ?? '',
      category_id: categoryId,
      // The category stays in details too, for readers of rows written before the column existed.
      details: JSON.stringify({ ...entry.details, ...(categoryId ? { categoryId } : {}) }),
    })
    .execute()
}
