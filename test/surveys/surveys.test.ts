import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { build } from '../helpers/app.js'
import { forum, startThread } from '../helpers/forum.js'
import { members } from '../helpers/members.js'
import { persona } from '../helpers/personas.js'
import { startSmtp } from '../helpers/smtp.js'
import { startTestWorker } from '../helpers/worker.js'
import { nps } from '../../src/features/surveys/nps.js'
import { surveyPersonalData } from '../../src/features/surveys/personal-data.js'

const week = () => new Date(Date.now() + 7 * 86_400_000).toISOString()
const QUESTIONS = [
  { id: 'q1', kind: 'nps', label: 'How likely are you to recommend us to a friend?', required: true },
  { id: 'q2', kind: 'text', label: 'What should we do better?' },
  { id: 'q3', kind: 'single', label: 'How did you find us?', choices: ['Search', 'A friend', 'Elsewhere'] },
  { id: 'q4', kind: 'csat', label: 'How satisfied are you with the forum?' },
]

t.test('NPS and its interval on fixtures, with the edge cases', async (t) => {
  // 40 answers: 20 promoters, 10 passives, 10 detractors: NPS 25; Wald (n ≥ 30, both sides present).
  const mixed = [...Array(20).fill(10), ...Array(10).fill(8), ...Array(10).fill(3)]
  const m = nps(mixed)
  const [pp, pd] = [0.5, 0.25]
  const half = 1.959964 * Math.sqrt((pp + pd - (pp - pd) ** 2) / 40) * 100
  t.match(m, { n: 40, promoters: 20, passives: 10, detractors: 10, score: 25, method: 'wald' })
  t.equal(m.low, Math.round((25 - half) * 10) / 10, `low ${m.low}`)
  t.equal(m.high, Math.round((25 + half) * 10) / 10, `high ${m.high}`)
  t.ok(Math.abs(m.high! - m.low! - 2 * half) < 0.2, 'symmetric, ±1.96 standard errors')

  // All promoters: the score is 100, and the interval is not a zero-width "100 ± 0".
  const all = nps(Array(50).fill(9))
  t.match(all, { score: 100, high: 100, method: 'adjusted' })
  t.ok(all.low! < 100 && all.low! > 80, `all promoters, n=50: ${all.low} to 100`)
  const none = nps(Array(50).fill(0))
  t.match(none, { score: -100, low: -100, method: 'adjusted' })
  t.ok(none.high! > -100 && none.high! < -80, `all detractors, n=50: -100 to ${none.high}`)
  for (const one of [[10], [0], [7]]) {
    const r = nps(one)
    t.ok([r.score, r.low, r.high].every((v) => Number.isFinite(v)), `n=1 (${one}): no NaN`)
    t.ok(r.high! - r.low! > 50, `n=1 (${one}): a wide interval (${r.low} to ${r.high}), not a point`)
    t.ok(r.low! <= r.score! && r.score! <= r.high!, 'the interval holds the score')
    t.ok(r.low! >= -100 && r.high! <= 100, 'clipped to −100…100')
  }
  t.same(nps([]), { n: 0, promoters: 0, passives: 0, detractors: 0, score: null, low: null, high: null, method: null })
  // Small samples: adjusted; the interval narrows as n grows.
  const small = nps([10, 9, 8, 5])
  t.match(small, { n: 4, score: 25, method: 'adjusted' })
  const bigger = nps(Array(10).fill([10, 9, 8, 5]).flat())
  t.ok(bigger.high! - bigger.low! < small.high! - small.low!, 'more answers, a narrower interval')
})

t.test('anonymous answers store no member: every column of the answer tables searched', async (t) => {
  const { app, db } = await build(t)
  const { admin, member } = await forum(app, db)
  // A member with an id that cannot turn up by chance (a count, a survey id, a date).
  await sql`select setval(pg_get_serial_sequence('users', 'id'), 987653)`.execute(db)
  const respondent = await persona(app, db, { stem: 'secretive', trustLevel: 2 })
  t.equal(respondent.id, 987654)
  const created = await admin.client.api('POST', '/api/v1/surveys', { title: 'How are we doing?', anonymous: true, closesAt: week(), questions: QUESTIONS })
  t.equal(created.statusCode, 201, created.body)
  const id = created.data.id as number
  t.equal((await member.client.api('POST', '/api/v1/surveys', { title: 'Not staff', closesAt: week(), questions: QUESTIONS })).statusCode, 404, 'members cannot create surveys')

  const answered = await respondent.client.api('POST', `/api/v1/surveys/${id}/answers`, { answers: { q1: 3, q2: `I am ${respondent.username} and I am not happy`, q3: 'A friend', q4: 2 } })
  t.equal(answered.statusCode, 201, answered.body)
  const again = await respondent.client.api('POST', `/api/v1/surveys/${id}/answers`, { answers: { q1: 10 } })
  t.equal(again.statusCode, 409, 'one answer per member, even anonymous')
  await member.client.api('POST', `/api/v1/surveys/${id}/answers`, { answers: { q1: 10 } })
  await app.hearth.relay.drain()

  // The free text holds the name on purpose (what the member chose to write); every other column must not.
  const tables = ['survey_responses', 'survey_responders', 'survey_followups'] as const
  for (const table of tables) {
    const columns = (await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = ${table}`.execute(db)).rows.map((r) => r.column_name)
    for (const column of columns) {
      const rows = (await sql<{ v: string | null }>`select ${sql.ref(column)}::text as v from ${sql.table(table)}`.execute(db)).rows
      const values = rows.map((r) => r.v ?? '').map((v) => (column === 'answers' ? JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(v)).filter(([k]) => k !== 'q2'))) : v))
      const hit = values.find((v) => v.includes(String(respondent.id)) || v.toLowerCase().includes(respondent.username.toLowerCase()) || v.includes(respondent.email))
      t.notOk(hit, `${table}.${column} holds nothing of the member`)
    }
  }
  const keys = (await db.selectFrom('survey_responders').select('responder_key').execute()).map((r) => r.responder_key)
  for (const guess of [String(respondent.id), `${id}:${respondent.id}`, `survey-responder:${id}:${respondent.id}`]) {
    for (const enc of ['hex', 'base64url', 'base64'] as const) {
      t.notOk(keys.includes(createHash('sha256').update(guess).digest(enc)), `the ledger key is not a plain hash of ${guess}`)
    }
  }
  // Not even the transaction ids join a response to its ledger row.
  const { rows: joined } = await sql`select 1 from survey_responses r join survey_responders l on l.xmin = r.xmin`.execute(db)
  t.equal(joined.length, 0, 'no response shares a transaction id with a ledger row')
  // One answer per member, however many race.
  const racer = await persona(app, db, { stem: 'racer', trustLevel: 1 })
  const raced = await Promise.all(Array.from({ length: 10 }, () => racer.client.api('POST', `/api/v1/surveys/${id}/answers`, { answers: { q1: 7 } })))
  t.same(raced.map((r) => r.statusCode).sort(), [201, ...Array(9).fill(409)], 'ten racing answers: one counted')
  const response = await db.selectFrom('survey_responses').selectAll().where('survey_id', '=', id).where(sql<boolean>`answers->>'q1' <> '7'`).execute()
  t.ok(response.every((r) => r.user_id === null && r.anonymous), 'no member id on the responses')
  t.ok(response.every((r) => r.created_at.toISOString().endsWith('T00:00:00.000Z')), 'only the day of answering is kept')
  t.equal(await db.selectFrom('survey_followups').select('id').execute().then((r) => r.length), 0, 'an anonymous detractor is no follow-up (nobody to follow)')
  const events = await db.selectFrom('outbox').select('type').where('type', '=', 'survey.answered').execute()
  t.equal(events.length, 0, 'an anonymous answer writes no event (the activity log stays blind to it)')
  await t.rejects(db.insertInto('survey_responses').values({ survey_id: id, user_id: respondent.id, anonymous: true, trust_level: 1, answers: '{}' }).execute(), /survey_responses_anonymous_check/, 'the database refuses a member id on an anonymous answer')
  // A data export holds the member's invitations and attributed answers: none here, since nothing links them to this answer.
  const exported = await surveyPersonalData.exportFor(respondent.id, db, {} as never)
  t.same(exported.find((s) => s.key === 'survey_answers')!.items, [], 'the export cannot find an anonymous answer either')
})

t.test('attributed survey: follow-ups for detractors, referral for promoters, ideas from text, results, CSV, activity', async (t) => {
  const { app, db } = await build(t)
  const { admin, member, regular, newbie } = await forum(app, db)
  const created = await admin.client.api('POST', '/api/v1/surveys', { title: 'Tell us, with your name', anonymous: false, closesAt: week(), questions: QUESTIONS })
  const id = created.data.id as number
  const detractor = await regular.client.api('POST', `/api/v1/surveys/${id}/answers`, { answers: { q1: 2, q2: 'Search never finds old threads', q4: 1 } })
  t.same(detractor.data, { promoter: false, nps: 2 })
  const bad = await newbie.client.api('POST', `/api/v1/surveys/${id}/answers`, { answers: { q1: 11, q3: 'Nope' } })
  t.same([bad.statusCode, bad.data.field], [400, 'q1'])
  // A promoter through the page form: thanked with their referral link.
  const csrf = await member.client.csrfFrom(`/surveys/${id}`)
  const form = await member.client.postForm(`/surveys/${id}`, { _csrf: csrf, q1: '10', q3: 'A friend', q4: '5' })
  t.equal(form.statusCode, 303)
  t.equal(form.headers.location, `/surveys/${id}?thanks=promoter`)
  const thanks = await member.client.get(form.headers.location as string)
  t.match(thanks.body, /Your personal invite link: <a href="\/r\/[A-Za-z0-9_-]+">/, 'promoters are invited to share their referral link')
  await app.hearth.relay.drain()

  const followups = await admin.client.api('GET', '/api/v1/surveys/followups')
  t.equal(followups.data.items.length, 1, 'one follow-up: the detractor')
  t.match(followups.data.items[0], { member: regular.username, score: 2, status: 'open', comments: ['Search never finds old threads'] })
  t.equal((await member.client.api('GET', '/api/v1/surveys/followups')).statusCode, 404, 'members do not see follow-ups')
  const marked = await admin.client.api('POST', `/api/v1/surveys/followups/${followups.data.items[0].id}`, { status: 'contacted', note: 'Wrote to them about search' })
  t.equal(marked.statusCode, 200)
  const log = await db.selectFrom('moderation_log').select(['action', 'reason']).where('action', '=', 'survey.followup').execute()
  t.same(log, [{ action: 'survey.followup', reason: 'Wrote to them about search' }], 'logged')

  const results = await admin.client.api('GET', `/api/v1/surveys/${id}/results`)
  t.equal(results.data.responses, 2)
  const npsItem = results.data.questions.find((q: { kind: string }) => q.kind === 'nps')
  t.match(npsItem.nps, { n: 2, promoters: 1, detractors: 1, score: 0, method: 'adjusted' })
  t.ok(npsItem.byTrust.length === 2, 'broken down by trust level')
  t.equal(results.data.questions.find((q: { kind: string }) => q.kind === 'csat').csat.percent, 50)
  const text = results.data.questions.find((q: { kind: string }) => q.kind === 'text')
  t.match(text.answers[0], { text: 'Search never finds old threads', author: regular.username })

  const idea = await admin.client.api('POST', `/api/v1/surveys/${id}/answers/${text.answers[0].responseId}/idea`, { question: 'q2' })
  t.equal(idea.statusCode, 201, idea.body)
  const row = await db.selectFrom('ideas').select(['title', 'body_md', 'survey_id']).where('id', '=', idea.data.ideaId).executeTakeFirstOrThrow()
  t.match(row, { title: 'Search never finds old threads', survey_id: id })
  t.match(row.body_md, new RegExp(`/surveys/${id}/results`), 'the idea links back to the survey')

  const csv = await admin.client.get(`/surveys/${id}/results.csv`)
  t.equal(csv.statusCode, 200)
  t.match(csv.body, /answered_on,trust_level,stage,member,How likely/)
  t.match(csv.body, new RegExp(`${regular.username},2,Search never finds old threads`))
  const page = await admin.client.get(`/surveys/${id}/results`)
  t.match(page.body, /<svg/, 'charts are server-rendered SVG')
  t.match(page.body, /95% interval/)

  const activity = await db.selectFrom('outbox').select('payload').where('type', '=', 'survey.answered').execute()
  t.equal(activity.length, 2, 'attributed answers feed the activity log')
  const logged = await db.selectFrom('activity_log').select(['user_id', 'kind']).where('kind', '=', 'survey_answer').execute()
  t.same(logged.map((l) => Number(l.user_id)).sort(), [member.id, regular.id].sort(), 'recorded as survey_answer activity')

  // Waves: a repeat of the survey is wave 2, and the trend lists both.
  const wave2 = await admin.client.api('POST', '/api/v1/surveys', { title: 'Tell us again', anonymous: false, closesAt: week(), questions: QUESTIONS, waveOf: id })
  await app.hearth.settings.set('survey_min_interval_days', 0)
  await newbie.client.api('POST', `/api/v1/surveys/${wave2.data.id}/answers`, { answers: { q1: 9 } })
  const trend = await admin.client.api('GET', `/api/v1/surveys/${wave2.data.id}/results`)
  t.same(trend.data.waves.map((w: { wave: number; nps: { n: number; score: number } }) => [w.wave, w.nps.n, w.nps.score]), [[1, 2, 0], [2, 1, 100]])
})

t.test('the frequency cap: invitations skip members surveyed recently; answering another survey within the interval is refused', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  const { admin, member } = await forum(app, db)
  const crowd = await members(app, db, 620, { trustLevel: 1 })
  const make = async (title: string, target: Record<string, unknown> = { kind: 'everyone' }) =>
    (await admin.client.api('POST', '/api/v1/surveys', { title, closesAt: week(), questions: QUESTIONS, target })).data.id as number

  // Survey A goes to everyone through the job, in batches of 500.
  const a = await make('First survey of the month')
  const countFor = async (s: number) => Number((await db.selectFrom('survey_invitations').select((eb) => eb.fn.countAll<number>().as('n')).where('survey_id', '=', s).executeTakeFirstOrThrow()).n)
  const everyone = Number((await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
  for (let i = 0; i < 100 && (await countFor(a)) < everyone; i++) await new Promise((r) => setTimeout(r, 100))
  t.equal(await countFor(a), everyone, `every member invited to A (${everyone}, over two batches)`)
  const notified = await db.selectFrom('notifications').select('user_id').where('kind', '=', 'survey.invited').execute()
  t.equal(notified.length, everyone, 'each told once by notification')
  t.equal(new Set(notified.map((n) => n.user_id)).size, everyone)

  // Survey B, a week later in the same 30-day window: nobody is invited again.
  const b = await make('Second survey of the month')
  await new Promise((r) => setTimeout(r, 1500))
  t.equal(await countFor(b), 0, 'invitations skip members surveyed within the interval')

  // A member answers A; answering B (in its target, not invited) is refused by the cap.
  t.equal((await crowd[0]!.client.api('POST', `/api/v1/surveys/${a}/answers`, { answers: { q1: 8 } })).statusCode, 201)
  const capped = await crowd[0]!.client.api('POST', `/api/v1/surveys/${b}/answers`, { answers: { q1: 8 } })
  t.equal(capped.statusCode, 409)
  t.match(capped.data.error, /at most once every 30 days/)
  t.equal((await crowd[1]!.client.api('POST', `/api/v1/surveys/${b}/answers`, { answers: { q1: 8 } })).statusCode, 201, 'a member who answered nothing recently may answer B')
  await app.hearth.settings.set('survey_min_interval_days', 0)
  t.equal((await crowd[0]!.client.api('POST', `/api/v1/surveys/${b}/answers`, { answers: { q1: 8 } })).statusCode, 201, 'with the cap off, B is open to them too')

  // Targets: a category's members (posted in it or watch it), a trust level.
  await app.hearth.settings.set('survey_min_interval_days', 30)
  await db.deleteFrom('survey_invitations').execute()
  const f = await db.selectFrom('categories').select(['id']).where('slug', '=', 'general').executeTakeFirstOrThrow()
  await startThread(member, f.id, 'A thread in General')
  await crowd[5]!.client.api('PUT', `/api/v1/categories/${f.id}/notification-level`, { level: 'watching' })
  const c = await make('For General', { kind: 'category', categoryId: f.id })
  for (let i = 0; i < 50 && (await countFor(c)) < 2; i++) await new Promise((r) => setTimeout(r, 100))
  const invitedC = (await db.selectFrom('survey_invitations').select('user_id').where('survey_id', '=', c).execute()).map((r) => Number(r.user_id)).sort()
  t.same(invitedC, [member.id, crowd[5]!.id].sort(), 'a category’s members: who posted in it or watch it')
  t.equal((await crowd[6]!.client.api('GET', `/api/v1/surveys/${c}`)).statusCode, 404, 'outside the target, the survey is not there')
  await worker.close()
})

t.test('invitations arrive by notification and by mail, through the real worker', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url, NOTIFICATION_MAIL_DELAY: '0' } })
  const { app, db } = testApp
  await startTestWorker(t, db, testApp.config)
  const { admin } = await forum(app, db)
  const invitee = await persona(app, db, { stem: 'invitee', trustLevel: 3 })
  const created = await admin.client.api('POST', '/api/v1/surveys', { title: 'A survey for trust level 3', closesAt: week(), questions: QUESTIONS, target: { kind: 'trust', trustLevel: 3 } })
  t.equal(created.statusCode, 201)
  const invited = (ms: typeof smtp.messages, address: string) => ms.some((m) => m.to.includes(address) && /A survey for trust level 3/.test(m.text ?? ''))
  await smtp.waitFor((ms) => invited(ms, invitee.email) && invited(ms, admin.email), 20_000)
  await new Promise((r) => setTimeout(r, 500))
  const mails = smtp.messages.filter((m) => /A survey for trust level 3/.test(m.text ?? ''))
  t.same(mails.flatMap((m) => m.to).sort(), [admin.email, invitee.email].sort(), 'mailed to the target (trust level 3 and above), each once')
  const mine = await invitee.client.api('GET', '/api/v1/surveys')
  t.same(mine.data.items.map((s: { title: string; answered: boolean }) => [s.title, s.answered]), [['A survey for trust level 3', false]], 'listed as theirs to answer')
})

t.test('staff close a survey early: no more answers, the answers given stay, logged once', async (t) => {
  const { app, db } = await build(t)
  const { admin, member, regular } = await forum(app, db)
  const created = await admin.client.api('POST', '/api/v1/surveys', { title: 'Quick pulse', anonymous: false, closesAt: week(), questions: QUESTIONS })
  const id = created.data.id as number
  t.equal((await regular.client.api('POST', `/api/v1/surveys/${id}/answers`, { answers: { q1: 9 } })).statusCode, 201)
  t.equal((await member.client.api('POST', `/api/v1/surveys/${id}/close`, {})).statusCode, 404, 'members cannot close surveys')

  // From the results page, as staff click it.
  const page = await admin.client.get(`/surveys/${id}/results`)
  t.match(page.body, /Close it now/)
  const csrf = await admin.client.csrfFrom(`/surveys/${id}/results`)
  const closed = await admin.client.postForm(`/surveys/${id}/close`, { _csrf: csrf })
  t.equal(closed.statusCode, 303)
  const after = await admin.client.get(closed.headers.location as string)
  t.match(after.body, /The survey is closed/)
  t.notMatch(after.body, /Close it now/, 'a closed survey offers no close button')
  t.match(after.body, /<strong>1<\/strong> answer\b/, 'the answer given stays')

  const late = await member.client.api('POST', `/api/v1/surveys/${id}/answers`, { answers: { q1: 10 } })
  t.equal(late.statusCode, 409, 'no answers after closing')
  t.same((await admin.client.api('POST', `/api/v1/surveys/${id}/close`, {})).data, { closed: false }, 'closing again changes nothing')
  const log = await db.selectFrom('moderation_log').select(['actor_id', 'action']).where('action', '=', 'survey.close').execute()
  t.same(log, [{ actor_id: admin.id, action: 'survey.close' }], 'logged once')

  // A scheduled survey closed before it opened is closed, not left waiting.
  const later = await admin.client.api('POST', '/api/v1/surveys', { title: 'Next month', anonymous: true, opensAt: new Date(Date.now() + 86_400_000).toISOString(), closesAt: week(), questions: QUESTIONS })
  t.same((await admin.client.api('POST', `/api/v1/surveys/${later.data.id}/close`, {})).data, { closed: true })
  t.match((await admin.client.get(`/surveys/${later.data.id}/results`)).body, /<span class="badge">closed<\/span>/, 'shown as closed')
})
