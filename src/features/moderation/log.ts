import type { DbOrTrx } from '../../core/db.js'

/** What a staff action was done to: a post, a member, a category, an idea, a beta sign-up. */
export interface StaffActionTarget {
  type: 'post' | 'user' | 'category' | 'idea' | 'thread' | 'beta_signup'
  id: number | string
}

/** One entry of the moderation log: who did what to what, and why. */
export interface StaffAction {
  /** Null for automatic changes (the promotion job). */
  actorId: number | null
  action: string
  target: StaffActionTarget
  reason?: string
  /** The category the action happened in, when it has one: readers who cannot see it never see the entry. */
  categoryId?: number | null
  details?: Record<string, unknown>
}

/** Writes a staff action to the moderation log, inside the caller's transaction. */
export async function logStaffAction(trx: DbOrTrx, entry: StaffAction): Promise<void> {
  await trx
    .insertInto('moderation_log')
    .values({
      actor_id: entry.actorId,
      action: entry.action,
      target_type: entry.target.type,
      target_id: String(entry.target.id),
      reason: entry.reason ?? '',
      details: JSON.stringify({ ...(entry.categoryId ? { categoryId: entry.categoryId } : {}), ...entry.details }),
    })
    .execute()
}
