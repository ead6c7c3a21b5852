import type { SessionUser } from '../../core/auth/sessions.js'
import type { CategoryVisibility } from '../../core/db-types.js'

/** The parts of a category that decide who sees it and who may start threads in it. */
export interface CategoryAccess {
  id: number
  parent_id: number | null
  visibility: CategoryVisibility
  min_trust_level: number
  who_can_start: 'members' | 'staff'
  min_trust_to_start: number
}

/** Who is asking: the user (or a guest) and the categories they moderate. */
export interface Viewer {
  user: Pick<SessionUser, 'id' | 'role' | 'trust_level' | 'suspended_until' | 'silenced_until'> | null
  moderates: ReadonlySet<number>
}

/** Admins and global moderators act everywhere. */
export function isStaff(viewer: Viewer): boolean {
  return viewer.user?.role === 'admin' || viewer.user?.role === 'moderator'
}

/** May this viewer moderate the category (its queue, pins, locks, edits, deletes)? */
export function canModerate(viewer: Viewer, categoryId: number): boolean {
  return isStaff(viewer) || viewer.moderates.has(categoryId)
}

function passes(viewer: Viewer, c: Pick<CategoryAccess, 'visibility' | 'min_trust_level'>): boolean {
  if (c.visibility === 'public') return true
  if (!viewer.user) return false
  if (c.visibility === 'members') return true
  return viewer.user.trust_level >= c.min_trust_level
}

/**
 * May this viewer see the category and everything in it? A sub-category is visible only
 * when its parent is too. Staff and the category's moderators always see it.
 */
export function canSeeCategory(viewer: Viewer, category: CategoryAccess, parent?: CategoryAccess | null): boolean {
  if (canModerate(viewer, category.id)) return true
  if (parent && !canSeeCategory(viewer, parent)) return false
  return passes(viewer, category)
}

/** Why a member may not post right now, or null when they may. */
export function postingBlock(viewer: Viewer, now = new Date()): string | null {
  const user = viewer.user
  if (!user) return 'You need to log in to post'
  if (user.suspended_until && user.suspended_until > now) {
    return `Your account is suspended until ${user.suspended_until.toUTCString()}`
  }
  if (user.silenced_until && user.silenced_until > now) {
    return `You are silenced until ${user.silenced_until.toUTCString()} and cannot post`
  }
  return null
}

/** May this viewer start a thread in the category (assuming they can see it)? */
export function canStartThread(viewer: Viewer, category: CategoryAccess): boolean {
  if (!viewer.user || postingBlock(viewer)) return false
  if (canModerate(viewer, category.id)) return true
  if (category.who_can_start === 'staff') return false
  return viewer.user.trust_level >= category.min_trust_to_start
}

/** May this viewer edit the post: its author within the edit window, or a moderator of the category. */
export function canEditPost(
  viewer: Viewer,
  post: { author_id: number; created_at: Date; deleted_at: Date | null },
  categoryId: number,
  editWindowMinutes: number,
  now = new Date(),
): boolean {
  if (post.deleted_at) return false
  if (canModerate(viewer, categoryId)) return true
  if (!viewer.user || viewer.user.id !== post.author_id || postingBlock(viewer, now)) return false
  return editWindowMinutes <= 0 || now.getTime() - post.created_at.getTime() <= editWindowMinutes * 60_000
}

/** May this viewer flag posts? Members of trust level 1 and above, and staff; not while suspended. */
export function canFlag(viewer: Viewer, now = new Date()): boolean {
  const user = viewer.user
  if (!user) return false
  if (user.suspended_until && user.suspended_until > now) return false
  return isStaff(viewer) || user.trust_level >= 1
}
