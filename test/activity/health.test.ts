import { sql } from 'kysely'
import t from 'tap'
import type { Db } from '../../src/core/db.js'
import { defaultSettings } from '../../src/core/settings.js'
import { type ActivityKind, activityWeights, PARTICIPATION_KINDS, stageFor, stageLabel } from '../../src/features/activity/kinds.js'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { members } from '../helpers/members.js'
import { replyTo, startThread } from '../helpers/forum.js'
import { persona } from '../helpers/personas.js'

const DAY = 86_400_000
const MIN = 60_000
const today = () => {
  const n = new Date()
  return Date.UTC(n.getUTCFullYear(), n.getUTCMonth(), n.getUTCDate())
}
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)

async function category(admin: Client, name = 'General') {
  const res = await admin.api('POST', '/api/v1/categories', { name, slug: name.toLowerCase() })
  return res.data.category.id as number
}

async function actsOf(db: Db) {
  const rows = await db.selectFrom('activity_log').select(['user_id', 'kind', 'subject_id', 'other_user_id']).orderBy('id').execute()
  return rows.map((r) => `${r.user_id}:${r.kind}:${r.subject_id}:${r.other_user_id ?? '-'}`).sort()
}

t.test('the activity log follows events as they commit, and the first-run backfill derives the same acts', async (t) => {
  const { app, db } = await build(t)
  const admin = await persona(app, db, { stem: 'admin', role: 'admin', trustLevel: 4 })
  const ann = await persona(app, db, { stem: 'ann', trustLevel: 1 })
  const bob = await persona(app, db, { stem: 'bob', trustLevel: 2 })
  const cat = await category(admin.client)
  const thread = await startThread(ann, cat, 'How do I export my data?', 'Looking for a CSV export.')
  const reply = await replyTo(bob, thread.id, 'Settings → Export, at the bottom.', thread.postId)
  t.equal((await ann.client.api('PUT', `/api/v1/posts/${reply}/like`)).statusCode, 200)
  const idea = await bob.client.api('POST', '/api/v1/ideas', { title: 'Scheduled CSV exports', body: 'Every Monday, by mail.' })
  t.equal(idea.statusCode, 201, idea.body)
  const ideaId = idea.data.idea?.id ?? idea.data.id
  t.equal((await ann.client.api('PUT', `/api/v1/ideas/${ideaId}/vote`)).statusCode, 200)
  await app.hearth.relay.drain()

  const kindsOf = async (userId: number) =>
    (await db.selectFrom('activity_log').select('kind').where('user_id', '=', userId).where('kind', '<>', 'visit').execute()).map((r) => r.kind).sort()
  t.same(await kindsOf(ann.id), ['like_given', 'post', 'vote'], 'ann: started a thread, liked, voted')
  t.same(
    (await kindsOf(bob.id)).filter((k) => k !== 'vote'),
    ['helped', 'idea', 'like_received', 'reply'],
    'bob: replied, was liked (and so helped ann), proposed',
  )
  const helped = await db.selectFrom('activity_log').selectAll().where('user_id', '=', bob.id).where('kind', '=', 'helped').executeTakeFirstOrThrow()
  t.equal(helped.other_user_id, ann.id, 'the member helped is the one who liked the reply')
  const replied = await db.selectFrom('activity_log').selectAll().where('user_id', '=', bob.id).where('kind', '=', 'reply').executeTakeFirstOrThrow()
  t.equal(replied.other_user_id, ann.id, 'a reply names whose post it answered')
  t.ok(
    await db.selectFrom('activity_log').select('id').where('user_id', '=', ann.id).where('kind', '=', 'visit').executeTakeFirst(),
    'using the forum records the day’s visit',
  )

  // The consumer is idempotent: a second delivery of the same events adds nothing.
  const before = await actsOf(db)
  t.equal(await app.hearth.activity.derive(db, { postId: reply }), 0)
  t.equal(await app.hearth.activity.derive(db, { ideaId }), 0)

  // A community that existed before the log: the backfill derives exactly the same acts.
  await sql`delete from activity_log where kind <> 'visit'`.execute(db)
  await sql`delete from community_settings where key = 'activity_backfilled_at'`.execute(db)
  t.equal(await app.hearth.activity.ensureBackfilled(), true)
  t.same(await actsOf(db), before, 'backfill = what the events produced')
  t.equal(await app.hearth.activity.ensureBackfilled(), false, 'and it runs once')
})

/** Linear-interpolation percentile, as PostgreSQL's percentile_cont. */
function percentile(values: number[], p: number): number | null {
  if (!values.length) return null
  const s = [...values].sort((a, b) => a - b)
  const pos = p * (s.length - 1)
  const lo = Math.floor(pos)
  return s[lo]! + (pos - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? 0) - s[lo]!)
}

t.test('on a small fixture, the dashboard matches figures computed independently', async (t) => {
  const { app, db } = await build(t)
  const T = today()
  const admin = await persona(app, db, { stem: 'staff', role: 'admin', trustLevel: 4 })
  const m = [] as Awaited<ReturnType<typeof persona>>[]
  for (let i = 1; i <= 5; i++) m.push(await persona(app, db, { stem: `m${i}`, trustLevel: 1 }))
  const [m1, m2, m3, m4, m5] = m as [typeof admin, typeof admin, typeof admin, typeof admin, typeof admin]
  const cat = await category(admin.client)
  const joined = new Map<number, number>([
    [admin.id, T - 100 * DAY],
    [m1.id, T - 70 * DAY],
    [m2.id, T - 65 * DAY],
    [m3.id, T - 40 * DAY],
    [m4.id, T - 10 * DAY],
    [m5.id, T - 5 * DAY],
  ])
  for (const [id, at] of joined) await db.updateTable('users').set({ created_at: new Date(at) }).where('id', '=', id).execute()

  // Every act, as the test knows it: who, what, when, and the other member involved.
  const acts: { user: number; kind: ActivityKind; at: number; other?: number }[] = []
  const backdate = async (postId: number, at: number) => {
    await db.updateTable('posts').set({ created_at: new Date(at) }).where('id', '=', postId).execute()
  }
  const thread = async (who: typeof admin, at: number, answers: [typeof admin, number][]) => {
    const th = await startThread(who, cat, `A question asked at ${isoDay(at)} ${at % DAY}`, 'Details.')
    await db.updateTable('threads').set({ created_at: new Date(at) }).where('id', '=', th.id).execute()
    await backdate(th.postId, at)
    acts.push({ user: who.id, kind: 'post', at })
    const replies: number[] = []
    for (const [by, minutes] of answers) {
      const id = await replyTo(by, th.id, `An answer after ${minutes} minutes.`, th.postId)
      await backdate(id, at + minutes * MIN)
      acts.push({ user: by.id, kind: 'reply', at: at + minutes * MIN, other: who.id })
      replies.push(id)
    }
    return replies
  }
  const like = async (who: typeof admin, postId: number, author: typeof admin, at: number) => {
    t.equal((await who.client.api('PUT', `/api/v1/posts/${postId}/like`)).statusCode, 200)
    await db.updateTable('post_likes').set({ created_at: new Date(at) }).where('post_id', '=', postId).where('user_id', '=', who.id).execute()
    acts.push({ user: who.id, kind: 'like_given', at, other: author.id })
    acts.push({ user: author.id, kind: 'like_received', at, other: who.id })
    acts.push({ user: author.id, kind: 'helped', at, other: who.id })
  }
  const [, th1m2] = await thread(m1, T - 3 * DAY + 10 * 60 * MIN, [[admin, 10], [m2, 50]])
  const [th2m3] = await thread(m2, T - 3 * DAY + 12 * 60 * MIN, [[m3, 30]])
  const [th3m1] = await thread(m3, T - 2 * DAY + 9 * 60 * MIN, [[m1, 90]])
  await thread(m4, T - 1 * DAY + 8 * 60 * MIN, [[m4, 5]])
  await thread(m1, T - 50 * DAY, [[m2, 600]])
  await like(m2, th2m3!, m3, T - 2 * DAY + 60 * MIN)
  await like(m1, th2m3!, m3, T - 2 * DAY + 70 * MIN)
  await like(admin, th3m1!, m1, T - 1 * DAY + 60 * MIN)
  await like(m3, th1m2!, m2, T - 45 * DAY)
  // m4's reply to their own thread is not a response, but it is an act.
  const self = acts.find((a) => a.user === m4.id && a.kind === 'reply')!
  self.other = m4.id
  const visits: [number, number][] = [
    [m1.id, T - 1 * DAY],
    [m1.id, T - 2 * DAY],
    [m1.id, T - 3 * DAY],
    [m2.id, T - 3 * DAY],
    [m5.id, T - 1 * DAY],
    [m4.id, T - 20 * DAY],
  ]
  await db
    .insertInto('user_daily_stats')
    .values(visits.map(([user_id, at]) => ({ user_id, day: isoDay(at), posts_read: 1 })))
    .execute()
  for (const [user, at] of visits) acts.push({ user, kind: 'visit', at })

  // The log as a first run builds it from this history (the live rows carry today's times).
  await app.hearth.relay.drain()
  await sql`delete from activity_log`.execute(db)
  await sql`delete from member_days`.execute(db)
  await sql`delete from community_settings where key = 'activity_backfilled_at'`.execute(db)
  const run = await app.hearth.activity.nightly()
  t.equal(run.backfilled, true)
  t.equal(run.members, 6)

  const range = { from: new Date(T - 30 * DAY), to: new Date(T - 1 * DAY) }
  const f = await app.hearth.health.figures(range)

  // DAU, WAU, MAU for each day of the range.
  const activeOn = (from: number, to: number) => new Set(acts.filter((a) => a.at >= from && a.at < to).map((a) => a.user)).size
  for (const d of f.daily) {
    const day = d.day.getTime()
    t.same(
      { dau: d.dau, wau: d.wau, mau: d.mau },
      { dau: activeOn(day, day + DAY), wau: activeOn(day - 6 * DAY, day + DAY), mau: activeOn(day - 29 * DAY, day + DAY) },
      `active members on ${isoDay(day)}`,
    )
  }
  t.equal(f.daily.length, 30, 'every day of the range has its figures')
  const dauAvg = f.daily.reduce((s, d) => s + d.dau, 0) / 30
  const mauEnd = activeOn(T - 30 * DAY, T)
  t.equal(f.activity.mau, mauEnd)
  t.equal(f.activity.stickiness, Math.round((dauAvg / mauEnd) * 1000) / 10, 'DAU/MAU')

  // Time to first response: 10 min (staff), 30 and 90 min (community); m4's thread is unanswered.
  const inRange = [10, 30, 90]
  t.equal(f.response.threads, 4)
  t.equal(f.response.answered, 3)
  t.equal(f.response.median, percentile(inRange, 0.5))
  t.equal(f.response.p90, percentile(inRange, 0.9))
  t.same(f.response.staff, { answered: 1, median: 10, p90: 10 })
  t.same(f.response.community, { answered: 2, median: percentile([30, 90], 0.5), p90: percentile([30, 90], 0.9) })
  t.equal(f.unanswered.count, 1)
  t.match(f.unanswered.oldest[0], { title: /A question asked/ })

  // New members: m4 and m5 joined in the range; m4 took part (a thread) within 30 days.
  t.same(f.newMembers, { joined: 2, participated: 1, settled: 0, settledParticipated: 0, referred: 0 })

  // Cohort retention, computed from the fixture month by month.
  const monthOf = (ms: number) => {
    const d = new Date(ms)
    return d.getUTCFullYear() * 12 + d.getUTCMonth()
  }
  for (const cohort of f.cohorts) {
    const cm = monthOf(cohort.month.getTime())
    const members = [...joined].filter(([, at]) => monthOf(at) === cm).map(([id]) => id)
    t.equal(cohort.size, members.length, `cohort ${isoDay(cohort.month.getTime())} size`)
    cohort.retention.forEach((share, k) => {
      if (share === null) return
      const active = new Set(acts.filter((a) => members.includes(a.user) && monthOf(a.at) === cm + k && a.at < T).map((a) => a.user)).size
      t.equal(share, Math.round((active * 100) / members.length), `cohort ${isoDay(cohort.month.getTime())} month ${k}`)
    })
  }
  t.equal(f.cohorts.reduce((s, c) => s + c.size, 0), 6, 'every member is in one cohort')

  // Stages: the pure rules over the fixture's acts give every member's stage.
  const settings = defaultSettings()
  const weights = activityWeights(settings)
  const now = Date.now()
  const expected = new Map<string, number>()
  const stageById = new Map<number, string>()
  for (const [id, at] of joined) {
    const mine = acts.filter((a) => a.user === id && a.at >= now - settings.stage_window_days * DAY)
    const score = mine.reduce((s, a) => s + weights[a.kind], 0)
    const recentScore = mine.filter((a) => a.at >= now - 30 * DAY).reduce((s, a) => s + weights[a.kind], 0)
    const { stage, drifting } = stageFor(
      {
        joinedDaysAgo: (now - at) / DAY,
        score,
        recentScore,
        priorScore: score - recentScore,
        participations: mine.filter((a) => (PARTICIPATION_KINDS as string[]).includes(a.kind)).length,
        helped: new Set(mine.filter((a) => a.kind === 'helped').map((a) => a.other)).size,
        anyActivity: mine.length > 0,
      },
      settings,
    )
    const row = await db.selectFrom('member_stages').select(['stage', 'drifting']).where('user_id', '=', id).executeTakeFirstOrThrow()
    t.same(row, { stage, drifting }, `member ${id}'s stage`)
    expected.set(stage, (expected.get(stage) ?? 0) + 1)
    stageById.set(id, stage)
  }
  for (const c of f.stages.counts) t.equal(c.members, expected.get(c.stage) ?? 0, `${c.label} count`)
  t.ok((expected.get('participant') ?? 0) > 0 && (expected.get('newcomer') ?? 0) > 0, 'the fixture spans several stages')

  // Top contributors: m3's replies were liked by two different members.
  t.same(f.helpers[0], { username: m3.username, helped: 2, replies: 1 })

  // A stage change is recorded with its day, and the flow shows on the next run's range.
  await db.updateTable('member_stages').set({ stage: 'explorer' }).where('user_id', '=', m3.id).execute()
  const again = await app.hearth.activity.computeStages()
  t.equal(again.changes, 1, 'only the member whose stage moved is recorded')
  const flows = (await app.hearth.health.figures({ from: new Date(T), to: new Date(T) })).stages.flows
  t.not(stageById.get(m3.id), 'explorer')
  t.same(flows, [{ from: 'Explorer', to: stageLabel(stageById.get(m3.id)!), members: 1 }])
})

t.test('top contributors from the rollups equal a count over every act, for any range', async (t) => {
  const { app, db } = await build(t)
  const people = await members(app, db, 40, { stem: 'h' })
  const T = today()
  // A seeded pseudo-random history over 200 days: a few prolific helpers, many ties.
  let seed = 7
  const rand = (n: number) => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return (((x ^ (x >>> 14)) >>> 0) % n)
  }
  const acts: { user_id: number; kind: string; subject_id: number; other_user_id: number; at: Date }[] = []
  for (let i = 0; i < 1500; i++) {
    const helper = people[rand(3) === 0 ? rand(4) : rand(16)]!
    const other = people[rand(40)]!
    if (other.id === helper.id) continue
    acts.push({ user_id: helper.id, kind: 'helped', subject_id: 1000 + rand(400), other_user_id: other.id, at: new Date(T - 200 * DAY + rand(200 * 24) * 3_600_000) })
  }
  await db.insertInto('activity_log').values(acts).onConflict((c) => c.doNothing()).execute()
  await sql`insert into member_days (day, user_id) select distinct (at at time zone 'UTC')::date, user_id from activity_log on conflict do nothing`.execute(db)
  await db.insertInto('community_settings').values({ key: 'activity_backfilled_at', value: JSON.stringify(new Date().toISOString()), updated_at: new Date() }).execute()
  t.ok((await app.hearth.activity.rollDays()) > 150, 'the roll covers the history')

  const exact = async (from: number, to: number) =>
    (
      await sql<{ username: string; helped: number; replies: number }>`
        select u.username, count(distinct a.other_user_id)::int as helped, count(distinct a.subject_id)::int as replies
        from activity_log a join users u on u.id = a.user_id
        where a.kind = 'helped' and a.at >= ${new Date(from)} and a.at < ${new Date(to + DAY)}
        group by u.username order by helped desc, replies desc, u.username collate "C" limit 10`.execute(db)
    ).rows
  const ranges: [string, number, number][] = [
    ['the last 30 days', T - 30 * DAY, T - DAY],
    ['the last 200 days', T - 200 * DAY, T - DAY],
    ['mid-month to mid-month', T - 170 * DAY, T - 20 * DAY],
    ['one day', T - 45 * DAY, T - 45 * DAY],
    ['beyond the rolled days', T - 400 * DAY, T - DAY],
    ['a preset the roll ranked', T - 90 * DAY, T - DAY],
    ['a preset ending earlier', T - 120 * DAY, T - 31 * DAY],
  ]
  for (const [label, from, to] of ranges) {
    const figures = await app.hearth.health.helpers({ from: new Date(from), to: new Date(to) })
    t.same(figures, await exact(from, to), label)
  }
  t.ok((await exact(T - 200 * DAY, T - DAY)).length === 10, 'the fixture has more than ten helpers')
  const ranked = await db.selectFrom('health_helpers').select(['days', 'until']).where('days', '=', 90).execute()
  t.equal(ranked.length, 10, 'the roll ranked the presets')
  t.equal(isoDay(new Date(ranked[0]!.until).getTime()), isoDay(T - DAY), 'up to the last closed day')
})

t.test('the dashboard is for staff: pages, range checks, the API, and a member’s own stage', async (t) => {
  const { app, db } = await build(t)
  const admin = await persona(app, db, { stem: 'admin', role: 'admin', trustLevel: 4 })
  const mod = await persona(app, db, { stem: 'mod', role: 'moderator', trustLevel: 3 })
  const member = await persona(app, db, { stem: 'member', trustLevel: 1 })
  t.equal((await member.client.get('/admin/health')).statusCode, 404, 'members: no such page')
  t.equal((await new Client(app).get('/admin/health')).statusCode, 302, 'guests are sent to log in')
  t.equal((await member.client.api('GET', '/api/v1/admin/health')).statusCode, 404)

  const first = await admin.client.get('/admin/health')
  t.equal(first.statusCode, 200)
  t.match(first.body, /has not been built from this community/, 'before the first run, the page offers to compute')
  t.equal((await admin.client.submit('/admin/health/compute', {}, '/admin/health')).statusCode, 303)
  const page = await mod.client.get('/admin/health?days=7')
  t.equal(page.statusCode, 200, 'moderators see it too')
  t.match(page.body, /Community health/)
  t.match(page.body, /Lifecycle stages/)
  t.notMatch(page.body, /has not been built/)

  const bad = await admin.client.get('/admin/health?from=2026-05-01&to=2026-04-01')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /The start must be on or before the end/)
  const api = await admin.client.api('GET', '/api/v1/admin/health?from=2026-01-01&to=2026-01-31')
  t.equal(api.statusCode, 200)
  t.equal(api.data.data.range.from.slice(0, 10), '2026-01-01')
  t.equal((await admin.client.api('GET', '/api/v1/admin/health?from=2026-01-01&to=2025-01-31')).statusCode, 400)

  const own = await member.client.get(`/u/${member.username}`)
  t.match(own.body, /You are an? <span class="stage-name">/, 'a member sees their own stage')
  t.notMatch((await admin.client.get(`/u/${member.username}`)).body, /stage-name/, 'nobody else does')
  await app.hearth.settings.set('lifecycle_on_profile', false)
  t.notMatch((await member.client.get(`/u/${member.username}`)).body, /stage-name/, 'and the owner can switch it off')
})
