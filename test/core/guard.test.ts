import t from 'tap'
import {
  type Action,
  type CategoryAccess,
  can,
  canSeeCategory,
  ensure,
  type GuardUser,
  refusal,
  type Subjects,
  type Viewer,
} from '../../src/core/guard.js'
import { Forbidden, NotFound, Unauthorized } from '../../src/core/errors.js'

// Pure rules: no database, no app. Each case names the viewer, the action and the answer.
const NOW = new Date('2026-06-01T12:00:00Z')
const LATER = new Date('2026-06-08T12:00:00Z')
const EARLIER = new Date('2026-05-01T12:00:00Z')
const REQUIRED = { settings: { require_verified_email_to_post: true }, now: NOW }

const user = (over: Partial<GuardUser> = {}): GuardUser => ({
  id: 10, role: 'member', trust_level: 1, suspended_until: null, silenced_until: null, email_verified_at: EARLIER, ...over,
})
const v = (u: GuardUser | null, moderates: number[] = []): Viewer => ({ user: u, moderates: new Set(moderates) })
const category = (over: Partial<CategoryAccess> = {}): CategoryAccess => ({
  id: 1, parent_id: null, visibility: 'public', min_trust_level: 0, who_can_start: 'members', min_trust_to_start: 0, ...over,
})
const open = category()
const lounge = category({ id: 2, visibility: 'members' })
const status = <A extends Action>(viewer: Viewer, action: A, subject: Subjects[A], ctx = REQUIRED) => refusal(viewer, action, subject, ctx)?.status ?? 200

const guest = v(null)
const member = v(user())
const suspended = v(user({ suspended_until: LATER }))
const silenced = v(user({ silenced_until: LATER }))
const unverified = v(user({ email_verified_at: null }))
const expired = v(user({ suspended_until: EARLIER, silenced_until: EARLIER }))
const admin = v(user({ id: 1, role: 'admin', trust_level: 4 }))
const suspendedAdmin = v(user({ id: 1, role: 'admin', trust_level: 4, suspended_until: LATER }))
const globalMod = v(user({ id: 2, role: 'moderator', trust_level: 3 }))
const catMod = v(user({ id: 3 }), [2])

t.test('reading: a suspended member reads like a guest; staff power ends with a suspension', async (t) => {
  t.ok(canSeeCategory(member, lounge, null, NOW))
  t.notOk(canSeeCategory(guest, lounge, null, NOW))
  t.notOk(canSeeCategory(suspended, lounge, null, NOW), 'suspended: members-only is hidden')
  t.ok(canSeeCategory(suspended, open, null, NOW), 'suspended: public content stays readable')
  t.notOk(canSeeCategory(suspendedAdmin, lounge, null, NOW), 'a suspended admin sees no more than a guest')
  t.ok(canSeeCategory(silenced, lounge, null, NOW), 'silenced: reads like a member')
  t.ok(canSeeCategory(expired, lounge, null, NOW), 'an ended suspension no longer counts')
  t.equal(status(suspended, 'read', { category: lounge }), 404, 'hidden, not forbidden')
  t.equal(status(suspended, 'readBeta', { members_only: true }), 404)
  t.equal(status(guest, 'readBeta', { members_only: false }), 200)
})

t.test('writing: who may post, reply, propose, vote, like, sign up, flag, edit and create tokens', async (t) => {
  const post = { author_id: 99, created_at: NOW, deleted_at: null }
  const own = { ...post, author_id: 10 }
  const thread = { locked: false, deleted_at: null }
  const program = { members_only: false, min_trust_level: 0 }
  const cases: [string, (x: Viewer) => number, Record<string, number>][] = [
    ['start a thread', (x) => status(x, 'post', { category: open }), { guest: 401, member: 200, suspended: 403, silenced: 403, unverified: 403, expired: 200 }],
    ['reply', (x) => status(x, 'reply', { categoryId: 1, thread }), { guest: 401, member: 200, suspended: 403, silenced: 403, unverified: 403, expired: 200 }],
    ['reply in members-only', (x) => status(x, 'post', { category: lounge }), { guest: 401, member: 200, suspended: 404, silenced: 403, unverified: 403, expired: 200 }],
    ['propose', (x) => status(x, 'propose', undefined), { guest: 401, member: 200, suspended: 403, silenced: 403, unverified: 403, expired: 200 }],
    ['vote', (x) => status(x, 'vote', undefined), { guest: 401, member: 200, suspended: 403, silenced: 403, unverified: 403, expired: 200 }],
    ['take a vote back', (x) => status(x, 'retract', undefined), { guest: 401, member: 200, suspended: 403, silenced: 200, unverified: 200, expired: 200 }],
    ['like', (x) => status(x, 'like', { post }), { guest: 401, member: 200, suspended: 403, silenced: 403, unverified: 403, expired: 200 }],
    ['sign up for a beta', (x) => status(x, 'betaSignUp', program), { guest: 401, member: 200, suspended: 403, silenced: 403, unverified: 403, expired: 200 }],
    ['flag', (x) => status(x, 'flag', { post }), { guest: 401, member: 200, suspended: 403, silenced: 403, unverified: 200, expired: 200 }],
    ['edit own post', (x) => status(x, 'edit', { categoryId: 1, post: own, editWindowMinutes: 60 }), { guest: 401, member: 200, suspended: 403, silenced: 403, unverified: 200, expired: 200 }],
    ['delete own post', (x) => status(x, 'delete', { categoryId: 1, post: own }), { guest: 401, member: 200, suspended: 403, silenced: 200, unverified: 200, expired: 200 }],
    ['create an API token', (x) => status(x, 'createToken', undefined), { guest: 401, member: 200, suspended: 403, silenced: 403, unverified: 200, expired: 200 }],
    ['look members up for a mention', (x) => status(x, 'lookUpMembers', undefined), { guest: 401, member: 200, suspended: 403, silenced: 200, unverified: 200, expired: 200 }],
    ['upload an image', (x) => status(x, 'upload', { minTrustLevel: 0 }), { guest: 401, member: 200, suspended: 403, silenced: 403, unverified: 200, expired: 200 }],
    ['administer', (x) => status(x, 'administer', undefined), { guest: 401, member: 404, suspended: 404, silenced: 404, unverified: 404, expired: 404 }],
  ]
  const people = { guest, member, suspended, silenced, unverified, expired }
  for (const [what, ask, expected] of cases) {
    for (const [who, viewer] of Object.entries(people)) t.equal(ask(viewer), expected[who], `${who}: ${what}`)
  }
  t.equal(status(unverified, 'vote', undefined, { settings: { require_verified_email_to_post: false }, now: NOW }), 200, 'unverified is fine when the community does not require it')
  t.match(refusal(suspended, 'vote', undefined, REQUIRED), { message: `Your account is suspended until ${LATER.toUTCString()}` })
  t.match(refusal(silenced, 'like', { post }, REQUIRED), { message: /silenced until .* and cannot like posts/ })
  t.match(refusal(unverified, 'propose', undefined, REQUIRED), { message: /^Confirm your email address before proposing ideas/ })
  t.equal(status(v(user({ trust_level: 0 })), 'flag', { post }), 403, 'TL0 cannot flag')
  t.equal(status(v(user({ trust_level: 0 })), 'upload', { minTrustLevel: 1 }), 403, 'uploads from the trust level the community sets')
  t.equal(status(globalMod, 'upload', { minTrustLevel: 4 }), 200, 'staff upload whatever the setting')
  t.equal(status(v(user({ trust_level: 0 })), 'betaSignUp', { members_only: false, min_trust_level: 2 }), 403)
  t.equal(status(suspended, 'betaSignUp', { members_only: true, min_trust_level: 0 }), 404, 'a suspended member cannot learn of a members-only beta')
  t.equal(status(member, 'edit', { categoryId: 1, post: { ...own, created_at: EARLIER }, editWindowMinutes: 60 }), 403, 'edit window')
  t.equal(status(catMod, 'edit', { categoryId: 2, post, editWindowMinutes: 60 }), 200, 'a category moderator edits inside')
  t.equal(status(catMod, 'edit', { categoryId: 1, post, editWindowMinutes: 60 }), 403, 'and not outside')
  t.equal(status(member, 'reply', { categoryId: 1, thread: { locked: true, deleted_at: null } }), 403, 'locked')
  t.equal(status(globalMod, 'reply', { categoryId: 1, thread: { locked: true, deleted_at: null } }), 200, 'staff reply in locked threads')
})

t.test('editing an idea: its author while open or under review, staff always, nobody else', async (t) => {
  const idea = (status: string, over: Partial<{ author_id: number | null; merged_into_id: number | null }> = {}) => ({ idea: { author_id: 10, status, merged_into_id: null, ...over } })
  t.equal(status(member, 'editIdea', idea('open')), 200, 'the author edits an open idea')
  t.equal(status(member, 'editIdea', idea('under_review')), 200, 'and one under review')
  for (const s of ['planned', 'in_progress', 'done', 'declined']) t.equal(status(member, 'editIdea', idea(s)), 403, `not once it is ${s}`)
  t.equal(status(member, 'editIdea', idea('open', { merged_into_id: 5 })), 403, 'not once merged')
  t.equal(status(member, 'editIdea', idea('open', { author_id: 99 })), 403, 'not someone else’s idea')
  t.equal(status(catMod, 'editIdea', idea('open', { author_id: 99 })), 403, 'a category moderator is not idea staff')
  t.equal(status(guest, 'editIdea', idea('open')), 401)
  t.equal(status(suspended, 'editIdea', idea('open')), 403, 'suspended')
  t.equal(status(silenced, 'editIdea', idea('open')), 403, 'silenced')
  t.equal(status(unverified, 'editIdea', idea('open')), 200, 'an unverified address may still fix its own idea')
  for (const s of ['open', 'planned', 'done', 'declined']) t.equal(status(globalMod, 'editIdea', idea(s, { author_id: 99 })), 200, `staff edit a ${s} idea`)
  t.equal(status(admin, 'editIdea', idea('open', { author_id: 99, merged_into_id: 5 })), 200, 'staff may fix a merged idea’s text')
  t.equal(status(suspendedAdmin, 'editIdea', idea('open', { author_id: 99 })), 403, 'a suspended admin edits nothing')
  t.match(refusal(member, 'editIdea', idea('planned'), REQUIRED), { message: /only staff can edit it/ })
})

t.test('moderating: scope, suspension, and the review queue', async (t) => {
  t.equal(status(catMod, 'moderate', { categoryId: 2 }), 200)
  t.equal(status(catMod, 'moderate', { categoryId: 1 }), 403, 'a moderator elsewhere: visible, not allowed')
  t.equal(status(member, 'moderate', { categoryId: 1 }), 404, 'no moderation at all: the queue does not exist for them')
  t.equal(status(v(user({ id: 3, suspended_until: LATER }), [2]), 'moderate', { categoryId: 2 }), 404, 'a suspended moderator moderates nothing')
  t.equal(status(suspendedAdmin, 'reviewQueue', undefined), 404)
  t.equal(status(globalMod, 'reviewQueue', undefined), 200)
  const catModId = catMod.user!.id
  t.equal(status(catMod, 'reviewFlags', { categoryId: 2, authorId: catModId + 100 }), 200, 'flags on others\' posts in their category')
  t.equal(status(catMod, 'reviewFlags', { categoryId: 2, authorId: catModId }), 403, 'never flags on their own post')
  t.equal(status(catMod, 'reviewFlags', { categoryId: 1, authorId: catModId + 100 }), 403, 'nor outside their categories')
  t.equal(status(globalMod, 'reviewFlags', { categoryId: 1, authorId: globalMod.user!.id }), 403, 'staff neither')
  t.equal(status(member, 'reviewFlags', { categoryId: 1, authorId: 999 }), 404)
  t.equal(status(admin, 'administer', undefined), 200)
  t.equal(status(suspendedAdmin, 'administer', undefined), 404, 'a suspended admin has no /admin')
  t.equal(status(admin, 'viewHealth', undefined), 200, 'the health dashboard: admins')
  t.equal(status(globalMod, 'viewHealth', undefined), 200, 'and moderators')
  t.equal(status(catMod, 'viewHealth', undefined), 404, 'not category moderators')
  t.equal(status(member, 'viewHealth', undefined), 404)
  t.equal(status(suspendedAdmin, 'viewHealth', undefined), 404)
})

t.test('rank rules: who may suspend, silence or change the role of whom', async (t) => {
  const target = (id: number, role: 'member' | 'moderator' | 'admin', moderatesAny = false) => ({ id, role, moderatesAny })
  const plain = target(50, 'member')
  const volunteer = target(51, 'member', true)
  const global = target(52, 'moderator')
  const owner = target(53, 'admin')
  const penalise = (x: Viewer, who: ReturnType<typeof target>, categoryId?: number) => status(x, 'penalise', { target: who, categoryId })
  t.equal(penalise(catMod, plain, 2), 200, 'a category moderator penalises a member in their category')
  t.equal(penalise(catMod, plain, 1), 404, 'not outside it')
  t.equal(penalise(catMod, owner, 2), 403, 'never an owner')
  t.equal(penalise(catMod, global, 2), 403, 'never staff')
  t.equal(penalise(catMod, volunteer, 2), 403, 'never a fellow moderator')
  t.equal(penalise(globalMod, volunteer, 1), 403, 'only admins suspend moderators, even category ones')
  t.equal(penalise(globalMod, plain, 1), 200)
  t.equal(penalise(admin, global), 200, 'admins suspend moderators')
  t.equal(penalise(admin, owner), 403, 'nobody suspends an admin')
  t.equal(penalise(admin, target(1, 'admin')), 403, 'nobody acts on themselves')
  t.equal(penalise(suspendedAdmin, plain), 404, 'no staff power while suspended')
  t.equal(status(admin, 'penalise', { target: owner, kind: 'role' }), 200, 'owners change other admins\' roles')
  t.equal(status(admin, 'penalise', { target: target(1, 'admin'), kind: 'role' }), 403, 'but not their own')
  t.equal(status(globalMod, 'penalise', { target: plain, kind: 'role' }), 404, 'role changes are for admins')
})

t.test('muting: anyone in good standing mutes members, never themselves or staff', async (t) => {
  const target = (id: number, role: 'member' | 'moderator' | 'admin', moderatesAny = false) => ({ id, role, moderatesAny })
  const member = v(user({ id: 60 }))
  t.equal(status(member, 'mute', { target: target(61, 'member') }), 200)
  t.equal(status(member, 'mute', { target: target(62, 'member', true) }), 200, 'a volunteer category moderator is a member here')
  t.equal(status(member, 'mute', { target: target(63, 'moderator') }), 403, 'moderators cannot be muted')
  t.equal(status(member, 'mute', { target: target(64, 'admin') }), 403, 'nor admins')
  t.equal(status(member, 'mute', { target: target(60, 'member') }), 403, 'nor oneself')
  t.equal(status(v(null), 'mute', { target: target(61, 'member') }), 401)
  t.equal(status(v(user({ id: 65, suspended_until: LATER })), 'mute', { target: target(61, 'member') }), 403, 'not while suspended')
  t.equal(status(v(user({ id: 66, silenced_until: LATER })), 'mute', { target: target(61, 'member') }), 200, 'a silenced member may still mute')
  t.equal(status(v(user({ id: 66, silenced_until: LATER })), 'setNotificationLevel', undefined), 200, 'and choose levels')
  t.equal(status(v(user({ id: 65, suspended_until: LATER })), 'setNotificationLevel', undefined), 403)
})

t.test('ensure throws the DomainError of the answer', async (t) => {
  const thrown = (fn: () => void) => {
    try {
      fn()
    } catch (err) {
      return err
    }
    return null
  }
  t.ok(thrown(() => ensure(guest, 'vote', undefined)) instanceof Unauthorized)
  t.ok(thrown(() => ensure(suspended, 'read', { category: lounge }, { now: NOW })) instanceof NotFound)
  t.ok(thrown(() => ensure(suspended, 'vote', undefined, { now: NOW })) instanceof Forbidden)
  t.doesNotThrow(() => ensure(member, 'vote', undefined))
  t.ok(can(member, 'post', { category: open }))
})
