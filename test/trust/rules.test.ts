import t from 'tap'
import { defaultSettings } from '../../src/core/settings.js'
import { flagScore, hidesAtOnce } from '../../src/features/moderation/scoring.js'
import { planPromotions, type PromotionInput } from '../../src/features/trust/promotion-plan.js'
import { type LifetimeStats, meetsTrustLevel1, meetsTrustLevel2, meetsTrustLevel3, nextTrustStanding, type WindowStats } from '../../src/features/trust/rules.js'

const s = defaultSettings()

const tl1: LifetimeStats = { daysVisited: 1, topicsEntered: 5, postsRead: 30, readingSeconds: 600, replies: 0, likesGiven: 0, likesReceived: 0 }
const tl2: LifetimeStats = { daysVisited: 15, topicsEntered: 20, postsRead: 100, readingSeconds: 3600, replies: 3, likesGiven: 1, likesReceived: 1 }
const totals = { topics: 400, posts: 4000 }
// 25% of 400 topics = 100, 25% of 4000 posts = 1000.
const tl3: WindowStats = { daysVisited: 50, topicsReplied: 10, topicsEntered: 100, postsRead: 1000, likesReceived: 20, distinctLikers: 5, likesGiven: 30, flaggedPosts: 5 }

t.test('defaults are modelled on Discourse', async (t) => {
  t.match(s, { tl1_topics_entered: 5, tl1_posts_read: 30, tl1_reading_minutes: 10, tl2_topics_entered: 20, tl2_posts_read: 100, tl2_reading_minutes: 60, tl2_days_visited: 15, tl2_replies: 3, tl3_window_days: 100, tl3_days_visited: 50, tl3_grace_days: 14 })
})

t.test('TL1 at and just under each threshold', async (t) => {
  t.ok(meetsTrustLevel1(tl1, s), 'exactly at every threshold')
  t.notOk(meetsTrustLevel1({ ...tl1, topicsEntered: 4 }, s), 'one topic short')
  t.notOk(meetsTrustLevel1({ ...tl1, postsRead: 29 }, s), 'one post short')
  t.notOk(meetsTrustLevel1({ ...tl1, readingSeconds: 599 }, s), 'one second short of 10 minutes')
})

t.test('TL2 at and just under each threshold', async (t) => {
  t.ok(meetsTrustLevel2(tl2, s), 'exactly at every threshold')
  for (const [key, value] of Object.entries({ daysVisited: 14, topicsEntered: 19, postsRead: 99, readingSeconds: 3599, replies: 2, likesGiven: 0, likesReceived: 0 })) {
    t.notOk(meetsTrustLevel2({ ...tl2, [key]: value }, s), `just under on ${key}`)
  }
})

t.test('TL3 at and just under each threshold, and the 90% rule to keep it', async (t) => {
  t.ok(meetsTrustLevel3(tl3, totals, s), 'exactly at every threshold')
  for (const [key, value] of Object.entries({ daysVisited: 49, topicsReplied: 9, topicsEntered: 99, postsRead: 999, likesReceived: 19, distinctLikers: 4, likesGiven: 29 })) {
    t.notOk(meetsTrustLevel3({ ...tl3, [key]: value }, totals, s), `just under on ${key}`)
  }
  t.notOk(meetsTrustLevel3({ ...tl3, flaggedPosts: 6 }, totals, s), 'six flagged posts is one too many')
  t.ok(meetsTrustLevel3({ ...tl3, daysVisited: 45 }, totals, s, 0.9), '45 days is 90% of 50: kept')
  t.notOk(meetsTrustLevel3({ ...tl3, daysVisited: 44 }, totals, s, 0.9), '44 days is under 90%')
  t.ok(meetsTrustLevel3({ ...tl3, topicsEntered: 500, postsRead: 20_000 }, { topics: 100_000, posts: 1_000_000 }, s), 'reading shares are capped (500 topics, 20,000 posts)')
})

t.test('next standing: promote when met, locks untouched, TL3 lost only after the grace', async (t) => {
  const now = new Date('2026-06-01T00:00:00Z')
  const none: LifetimeStats = { daysVisited: 0, topicsEntered: 0, postsRead: 0, readingSeconds: 0, replies: 0, likesGiven: 0, likesReceived: 0 }
  const idle: WindowStats = { daysVisited: 0, topicsReplied: 0, topicsEntered: 0, postsRead: 0, likesReceived: 0, distinctLikers: 0, likesGiven: 0, flaggedPosts: 0 }
  t.same(nextTrustStanding({ level: 0, locked: false, shortSince: null }, tl1, idle, totals, s, now), { level: 1, locked: false, shortSince: null })
  t.same(nextTrustStanding({ level: 0, locked: false, shortSince: null }, { ...tl1, postsRead: 29 }, idle, totals, s, now).level, 0)
  t.same(nextTrustStanding({ level: 1, locked: false, shortSince: null }, tl2, idle, totals, s, now).level, 2)
  t.same(nextTrustStanding({ level: 2, locked: false, shortSince: null }, tl2, tl3, totals, s, now).level, 3)
  t.same(nextTrustStanding({ level: 0, locked: true, shortSince: null }, tl2, tl3, totals, s, now), { level: 0, locked: true, shortSince: null }, 'a locked level is never touched')
  t.same(nextTrustStanding({ level: 2, locked: false, shortSince: null }, none, idle, totals, s, now).level, 2, 'TL2 is never demoted')
  t.same(nextTrustStanding({ level: 4, locked: false, shortSince: null }, none, idle, totals, s, now).level, 4, 'TL4 is by hand only')

  const short = nextTrustStanding({ level: 3, locked: false, shortSince: null }, tl2, idle, totals, s, now)
  t.same(short, { level: 3, locked: false, shortSince: now }, 'falling short starts the grace')
  const day13 = new Date(now.getTime() + 13 * 86_400_000)
  t.same(nextTrustStanding(short, tl2, idle, totals, s, day13).level, 3, 'still TL3 on day 13')
  const day14 = new Date(now.getTime() + 14 * 86_400_000)
  t.same(nextTrustStanding(short, tl2, idle, totals, s, day14), { level: 2, locked: false, shortSince: null }, 'TL2 after 14 days')
  t.same(nextTrustStanding(short, tl2, { ...tl3, daysVisited: 45 }, totals, s, day14), { level: 3, locked: false, shortSince: null }, 'back above 90%: grace cleared')
})

t.test('flag scores weigh trust level and track record', async (t) => {
  t.equal(flagScore({ trustLevel: 1, role: 'member' }, { agreed: 0, disagreed: 0 }), 1)
  t.equal(flagScore({ trustLevel: 2, role: 'member' }, { agreed: 0, disagreed: 0 }), 2)
  t.equal(flagScore({ trustLevel: 3, role: 'member' }, { agreed: 0, disagreed: 0 }), 3)
  t.equal(flagScore({ trustLevel: 1, role: 'moderator' }, { agreed: 0, disagreed: 0 }), 4, 'staff count as TL4')
  t.equal(flagScore({ trustLevel: 2, role: 'member' }, { agreed: 2, disagreed: 0 }), 2, 'a record counts from 3 decided flags')
  t.equal(flagScore({ trustLevel: 2, role: 'member' }, { agreed: 3, disagreed: 0 }), 4, 'always right: +2')
  t.equal(flagScore({ trustLevel: 2, role: 'member' }, { agreed: 0, disagreed: 3 }), 1, 'always wrong: −1')
  t.equal(flagScore({ trustLevel: 1, role: 'member' }, { agreed: 0, disagreed: 5 }), 0.5, 'never below 0.5')
  t.ok(hidesAtOnce('spam', { trustLevel: 3, role: 'member' }, 0))
  t.notOk(hidesAtOnce('spam', { trustLevel: 2, role: 'member' }, 0))
  t.notOk(hidesAtOnce('spam', { trustLevel: 3, role: 'member' }, 1))
  t.notOk(hidesAtOnce('inappropriate', { trustLevel: 3, role: 'member' }, 0))
})

t.test('promotion plan: seats, ranking, grace, locks, appointed moderators, invitations', async (t) => {
  const now = new Date('2026-06-01T00:00:00Z')
  const base: PromotionInput = { seats: 2, minActivity: 10, minAccuracy: 0.6, graceDays: 14, mode: 'automatic', candidates: [], moderators: [], invited: [], locked: [], now }
  const cands = [
    { userId: 1, activity: 50, accuracy: 1 },
    { userId: 2, activity: 40, accuracy: 1 },
    { userId: 3, activity: 100, accuracy: 0.5 },
    { userId: 4, activity: 9, accuracy: 1 },
  ]
  t.same(planPromotions({ ...base, candidates: cands }).promote, [1, 2], 'the two best above the minimums; inaccurate and inactive left out')
  t.same(planPromotions({ ...base, candidates: cands, mode: 'invitation' }).invite, [1, 2], 'invitation mode invites instead')
  t.same(planPromotions({ ...base, candidates: cands, moderators: [{ userId: 9, source: 'appointed', shortSince: null }] }).promote, [1], 'an appointed moderator takes a seat')
  t.same(planPromotions({ ...base, candidates: cands, invited: [1] }).promote, [2], 'an open invitation holds its seat')

  const fallen = { ...base, candidates: cands, moderators: [{ userId: 7, source: 'promoted' as const, shortSince: null }] }
  const first = planPromotions(fallen)
  t.same(first.startGrace, [7], 'a promoted moderator who falls away starts a grace period')
  t.same(first.promote, [1], 'and keeps their seat meanwhile')
  const later = planPromotions({ ...fallen, moderators: [{ userId: 7, source: 'promoted', shortSince: new Date(now.getTime() - 14 * 86_400_000) }] })
  t.same(later.demote, [7], 'demoted when the grace is over')
  t.same(later.promote, [1, 2], 'and the seat goes to the next in line')
  const lockedPlan = planPromotions({ ...fallen, locked: [7], moderators: [{ userId: 7, source: 'promoted', shortSince: new Date(0) }] })
  t.same(lockedPlan.demote, [], 'a locked member is never demoted')
  t.same(planPromotions({ ...base, candidates: cands, moderators: [{ userId: 1, source: 'promoted', shortSince: new Date(0) }] }).clearGrace, [1], 'back in the top seats: grace cleared')
})
