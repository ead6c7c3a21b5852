import type { SessionUser } from './auth/sessions.js'
import type { CategoryVisibility, Role } from './db-types.js'
import { type DomainError, Forbidden, NotFound, Unauthorized } from './errors.js'

/**
 * The one access policy: every "may this viewer do this here?" in Hearth is answered here,
 * by pure functions of the viewer, the subject and the community's settings, so pages, the
 * API and the live socket give the same answer and the rules get unit tests without I/O.
 *
 * Two rules run through all of it:
 * - 404 wherever a 403 would reveal that something exists (a members-only category,
 *   thread or beta, a staff page); 403 when the thing is visible but the action is not allowed.
 * - A suspended member reads like a guest and has no staff power; a silenced member reads
 *   like a member but writes nothing; an unverified address (when the community requires
 *   verification) may not post, reply, propose, vote, like or sign up.
 * Sessions and API tokens reload the user on every request, so a change takes effect at once.
 */

/** The parts of a category that decide who sees it and who may start threads in it. */
export interface CategoryAccess {
  id: number
  parent_id: number | null
  visibility: CategoryVisibility
  min_trust_level: number
  who_can_start: 'members' | 'staff'
  min_trust_to_start: number
}

/** The user fields the guard reads. */
export type GuardUser = Pick<SessionUser, 'id' | 'role' | 'trust_level' | 'suspended_until' | 'silenced_until' | 'email_verified_at'> &
  Partial<Pick<SessionUser, 'approval_status'>>

/** Who is asking: the user (or a guest) and the categories they moderate. */
export interface Viewer {
  user: GuardUser | null
  moderates: ReadonlySet<number>
}

/** The community settings the guard needs (see core/settings.ts). */
export interface GuardSettings {
  require_verified_email_to_post: boolean
  /** Trust level 3 members may approve held posts (features/spam). */
  spam_tl3_approves?: boolean
  /** Who may create invitation links (features/spam). */
  spam_invites_by?: 'staff' | 'members'
}

/** What the answer depends on besides viewer and subject. */
export interface GuardContext {
  settings?: GuardSettings
  now?: Date
}

/** A member as the target of a staff action: their role and the categories they moderate. */
export interface MemberRank {
  id: number
  role: Role
  moderatesAny: boolean
}

/** What each action is asked about. */
export interface Subjects {
  /** See a category and everything in it. */
  read: { category: CategoryAccess; parent?: CategoryAccess | null }
  /** Start a thread in a category. */
  post: { category: CategoryAccess; parent?: CategoryAccess | null }
  /** Reply in a thread (comments on ideas are replies too). */
  reply: { categoryId: number; thread: { locked: boolean; deleted_at: Date | null } }
  edit: { categoryId: number; post: { author_id: number; created_at: Date; deleted_at: Date | null }; editWindowMinutes: number }
  delete: { categoryId: number; post: { author_id: number } }
  like: { post: { author_id: number } }
  vote: undefined
  /** Take back one's own vote, follow, like or sign-up. */
  retract: undefined
  subscribe: undefined
  /** Choose how much to hear about a thread or category (seeing it is checked by the caller, with a 404). */
  setNotificationLevel: undefined
  /** Mute a member: their posts collapse and they cause no notifications for the viewer. Staff cannot be muted. */
  mute: { target: MemberRank }
  propose: undefined
  /**
   * Edit an idea's title, description and tags: staff always; its author while it is still
   * open or under review (once planned, voters have backed that text) and not merged.
   */
  editIdea: { idea: { author_id: number | null; status: string; merged_into_id: number | null } }
  /** See a beta program. */
  readBeta: { members_only: boolean }
  betaSignUp: { members_only: boolean; min_trust_level: number }
  /** Flag a post (without one: flag posts at all, for showing the button). */
  flag: { post?: { author_id: number } }
  /** Reach the review queue at all (moderators of any category, staff). */
  reviewQueue: undefined
  /** Moderate one category: its flags, pins, locks, edits and deletes. */
  moderate: { categoryId: number }
  /** Decide the flags on one post: a moderator of its category who did not write it (theirs go to another moderator or an admin). */
  reviewFlags: { categoryId: number; authorId: number }
  /**
   * Suspend or silence a member (`penalty`, the default; `categoryId` is where a category
   * moderator acts), or change their role and trust level (`role`, owners only).
   */
  penalise: { target: MemberRank; categoryId?: number; kind?: 'penalty' | 'role' }
  /** Reach the queue of posts awaiting approval (moderators, staff, and trust level 3 when the owner allows). */
  approvalQueue: undefined
  /** Approve or reject one held post: an approver of its category who did not write it. */
  approvePost: { categoryId: number; authorId: number }
  /** Approve or reject sign-up applications (staff). */
  reviewSignups: undefined
  /** Mark a member as a spammer: delete their posts, suspend them, block their email and IP (staff, by rank). */
  markSpammer: { target: MemberRank }
  /** Create invitation links (staff; members of trust level 2 and above when the owner allows). */
  invite: undefined
  /** Owner pages and the admin API. */
  administer: undefined
  /** The community health dashboard (staff: admins and moderators, not category moderators). */
  viewHealth: undefined
  createToken: undefined
  /**
   * The member's own account: ask for a data export, delete the account or cancel that.
   * A member's rights over their data do not depend on their standing: any logged-in member may.
   */
  manageAccount: undefined
  /** Choose a new username (not while suspended or silenced: a new name must not shake off a penalty). */
  changeUsername: undefined
  /** See suspended members in the member directory (staff). */
  seeHiddenMembers: undefined
  /** Look members up by the start of their name (the composer's @-mention suggestions): members in good standing. */
  lookUpMembers: undefined
  /** Upload an image (to a post, or as one's avatar); the community sets the lowest trust level. */
  upload: { minTrustLevel: number }
  /** Vote in a poll (or change or take back one's vote): open, and the member's trust level is enough (features/polls). */
  votePoll: { poll: { min_trust_level: number; closed: boolean } }
  /** Close a poll before its date: its post's author, or a moderator of its category. */
  closePoll: { categoryId: number; poll: { author_id: number } }
  /** Build surveys, read their results, work the follow-ups (staff: admins and moderators). */
  manageSurveys: undefined
  /** Answer a survey one may answer (features/surveys decides eligibility; the guard, standing). */
  answerSurvey: undefined
  /** Create an event in a category (staff and the category's moderators; seeing it is checked by the caller, with a 404). */
  createEvent: { categoryId: number }
  /** Edit, move or cancel an event, and check people in: staff, the category's moderators and the event's hosts. */
  manageEvent: { categoryId: number; hostIds: readonly number[] }
  /** Answer going / interested / not going to an event the viewer can see. */
  rsvp: undefined
}

export type Action = keyof Subjects

/** Why a viewer may not do something: the status to answer with and the message to show. */
export interface Refusal {
  status: 401 | 403 | 404
  message: string
}

const WRITES_BLOCKED_BY_SILENCE = new Set<Action>(['post', 'reply', 'edit', 'editIdea', 'propose', 'like', 'vote', 'betaSignUp', 'flag', 'createToken', 'upload', 'changeUsername', 'votePoll', 'createEvent', 'manageEvent', 'rsvp'])
const WRITES_NEEDING_VERIFIED_EMAIL = new Set<Action>(['post', 'reply', 'propose', 'vote', 'like', 'betaSignUp', 'votePoll', 'rsvp'])
const READS = new Set<Action>(['read', 'readBeta'])
/** What a member whose sign-up awaits approval (or was refused) may not do: every write. */
const WRITES_BLOCKED_BY_APPLICATION = new Set<Action>(['post', 'reply', 'edit', 'propose', 'like', 'vote', 'betaSignUp', 'flag', 'createToken', 'invite', 'votePoll', 'answerSurvey', 'createEvent', 'rsvp'])
const VERBS: Partial<Record<Action, [string, string]>> = {
  post: ['post', 'posting'],
  reply: ['post', 'posting'],
  edit: ['edit posts', 'editing'],
  propose: ['propose ideas', 'proposing ideas'],
  editIdea: ['edit ideas', 'editing ideas'],
  like: ['like posts', 'liking posts'],
  vote: ['vote', 'voting'],
  betaSignUp: ['sign up for betas', 'signing up for betas'],
  flag: ['flag posts', 'flagging posts'],
  createToken: ['create API tokens', 'creating API tokens'],
  upload: ['upload images', 'uploading images'],
  changeUsername: ['change your username', 'changing your username'],
  votePoll: ['vote in polls', 'voting in polls'],
  answerSurvey: ['answer surveys', 'answering surveys'],
  createEvent: ['create events', 'creating events'],
  manageEvent: ['manage events', 'managing events'],
  rsvp: ['RSVP to events', 'RSVPing to events'],
}
const GUEST: Viewer = { user: null, moderates: new Set() }

/** The viewer for a user who moderates no category (features without categories). */
export function viewerOf(user: GuardUser | null, moderates: Iterable<number> = []): Viewer {
  return { user, moderates: new Set(moderates) }
}

/** Is the user suspended right now? */
export function isSuspended(user: Pick<GuardUser, 'suspended_until'> | null, now = new Date()): boolean {
  return !!user?.suspended_until && user.suspended_until > now
}

/** Is the user silenced right now? */
export function isSilenced(user: Pick<GuardUser, 'silenced_until'> | null, now = new Date()): boolean {
  return !!user?.silenced_until && user.silenced_until > now
}

/** A suspended member reads like a guest: public content only, no moderation. */
function reader(viewer: Viewer, now: Date): Viewer {
  return isSuspended(viewer.user, now) ? GUEST : viewer
}

/** Admins and global moderators act everywhere; a suspension takes the power away. */
export function isStaff(viewer: Viewer, now = new Date()): boolean {
  const role = viewer.user?.role
  return (role === 'admin' || role === 'moderator') && !isSuspended(viewer.user, now)
}

/** Is the viewer an admin who is not suspended? */
export function isAdmin(viewer: Viewer, now = new Date()): boolean {
  return viewer.user?.role === 'admin' && !isSuspended(viewer.user, now)
}

/**
 * May this viewer work the approval queue at all: moderators and staff, and members of
 * trust level 3 when the owner lets them approve (features/spam).
 */
export function isApprover(viewer: Viewer, ctx: GuardContext = {}, now = ctx.now ?? new Date()): boolean {
  if (isModerator(viewer, now)) return true
  const user = viewer.user
  return !!user && !!ctx.settings?.spam_tl3_approves && user.trust_level >= 3 && !isSuspended(user, now) && !isSilenced(user, now)
}

/** May this viewer moderate the category (its queue, pins, locks, edits, deletes)? */
export function canModerate(viewer: Viewer, categoryId: number, now = new Date()): boolean {
  return isStaff(viewer, now) || (viewer.moderates.has(categoryId) && !isSuspended(viewer.user, now))
}

/** Does the viewer moderate anything at all (the review queue, the `mod` live channel)? */
export function isModerator(viewer: Viewer, now = new Date()): boolean {
  return !!viewer.user && !isSuspended(viewer.user, now) && (isStaff(viewer, now) || viewer.moderates.size > 0)
}

function passes(viewer: Viewer, c: Pick<CategoryAccess, 'visibility' | 'min_trust_level'>): boolean {
  if (c.visibility === 'public') return true
  if (!viewer.user) return false
  if (c.visibility === 'members') return true
  return viewer.user.trust_level >= c.min_trust_level
}

/**
 * May this viewer see the category and everything in it? A sub-category is visible only
 * when its parent is too. Staff and the category's moderators always see it; a suspended
 * member sees what a guest sees.
 */
export function canSeeCategory(viewer: Viewer, category: CategoryAccess, parent?: CategoryAccess | null, now = new Date()): boolean {
  const v = reader(viewer, now)
  if (canModerate(v, category.id, now)) return true
  if (parent && !canSeeCategory(v, parent, null, now)) return false
  return passes(v, category)
}

/** Why the member's standing (suspension, silence, unverified address) stops this action, or null. */
function standingBlock(user: GuardUser, action: Action, ctx: GuardContext): string | null {
  const now = ctx.now ?? new Date()
  if (isSuspended(user, now)) return `Your account is suspended until ${user.suspended_until!.toUTCString()}`
  const [verb, gerund] = VERBS[action] ?? ['do that', 'doing that']
  if (user.approval_status && user.approval_status !== 'approved' && WRITES_BLOCKED_BY_APPLICATION.has(action)) {
    return user.approval_status === 'pending'
      ? `Your application to join is waiting for the staff to approve it; until then you can read but not ${verb}.`
      : `Your application to join was not approved, so you cannot ${verb}.`
  }
  if (isSilenced(user, now) && WRITES_BLOCKED_BY_SILENCE.has(action)) {
    return `You are silenced until ${user.silenced_until!.toUTCString()} and cannot ${verb}`
  }
  if (ctx.settings?.require_verified_email_to_post && !user.email_verified_at && WRITES_NEEDING_VERIFIED_EMAIL.has(action)) {
    return `Confirm your email address before ${gerund}: use the link we mailed you, or resend it from your settings.`
  }
  return null
}

const rankOf = (m: MemberRank) => (m.role === 'admin' ? 3 : m.role === 'moderator' ? 2 : m.moderatesAny ? 1 : 0)

// Refusals' shapes (module level: the guard runs for every post of a page).
function notFound(message = 'Not found'): Refusal {
  return { status: 404, message }
}
function forbidden(message: string): Refusal {
  return { status: 403, message }
}

/**
 * Why the viewer may not do this, or null when they may. Checks run in the order that
 * keeps private things private: not logged in (401), cannot see it (404), then the
 * member's standing and the action's own rules (403).
 */
export function refusal<A extends Action>(viewer: Viewer, action: A, subject: Subjects[A], ctx: GuardContext = {}): Refusal | null {
  const now = ctx.now ?? new Date()
  const user = viewer.user
  const s = subject as Subjects[Action]

  if (READS.has(action)) {
    if (action === 'read') {
      const { category, parent } = s as Subjects['read']
      return canSeeCategory(viewer, category, parent, now) ? null : notFound('No such category')
    }
    const program = s as Subjects['readBeta']
    return program.members_only && !reader(viewer, now).user ? notFound('No such beta program') : null
  }
  if (!user) return { status: 401, message: 'You need to log in to do that' }

  switch (action) {
    case 'administer':
      return isAdmin(viewer, now) ? null : notFound()
    case 'manageAccount':
      return null
    case 'seeHiddenMembers':
    case 'viewHealth':
    case 'manageSurveys':
      return isStaff(viewer, now) ? null : notFound()
    case 'reviewQueue':
      return isModerator(viewer, now) ? null : notFound()
    case 'moderate': {
      if (!isModerator(viewer, now)) return notFound()
      const { categoryId } = s as Subjects['moderate']
      return canModerate(viewer, categoryId, now) ? null : forbidden('Only moderators of this category can do that')
    }
    case 'reviewFlags': {
      if (!isModerator(viewer, now)) return notFound()
      const { categoryId, authorId } = s as Subjects['reviewFlags']
      if (!canModerate(viewer, categoryId, now)) return forbidden('You can only resolve flags in the categories you moderate')
      return authorId === user.id ? forbidden('Flags on your own post go to another moderator or an admin') : null
    }
    case 'approvalQueue':
      return isApprover(viewer, ctx, now) ? null : notFound()
    case 'approvePost': {
      if (!isApprover(viewer, ctx, now)) return notFound()
      const { categoryId, authorId } = s as Subjects['approvePost']
      const mayHere = canModerate(viewer, categoryId, now) || (!!ctx.settings?.spam_tl3_approves && user.trust_level >= 3 && !isSilenced(user, now))
      if (!mayHere) return forbidden('Only moderators of this category can approve its posts')
      return authorId === user.id ? forbidden('Your own posts go to another moderator') : null
    }
    case 'reviewSignups':
      return isStaff(viewer, now) ? null : notFound()
    case 'markSpammer': {
      if (!isStaff(viewer, now)) return notFound()
      const { target } = s as Subjects['markSpammer']
      if (target.id === user.id) return forbidden('You cannot act on your own account')
      const rank = rankOf(target)
      if (rank >= 3) return forbidden('Admins cannot be marked as spammers')
      if (rank >= 1 && !isAdmin(viewer, now)) return forbidden('Only admins can act on a moderator')
      return null
    }
    case 'invite': {
      const block = standingBlock(user, action, ctx)
      if (block) return forbidden(block)
      if (isStaff(viewer, now)) return null
      if (ctx.settings?.spam_invites_by === 'members' && user.trust_level >= 2) return null
      return forbidden(ctx.settings?.spam_invites_by === 'members' ? 'Members of trust level 2 and above can invite people' : 'Only staff can invite people')
    }
    case 'penalise': {
      const { target, categoryId, kind = 'penalty' } = s as Subjects['penalise']
      const mayModerate = kind === 'role' ? isAdmin(viewer, now) : categoryId === undefined ? isStaff(viewer, now) : canModerate(viewer, categoryId, now)
      if (!mayModerate) return notFound()
      if (target.id === user.id) return forbidden('You cannot act on your own account')
      if (kind === 'role') return null
      const rank = rankOf(target)
      if (rank >= 3) return forbidden('Admins cannot be suspended, silenced or demoted this way')
      if (rank >= 1 && !isAdmin(viewer, now)) return forbidden('Only admins can suspend, silence or change the role of a moderator')
      return null
    }
  }

  if (action === 'mute') {
    const { target } = s as Subjects['mute']
    const block = standingBlock(user, action, ctx)
    if (block) return forbidden(block)
    if (target.id === user.id) return forbidden('You cannot mute yourself')
    // As in Discourse: what staff write (warnings, decisions, announcements) must reach everyone.
    if (rankOf(target) >= 2) return forbidden('Moderators and admins cannot be muted')
    return null
  }

  if (action === 'post' || action === 'reply' || action === 'edit' || action === 'delete' || action === 'like' || action === 'flag') {
    const categoryId = action === 'post' ? (s as Subjects['post']).category.id : (s as { categoryId?: number }).categoryId
    if (action === 'post') {
      const { category, parent } = s as Subjects['post']
      if (!canSeeCategory(viewer, category, parent, now)) return notFound('No such category')
    }
    const block = standingBlock(user, action, ctx)
    if (block) return forbidden(block)
    const moderator = categoryId !== undefined && canModerate(viewer, categoryId, now)
    switch (action) {
      case 'post': {
        const { category } = s as Subjects['post']
        if (moderator) return null
        if (category.who_can_start === 'staff' || user.trust_level < category.min_trust_to_start) {
          return forbidden('You cannot start threads in this category')
        }
        return null
      }
      case 'reply': {
        const { thread } = s as Subjects['reply']
        if (thread.deleted_at) return notFound('No such thread')
        if (thread.locked && !moderator) return forbidden('This thread is locked; no new replies')
        return null
      }
      case 'edit': {
        const { post, editWindowMinutes } = s as Subjects['edit']
        if (post.deleted_at) return forbidden('You cannot edit this post')
        if (moderator) return null
        if (post.author_id !== user.id) return forbidden('You cannot edit this post')
        const within = editWindowMinutes <= 0 || now.getTime() - post.created_at.getTime() <= editWindowMinutes * 60_000
        return within ? null : forbidden('The time to edit this post has passed')
      }
      case 'delete': {
        const { post } = s as Subjects['delete']
        return moderator || post.author_id === user.id ? null : forbidden('You cannot delete this post')
      }
      case 'like': {
        const { post } = s as Subjects['like']
        return post.author_id === user.id ? forbidden('You cannot like your own post') : null
      }
      case 'flag': {
        const { post } = s as Subjects['flag']
        if (!isStaff(viewer, now) && user.trust_level < 1) return forbidden('Members of trust level 1 and above can flag posts')
        return post?.author_id === user.id ? forbidden('You cannot flag your own post') : null
      }
    }
  }

  if (action === 'betaSignUp') {
    const program = s as Subjects['betaSignUp']
    if (program.members_only && isSuspended(user, now)) return notFound('No such beta program')
    const block = standingBlock(user, action, ctx)
    if (block) return forbidden(block)
    if (user.trust_level < program.min_trust_level) {
      return forbidden(
        `This beta is open to members at trust level ${program.min_trust_level} and above; you are at trust level ${user.trust_level}. Keep taking part and you will get there.`,
      )
    }
    return null
  }

  if (action === 'editIdea') {
    const { idea } = s as Subjects['editIdea']
    const block = standingBlock(user, action, ctx)
    if (block) return forbidden(block)
    if (isStaff(viewer, now)) return null
    if (idea.author_id !== user.id) return forbidden('Only the idea’s author and staff can edit it')
    if (idea.merged_into_id) return forbidden('This idea was merged into another one, so it can no longer be edited')
    if (idea.status !== 'open' && idea.status !== 'under_review') {
      return forbidden('Once an idea is planned, in progress, done or declined, only staff can edit it: voters backed this text')
    }
    return null
  }

  if (action === 'upload') {
    const block = standingBlock(user, action, ctx)
    if (block) return forbidden(block)
    const { minTrustLevel } = s as Subjects['upload']
    if (!isStaff(viewer, now) && user.trust_level < minTrustLevel) {
      return forbidden(`Members of trust level ${minTrustLevel} and above can upload images; you are at trust level ${user.trust_level}`)
    }
    return null
  }

  if (action === 'votePoll') {
    const { poll } = s as Subjects['votePoll']
    const block = standingBlock(user, action, ctx)
    if (block) return forbidden(block)
    if (poll.closed) return forbidden('This poll is closed')
    if (user.trust_level < poll.min_trust_level) {
      return forbidden(`This poll is open to members at trust level ${poll.min_trust_level} and above; you are at trust level ${user.trust_level}`)
    }
    return null
  }

  if (action === 'closePoll') {
    const { categoryId, poll } = s as Subjects['closePoll']
    if (canModerate(viewer, categoryId, now)) return null
    if (isSuspended(user, now)) return forbidden(`Your account is suspended until ${user.suspended_until!.toUTCString()}`)
    return poll.author_id === user.id ? null : forbidden('Only the poll’s author and moderators can close it')
  }

  // vote, retract, subscribe, setNotificationLevel, propose, createToken, lookUpMembers, changeUsername: only the member's standing decides.
  if (action === 'createEvent' || action === 'manageEvent') {
    const { categoryId } = s as Subjects['createEvent']
    const host = action === 'manageEvent' && (s as Subjects['manageEvent']).hostIds.includes(user.id)
    if (!canModerate(viewer, categoryId, now) && !host) return forbidden(action === 'createEvent' ? 'Only staff and the moderators of this category can create events here' : 'Only the hosts, the category’s moderators and staff can do that')
    const block = standingBlock(user, action, ctx)
    return block ? forbidden(block) : null
  }

  // rsvp, vote, retract, subscribe, setNotificationLevel, propose, createToken, lookUpMembers, changeUsername: only the member's standing decides.
  const block = standingBlock(user, action, ctx)
  return block ? forbidden(block) : null
}

/** May the viewer do this? (For showing or hiding a button; writes call `ensure`.) */
export function can<A extends Action>(viewer: Viewer, action: A, subject: Subjects[A], ctx: GuardContext = {}): boolean {
  return refusal(viewer, action, subject, ctx) === null
}

/** The DomainError for a refusal. */
export function refusalError(r: Refusal): DomainError {
  if (r.status === 401) return new Unauthorized(r.message)
  if (r.status === 404) return new NotFound(r.message)
  return new Forbidden(r.message)
}

/** Throws Unauthorized, NotFound or Forbidden unless the viewer may do this. */
export function ensure<A extends Action>(viewer: Viewer, action: A, subject: Subjects[A], ctx: GuardContext = {}): void {
  const r = refusal(viewer, action, subject, ctx)
  if (r) throw refusalError(r)
}

/** Why the member may not post right now, or null when they may (for the reply box). */
export function postingBlock(viewer: Viewer, ctx: GuardContext = {}): string | null {
  if (!viewer.user) return 'You need to log in to post'
  return standingBlock(viewer.user, 'reply', ctx)
}
