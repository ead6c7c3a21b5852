import type { DbOrTrx } from '../../core/db.js'

/** What a staff action was done to: a post, a member, a category, an idea, a beta sign-up. */
export type StaffTargetType = 'post' | 'thread' | 'user' | 'category' | 'idea' | 'beta_signup' | 'settings'

/** What a staff action was done to, by id (settings are named by their key). */
export interface StaffActionTarget {
  type: StaffTargetType
  id: number | string
}

/**
 * Every action Hearth writes to the moderation log: the code stored in the row, the words
 * the log page shows after the actor's name, and the kind of target it links to. Adding a
 * staff action starts here, so the page can always say what happened.
 */
export const STAFF_ACTIONS = {
  // posts and threads (in a category)
  'post.edit': { label: 'edited a post in', target: 'post' },
  'post.delete': { label: 'deleted a reply in', target: 'post' },
  'thread.delete': { label: 'deleted the thread', target: 'post' },
  'thread.pin': { label: 'pinned', target: 'thread' },
  'thread.unpin': { label: 'unpinned', target: 'thread' },
  'thread.lock': { label: 'locked', target: 'thread' },
  'thread.unlock': { label: 'unlocked', target: 'thread' },
  'thread.move': { label: 'moved', target: 'thread' },
  // flags (in a category)
  'flag.agree': { label: 'agreed with the flags on a post in', target: 'post' },
  'flag.disagree': { label: 'did not agree with the flags on a post in', target: 'post' },
  'flag.defer': { label: 'set aside the flags on a post in', target: 'post' },
  // categories and their moderators
  'category.create': { label: 'created the category', target: 'category' },
  'moderator.appoint': { label: 'appointed a moderator:', target: 'user' },
  'moderator.remove': { label: 'removed a moderator:', target: 'user' },
  'moderator.promote': { label: 'promoted a moderator:', target: 'user' },
  'moderator.demote': { label: 'stepped down a moderator:', target: 'user' },
  'moderator.invite': { label: 'invited to moderate:', target: 'user' },
  'moderator.accept': { label: 'accepted the invitation to moderate:', target: 'user' },
  'moderator.decline': { label: 'declined the invitation to moderate:', target: 'user' },
  // members
  'member.suspend': { label: 'suspended', target: 'user' },
  'member.unsuspend': { label: 'lifted the suspension of', target: 'user' },
  'member.silence': { label: 'silenced', target: 'user' },
  'member.unsilence': { label: 'lifted the silencing of', target: 'user' },
  'member.role': { label: 'changed the role of', target: 'user' },
  'member.trust': { label: 'changed the trust level of', target: 'user' },
  // the idea board and betas
  'idea.status': { label: 'changed the status of the idea', target: 'idea' },
  'idea.merge': { label: 'merged the idea', target: 'idea' },
  'beta.accept': { label: 'accepted a beta sign-up:', target: 'beta_signup' },
  'beta.decline': { label: 'declined a beta sign-up:', target: 'beta_signup' },
  // community settings
  'settings.vote_limits': { label: 'changed the idea vote limits', target: 'settings' },
} as const satisfies Record<string, { label: string; target: StaffTargetType }>

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
