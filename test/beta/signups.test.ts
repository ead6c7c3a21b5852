import t from 'tap'
import { build } from '../helpers/app.js'
import { members } from '../helpers/members.js'
import { personas } from '../helpers/personas.js'

const QUESTIONS = [
  { id: 'os', label: 'Which system do you use?', type: 'single_choice', required: true, choices: ['Windows', 'macOS', 'Linux'] },
  { id: 'devices', label: 'Devices', type: 'multiple_choice', required: false, choices: ['Phone', 'Tablet', 'Desktop'] },
  { id: 'why', label: 'Why do you want in?', type: 'long_text', required: true },
  { id: 'nick', label: 'Nickname', type: 'short_text', required: false },
]
const GOOD = { os: 'Linux', devices: ['Phone'], why: 'I test everything.' }

t.test('500 members racing for 50 seats: 50 accepted, 450 waitlisted 1…450; 10 withdrawals promote exactly the next 10', async (t) => {
  const { app, db } = await build(t)
  const { admin } = await personas(app, db)
  const created = await admin.client.api('POST', '/api/v1/beta', { title: 'Desktop app beta', description: 'Try the *new* desktop app.', capacity: 50, questions: QUESTIONS })
  t.equal(created.statusCode, 201)
  const id = created.data.id as number
  const crowd = await members(app, db, 500)
  const seatEvents: number[] = []
  app.hearth.events.on('beta.seats', (e) => void seatEvents.push(e.data.seatsLeft as number))

  const answers = await Promise.all(crowd.map((m) => m.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: GOOD })))
  t.ok(answers.every((a) => a.statusCode === 201), 'every sign-up answered 201')
  const accepted = answers.filter((a) => a.data.status === 'accepted')
  const waitlisted = answers.filter((a) => a.data.status === 'waitlisted')
  t.equal(accepted.length, 50, 'exactly 50 seats given')
  t.equal(waitlisted.length, 450)
  t.same(waitlisted.map((a) => a.data.position).sort((a, b) => a - b), Array.from({ length: 450 }, (_, i) => i + 1), 'positions 1…450, unique and gapless')
  t.ok(accepted.every((a) => a.data.position === undefined), 'seat holders have no position')
  const program = await db.selectFrom('beta_programs').select(['seats_taken', 'waitlist_length']).where('id', '=', id).executeTakeFirstOrThrow()
  t.same(program, { seats_taken: 50, waitlist_length: 450 })
  await app.hearth.relay.drain()
  t.equal(Math.min(...seatEvents), 0)

  const again = await crowd[0]!.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { os: 'nope' } })
  t.equal(again.statusCode, 200, 'signing up twice is idempotent')
  t.same(again.data, { status: answers[0]!.data.status, statusLabel: answers[0]!.data.statusLabel, ...(answers[0]!.data.position ? { position: answers[0]!.data.position } : {}) })

  const byPosition = new Map(waitlisted.map((a) => [a.data.position as number, crowd[answers.indexOf(a)]!]))
  const holders = accepted.map((a) => crowd[answers.indexOf(a)]!)
  const withdrawn = await Promise.all(holders.slice(0, 10).map((m) => m.client.api('DELETE', `/api/v1/beta/${id}/signups/me`)))
  t.ok(withdrawn.every((w) => w.statusCode === 200 && w.data.status === 'withdrawn'), 'withdrawals answered')

  const rows = await db.selectFrom('beta_signups').select(['user_id', 'status', 'waitlist_position']).where('program_id', '=', id).execute()
  const status = new Map(rows.map((r) => [r.user_id, r]))
  const promoted = Array.from({ length: 10 }, (_, i) => byPosition.get(i + 1)!)
  t.ok(promoted.every((m) => status.get(m.id)!.status === 'accepted'), 'the first 10 on the waitlist now have seats')
  t.equal(rows.filter((r) => r.status === 'accepted').length, 50, 'still exactly 50 seats taken')
  t.same(
    rows.filter((r) => r.status === 'waitlisted').map((r) => r.waitlist_position).sort((a, b) => a! - b!),
    Array.from({ length: 440 }, (_, i) => i + 1),
    'the waitlist closed up: 1…440',
  )
  t.equal(status.get(byPosition.get(11)!.id)!.waitlist_position, 1, 'number 11 is now first in line')
  const told = await db.selectFrom('notifications').select('user_id').where('kind', '=', 'beta.promoted').execute()
  t.same(told.map((n) => n.user_id).sort((a, b) => a - b), promoted.map((m) => m.id).sort((a, b) => a - b), 'each promoted member notified once')
  t.same(await db.selectFrom('beta_programs').select(['seats_taken', 'waitlist_length']).where('id', '=', id).executeTakeFirstOrThrow(), { seats_taken: 50, waitlist_length: 440 })

  const mine = await byPosition.get(11)!.client.get(`/beta/${id}`)
  t.match(mine.body, /you are <strong>#1<\/strong> on the waitlist/, 'the member sees their place')
  t.match(mine.body, new RegExp(`data-beta-seats-for="${id}" id="seats-left">0<`))
  const repeat = await holders[0]!.client.api('DELETE', `/api/v1/beta/${id}/signups/me`)
  t.same([repeat.statusCode, repeat.data.status], [200, 'withdrawn'], 'withdrawing twice is harmless')
})

t.test('sign-up rules: window, eligibility, answers validated from the definition, guests, members-only', async (t) => {
  const { app, db } = await build(t)
  const { admin, newMember, regular, guest } = await personas(app, db)
  const hour = 60 * 60 * 1000
  const make = async (extra: Record<string, unknown>) =>
    (await admin.client.api('POST', '/api/v1/beta', { title: 'A beta program', capacity: 2, questions: QUESTIONS, ...extra })).data.id as number
  const later = await make({ opensAt: new Date(Date.now() + 48 * hour).toISOString() })
  const over = await make({ opensAt: new Date(Date.now() - 48 * hour).toISOString(), closesAt: new Date(Date.now() - hour).toISOString() })
  const trusted = await make({ minTrustLevel: 2 })
  const hidden = await make({ membersOnly: true })
  const open = await make({})
  const count = async () => Number((await db.selectFrom('beta_signups').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

  const notYet = await regular.client.api('POST', `/api/v1/beta/${later}/signups`, { answers: GOOD })
  t.equal(notYet.statusCode, 409)
  t.match(notYet.data.error, /Sign-ups for this beta open on/)
  const closed = await regular.client.api('POST', `/api/v1/beta/${over}/signups`, { answers: GOOD })
  t.match(closed.data.error, /Sign-ups for this beta closed on/)
  const low = await newMember.client.api('POST', `/api/v1/beta/${trusted}/signups`, { answers: GOOD })
  t.equal(low.statusCode, 403)
  t.match(low.data.error, /trust level 2 and above; you are at trust level 0/)
  t.equal((await regular.client.api('POST', `/api/v1/beta/${trusted}/signups`, { answers: GOOD })).data.status, 'accepted')

  t.equal((await guest.api('POST', `/api/v1/beta/${open}/signups`, { answers: GOOD })).statusCode, 401)
  t.equal((await guest.api('GET', `/api/v1/beta/${hidden}`)).statusCode, 404, 'members-only programs do not exist for guests')
  t.equal((await guest.get(`/beta/${hidden}`)).statusCode, 404)
  t.equal((await regular.client.get(`/beta/${hidden}`)).statusCode, 200)

  const before = await count()
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['missing required choice', { why: 'x' }, 'answers.os', /Answer "Which system do you use\?"/],
    ['choice not offered', { os: 'BeOS', why: 'x' }, 'answers.os', /Choose one of the offered answers/],
    ['multiple choice not offered', { os: 'Linux', why: 'x', devices: ['Phone', 'Toaster'] }, 'answers.devices', /offered answers/],
    ['missing required text', { os: 'Linux', why: '   ' }, 'answers.why', /Answer "Why do you want in\?"/],
    ['text too long', { os: 'Linux', why: 'x', nick: 'n'.repeat(201) }, 'answers.nick', /under 200/],
  ]
  for (const [name, answers, field, message] of cases) {
    const res = await regular.client.api('POST', `/api/v1/beta/${open}/signups`, { answers })
    t.same([res.statusCode, res.data.field], [400, field], name)
    t.match(res.data.error, message, name)
  }
  t.equal(await count(), before, 'bad answers save nothing')

  const form = await regular.client.submit(`/beta/${open}/signup`, { a_os: 'BeOS', a_why: 'Because', a_nick: 'kept nick' }, `/beta/${open}`)
  t.equal(form.statusCode, 400)
  t.match(form.body, /Choose one of the offered answers/)
  t.match(form.body, /value="kept nick"/, 'what was typed is kept')
  t.match(form.body, /Because<\/textarea>/)
  const ok = await regular.client.submit(`/beta/${open}/signup`, { a_os: 'macOS', a_why: 'Because', a_devices: 'Tablet' }, `/beta/${open}`)
  t.equal(ok.statusCode, 303)
  const saved = await db.selectFrom('beta_signups').select('answers').where('program_id', '=', open).where('user_id', '=', regular.id).executeTakeFirstOrThrow()
  t.same(saved.answers, { os: 'macOS', why: 'Because', devices: ['Tablet'] }, 'answers stored as validated')
  const page = await regular.client.get(`/beta/${open}`)
  t.match(page.body, /You are in: your seat is confirmed/)

  const windowForm = await regular.client.submit(`/beta/${later}/signup`, { a_os: 'Linux', a_why: 'x' }, `/beta/${later}`)
  t.equal(windowForm.statusCode, 409)
  t.match(windowForm.body, /Sign-ups for this beta open on/, 'the page explains the window')
})

t.test('admins create programs and review sign-ups; others get 404; CSV export is escaped and formula-safe', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular, newMember } = await personas(app, db)
  t.equal((await regular.client.get('/beta/new')).statusCode, 404, 'the admin form does not exist for members')
  t.equal((await regular.client.api('POST', '/api/v1/beta', { title: 'Nope', capacity: 3 })).statusCode, 403)

  const idea = await regular.client.api('POST', '/api/v1/ideas', { title: 'Tablet layout', body: 'Use the big screen.' })
  const bad = await admin.client.submit('/beta', { title: 'Tablet beta', capacity: '0', q1_label: 'Pick one', q1_type: 'single_choice', q1_choices: 'Only' }, '/beta/new')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /At least one seat|at least two different choices/)
  t.match(bad.body, /value="Pick one"/, 'question slots keep what was typed')
  const made = await admin.client.submit(
    '/beta',
    { title: 'Tablet beta', description: 'Help us **test**', capacity: '1', ideaId: String(idea.data.id), reviewMode: 'manual', q1_label: 'Your tablet', q1_type: 'short_text', q1_required: 'on' },
    '/beta/new',
  )
  t.equal(made.statusCode, 303)
  const id = Number(/\/beta\/(\d+)/.exec(made.headers.location as string)![1])
  const ideaPage = await regular.client.get(`/ideas/${idea.data.id}`)
  t.match(ideaPage.body, /Try it early[\s\S]*Tablet beta/, 'the linked idea shows its beta')

  const first = await regular.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { q1: '=HYPERLINK("http://evil.example","x")' } })
  t.same(first.data, { status: 'pending', statusLabel: 'Pending review' }, 'manual review: the seat is held pending')
  const second = await newMember.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { q1: 'iPad, "Pro", 2024\nwith pen' } })
  t.same([second.data.status, second.data.position], ['waitlisted', 1])

  t.equal((await regular.client.get(`/beta/${id}/manage`)).statusCode, 404)
  t.equal((await regular.client.get(`/beta/${id}/participants.csv`)).statusCode, 404)
  const manage = await admin.client.get(`/beta/${id}/manage`)
  t.match(manage.body, new RegExp(regular.username))
  t.match(manage.body, />Accept</)

  const accept = await admin.client.submit(`/beta/${id}/signups/${regular.id}/review`, { decision: 'accept' }, `/beta/${id}/manage`)
  t.equal(accept.statusCode, 303)
  const kinds = async (userId: number) => (await db.selectFrom('notifications').select('kind').where('user_id', '=', userId).execute()).map((n) => n.kind)
  t.same(await kinds(regular.id), ['beta.accepted'])
  const decline = await admin.client.api('POST', `/api/v1/beta/${id}/signups/${regular.id}/review`, { decision: 'decline', note: 'Sorry' })
  t.same(decline.data, { status: 'declined', statusLabel: 'Declined' })
  t.same(await kinds(regular.id), ['beta.accepted', 'beta.declined'])
  t.same(await kinds(newMember.id), ['beta.promoted'], 'the freed seat went to the waitlist')
  const promoted = await newMember.client.api('GET', `/api/v1/beta/${id}`)
  t.same(promoted.data.mine, { status: 'pending', statusLabel: 'Pending review' }, 'promoted into review in manual mode')
  const log = await db.selectFrom('moderation_log').select(['action', 'actor_id', 'reason']).where('target_type', '=', 'beta_signup').orderBy('id').execute()
  t.same(log, [{ action: 'beta.accept', actor_id: admin.id, reason: '' }, { action: 'beta.decline', actor_id: admin.id, reason: 'Sorry' }])
  const declinedAgain = await regular.client.api('POST', `/api/v1/beta/${id}/signups`, { answers: { q1: 'x' } })
  t.equal(declinedAgain.data.status, 'declined', 'a declined member signing up again sees the same state')

  const csv = await admin.client.get(`/beta/${id}/participants.csv`)
  t.match(csv.headers['content-type'], /text\/csv/)
  t.match(csv.headers['content-disposition'], /attachment; filename="beta-\d+-participants.csv"/)
  const lines = csv.body.split('\r\n')
  t.equal(lines[0], 'username,email,status,waitlist position,signed up at,Your tablet')
  t.match(csv.body, /,"iPad, ""Pro"", 2024\nwith pen"\r\n/, 'quotes, commas and newlines are quoted')
  t.match(csv.body, /,"'=HYPERLINK\(""http:\/\/evil.example"",""x""\)"\r\n/, 'a formula is neutralised with a leading quote')
})
