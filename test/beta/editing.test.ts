import t from 'tap'
import type { Db } from '../../src/core/db.js'
import { build } from '../helpers/app.js'
import { members } from '../helpers/members.js'
import { personas } from '../helpers/personas.js'

const QUESTIONS = [
  { id: 'os', label: 'Which system do you use?', type: 'single_choice', required: true, choices: ['Windows', 'macOS', 'Linux'] },
  { id: 'why', label: 'Why do you want in?', type: 'long_text', required: false },
]
const PROGRAM = { title: 'Desktop app beta', description: 'Try the new desktop app.', capacity: 2, questions: QUESTIONS }

async function signups(db: Db, programId: number) {
  return db
    .selectFrom('beta_signups')
    .select(['user_id', 'status', 'waitlist_position', 'answers'])
    .where('program_id', '=', programId)
    .orderBy('id')
    .execute()
}

async function counts(db: Db, programId: number) {
  return db.selectFrom('beta_programs').select(['capacity', 'seats_taken', 'waitlist_length']).where('id', '=', programId).executeTakeFirstOrThrow()
}

t.test('editing a program: admins only, logged; capacity lets the waitlist in, in order, and never drops below seats held', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular, guest } = await personas(app, db)
  const id = (await admin.client.api('POST', '/api/v1/beta', PROGRAM)).data.id as number
  const crowd = await members(app, db, 5)
  for (const m of crowd) await m.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { os: 'Linux' } })
  t.same(await counts(db, id), { capacity: 2, seats_taken: 2, waitlist_length: 3 })

  t.equal((await regular.client.api('PATCH', `/api/v1/beta/${id}`, { ...PROGRAM, capacity: 10 })).statusCode, 404, 'a member: there is no such thing to edit')
  t.equal((await guest.api('PATCH', `/api/v1/beta/${id}`, { ...PROGRAM, capacity: 10 })).statusCode, 401)
  t.equal((await regular.client.get(`/beta/${id}/edit`)).statusCode, 404)

  const lower = await admin.client.api('PATCH', `/api/v1/beta/${id}`, { ...PROGRAM, capacity: 1 })
  t.same([lower.statusCode, lower.data.field], [400, 'capacity'], 'capacity cannot drop below the seats held')
  t.match(lower.data.error, /2 testers already hold seats/)
  t.same(await counts(db, id), { capacity: 2, seats_taken: 2, waitlist_length: 3 }, 'nothing changed')

  const raised = await admin.client.api('PATCH', `/api/v1/beta/${id}`, { ...PROGRAM, title: 'Desktop app beta 2', capacity: 4 })
  t.equal(raised.statusCode, 200)
  t.same([raised.data.title, raised.data.capacity, raised.data.seatsLeft, raised.data.waitlisted, raised.data.promoted], ['Desktop app beta 2', 4, 0, 1, 2])
  const rows = await signups(db, id)
  t.same(
    rows.map((r) => [r.user_id, r.status, r.waitlist_position]),
    [
      [crowd[0]!.id, 'accepted', null],
      [crowd[1]!.id, 'accepted', null],
      [crowd[2]!.id, 'accepted', null],
      [crowd[3]!.id, 'accepted', null],
      [crowd[4]!.id, 'waitlisted', 1],
    ],
    'the first two on the waitlist got the new seats; the last moved up to #1',
  )
  const told = await db.selectFrom('notifications').select('user_id').where('kind', '=', 'beta.promoted').orderBy('user_id').execute()
  t.same(told.map((n) => n.user_id), [crowd[2]!.id, crowd[3]!.id], 'each promoted member is told')
  t.same(await counts(db, id), { capacity: 4, seats_taken: 4, waitlist_length: 1 })

  t.equal((await admin.client.api('PATCH', `/api/v1/beta/${id}`, { description: 'Try the new desktop app, now on Linux too.' })).statusCode, 200, 'a partial edit keeps the rest')
  t.same(await counts(db, id), { capacity: 4, seats_taken: 4, waitlist_length: 1 })
  const log = await db.selectFrom('moderation_log').select(['action', 'target_type', 'target_id', 'details']).where('action', '=', 'beta.edit').orderBy('id').execute()
  t.equal(log.length, 2, 'every edit is logged')
  t.same(log.map((l) => l.details.changed), [['title', 'capacity'], ['description']], 'with what changed')
  t.match(log[0], { target_type: 'beta_program', target_id: String(id), details: { capacity: { from: 2, to: 4 }, promoted: 2 } })
  const modLog = await regular.client.get('/mod/log')
  t.match(modLog.body, new RegExp(`edited the beta program <a href="/beta/${id}">“Desktop app beta 2”</a>`), 'the public log names the program')
})

t.test('editing questions keeps existing answers meaningful', async (t) => {
  const { app, db } = await build(t)
  const { admin } = await personas(app, db)
  const id = (await admin.client.api('POST', '/api/v1/beta', { ...PROGRAM, capacity: 10 })).data.id as number
  const [a, b] = await members(app, db, 2)
  await a!.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { os: 'Linux', why: 'I test everything.' } })
  await b!.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { os: 'macOS' } })
  const stored = async () => (await db.selectFrom('beta_programs').select('questions').where('id', '=', id).executeTakeFirstOrThrow()).questions
  const before = await stored()
  const edit = (questions: unknown[]) => admin.client.api('PATCH', `/api/v1/beta/${id}`, { ...PROGRAM, capacity: 10, questions })
  const [os, why] = QUESTIONS

  const removed = await edit([os])
  t.same([removed.statusCode, removed.data.field], [400, 'questions'])
  t.match(removed.data.error, /"Why do you want in\?" already has answers, so it cannot be removed/)
  const retyped = await edit([{ ...os, type: 'short_text', choices: [] }, why])
  t.match(retyped.data.error, /its kind of answer cannot change/)
  const toMultiple = await edit([{ ...os, type: 'multiple_choice' }, why])
  t.equal(toMultiple.statusCode, 400, 'single to multiple choice would change what answers mean')
  const dropped = await edit([{ ...os, choices: ['Windows', 'Linux'] }, why])
  t.match(dropped.data.error, /Members already picked "macOS" for "Which system do you use\?"/)
  t.same(await stored(), before, 'refused edits changed nothing')

  const fine = await edit([
    { ...os, label: 'Which operating system do you use?', choices: ['macOS', 'Linux', 'ChromeOS'] },
    { ...why, required: true },
    { id: 'nick', label: 'Nickname', type: 'short_text' },
  ])
  t.equal(fine.statusCode, 200, 'labels, required, an unused choice dropped, new choices and new questions are fine')
  t.same(fine.data.questions.map((q: { id: string }) => q.id), ['os', 'why', 'nick'])
  const rows = await signups(db, id)
  t.same(rows.map((r) => r.answers), [{ os: 'Linux', why: 'I test everything.' }, { os: 'macOS' }], 'answers are untouched')
  const csv = await admin.client.get(`/beta/${id}/participants.csv`)
  t.match(csv.body, /Which operating system do you use\?/)
  t.match(csv.body, /I test everything\./, 'the CSV still shows them under the edited questions')

  // Before anyone answers a question, anything goes.
  const fresh = (await admin.client.api('POST', '/api/v1/beta', { ...PROGRAM, capacity: 10 })).data.id as number
  const free = await admin.client.api('PATCH', `/api/v1/beta/${fresh}`, { ...PROGRAM, capacity: 10, questions: [{ ...os, type: 'short_text', choices: [] }] })
  t.equal(free.statusCode, 200)
})

t.test('the edit form: questions keep their ids, new ones get free ids, errors come back', async (t) => {
  const { app, db } = await build(t)
  const { admin } = await personas(app, db)
  const id = (await admin.client.api('POST', '/api/v1/beta', { ...PROGRAM, capacity: 3 })).data.id as number
  const [a] = await members(app, db, 1)
  await a!.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { os: 'Linux' } })
  const form = await admin.client.get(`/beta/${id}/edit`)
  t.equal(form.statusCode, 200)
  t.match(form.body, /<input type="hidden" name="q1_id" value="os">/)
  t.match(form.body, /<input type="hidden" name="q2_id" value="why">/)
  t.match(form.body, /value="Desktop app beta"/)
  t.match(form.body, /name="capacity" type="number" value="3"/)
  t.match(form.body, />Windows\nmacOS\nLinux<\/textarea>/)
  t.match(form.body, /name="q5_label"/, 'spare slots for new questions')

  const fields = {
    title: 'Desktop app beta',
    description: 'Try the new desktop app.',
    capacity: '0',
    minTrustLevel: '0',
    reviewMode: 'auto',
    opensAt: '2026-01-01T00:00',
    q1_id: 'os', q1_label: 'Which system do you use?', q1_type: 'single_choice', q1_choices: 'Windows\nmacOS\nLinux', q1_required: 'on',
    q2_id: 'why', q2_label: 'Why do you want in?', q2_type: 'long_text',
    q3_label: 'Which GPU?', q3_type: 'short_text',
  }
  const bad = await admin.client.submit(`/beta/${id}/edit`, fields, `/beta/${id}/edit`)
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /At least one seat/)
  t.match(bad.body, /value="Which GPU\?"/, 'what was typed comes back')
  const saved = await admin.client.submit(`/beta/${id}/edit`, { ...fields, capacity: '5' }, `/beta/${id}/edit`)
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, `/beta/${id}/manage?saved=1`)
  const questions = (await db.selectFrom('beta_programs').select('questions').where('id', '=', id).executeTakeFirstOrThrow()).questions as { id: string; label: string }[]
  t.same(questions.map((q) => q.id), ['os', 'why', 'q3'])
  t.match((await admin.client.get(saved.headers.location as string)).body, /The program is saved/)
})

t.test('closing and reopening sign-ups', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular, guest } = await personas(app, db)
  const id = (await admin.client.api('POST', '/api/v1/beta', { ...PROGRAM, capacity: 1 })).data.id as number
  const [first, second, third] = await members(app, db, 3)
  await first!.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { os: 'Linux' } })
  await second!.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { os: 'Linux' } })

  t.equal((await regular.client.api('POST', `/api/v1/beta/${id}/close`, {})).statusCode, 404, 'members cannot close programs')
  const closed = await admin.client.api('POST', `/api/v1/beta/${id}/close`, { reason: 'Enough testers for now' })
  t.equal(closed.statusCode, 200)
  t.same([closed.data.phase, closed.data.phaseLabel, closed.data.closedByHand], ['closed', 'Closed', true])
  const refused = await third!.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { os: 'Linux' } })
  t.equal(refused.statusCode, 409, 'no new sign-ups')
  t.match(refused.data.error, /closed/)
  const page = await guest.get(`/beta/${id}`)
  t.match(page.body, /<strong>Sign-ups are closed.<\/strong> The team closed them/, 'the page says so')
  t.notMatch(page.body, /Join the waitlist/)

  // Existing sign-ups carry on: a withdrawal still lets the waitlist in.
  await first!.client.api('DELETE', `/api/v1/beta/${id}/signups/me`)
  t.equal((await signups(db, id)).find((s) => s.user_id === second!.id)!.status, 'accepted', 'the waitlist still moves while closed')
  t.equal((await admin.client.api('POST', `/api/v1/beta/${id}/close`, {})).statusCode, 200, 'closing twice is harmless')

  const manage = await admin.client.get(`/beta/${id}/manage`)
  t.match(manage.body, /Reopen sign-ups/)
  const reopened = await admin.client.submit(`/beta/${id}/reopen`, {}, `/beta/${id}/manage`)
  t.equal(reopened.statusCode, 303)
  t.equal((await third!.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { os: 'Linux' } })).statusCode, 201, 'reopened: sign-ups again')
  t.match((await admin.client.get(`/beta/${id}/manage`)).body, /Close sign-ups/)

  // A program whose scheduled close has passed reopens for real.
  const past = (await admin.client.api('POST', '/api/v1/beta', { ...PROGRAM, capacity: 5, opensAt: '2020-01-01T00:00:00Z', closesAt: '2020-02-01T00:00:00Z' })).data.id as number
  const again = await admin.client.api('POST', `/api/v1/beta/${past}/reopen`, {})
  t.same([again.data.phase, again.data.closesAt], ['open', null])

  const log = await db.selectFrom('moderation_log').select(['action', 'reason']).where('action', 'in', ['beta.close', 'beta.reopen']).orderBy('id').execute()
  t.same(log, [{ action: 'beta.close', reason: 'Enough testers for now' }, { action: 'beta.reopen', reason: '' }, { action: 'beta.reopen', reason: '' }], 'each change is logged once')
  t.match((await regular.client.get('/mod/log')).body, /closed the sign-ups of the beta program/)
})

t.test('raising capacity while members sign up and withdraw: seats and waitlist stay exact', async (t) => {
  const { app, db } = await build(t)
  const { admin } = await personas(app, db)
  const id = (await admin.client.api('POST', '/api/v1/beta', { ...PROGRAM, capacity: 10 })).data.id as number
  const crowd = await members(app, db, 80)
  await Promise.all(crowd.slice(0, 40).map((m) => m.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { os: 'Linux' } })))
  const racing = await Promise.all([
    ...[15, 20, 25, 30].map((capacity) => admin.client.api('PATCH', `/api/v1/beta/${id}`, { ...PROGRAM, capacity })),
    ...crowd.slice(40).map((m) => m.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { os: 'Linux' } })),
    ...crowd.slice(0, 10).map((m) => m.client.api('DELETE', `/api/v1/beta/${id}/signups/me`)),
  ])
  const [edits, rest] = [racing.slice(0, 4), racing.slice(4)]
  t.ok(rest.every((r) => r.statusCode < 300), 'every sign-up and withdrawal answered')
  // An edit that lands after a larger one would take seats away: it is refused, never applied.
  t.ok(edits.every((r) => r.statusCode === 200 || (r.statusCode === 400 && r.data.field === 'capacity')), 'every edit saved or refused for capacity')
  t.ok(edits.some((r) => r.statusCode === 200))
  const rows = await signups(db, id)
  const program = await counts(db, id)
  const seated = rows.filter((r) => r.status === 'accepted' || r.status === 'pending').length
  const waiting = rows.filter((r) => r.status === 'waitlisted').map((r) => r.waitlist_position!).sort((a, b) => a - b)
  t.equal(program.seats_taken, seated, 'seats taken = members seated')
  t.ok(program.seats_taken <= program.capacity, 'never overbooked')
  t.equal(program.waitlist_length, waiting.length)
  t.same(waiting, Array.from({ length: waiting.length }, (_, i) => i + 1), 'waitlist positions gapless')
  if (waiting.length > 0) t.equal(program.seats_taken, program.capacity, 'nobody waits while a seat is free')
})
