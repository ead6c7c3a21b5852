import t from 'tap'
import { build } from '../helpers/app.js'
import { forum } from '../helpers/forum.js'
import { members } from '../helpers/members.js'

const HOUR = 3_600_000
const inHours = (h: number) => new Date(Date.now() + h * HOUR).toISOString()

t.test('500 members racing for 50 seats: exactly 50 going, a gapless waitlist 1…450; withdrawals promote the next in line, told once', async (t) => {
  const { app, db } = await build(t)
  const { admin, cats } = await forum(app, db)
  const created = await admin.client.api('POST', '/api/v1/events', {
    title: 'Launch party',
    body: 'Come *celebrate*.',
    categoryId: cats.open.id,
    timeZone: 'Europe/Berlin',
    startsAt: inHours(48),
    endsAt: inHours(51),
    capacity: 50,
    location: 'Hall 3, Main Street 1',
  })
  t.equal(created.statusCode, 201, created.body)
  const id = created.data.id as number
  const occurrenceId = created.data.occurrence.id as number
  t.ok(created.data.threadId, 'the event has a discussion thread')
  const seatEvents: (number | null)[] = []
  app.hearth.events.on('event.seats', (e) => void seatEvents.push(e.data.seatsLeft as number | null))

  const crowd = await members(app, db, 500)
  const answers = await Promise.all(crowd.map((m) => m.client.api('PUT', `/api/v1/events/${id}/rsvp`, { status: 'going' })))
  t.ok(answers.every((a) => a.statusCode === 200), `every RSVP answered 200 (${[...new Set(answers.map((a) => a.statusCode))]})`)
  const going = answers.filter((a) => a.data.status === 'going')
  const waitlisted = answers.filter((a) => a.data.status === 'waitlisted')
  t.equal(going.length, 50, 'exactly 50 going')
  t.equal(waitlisted.length, 450)
  t.same(waitlisted.map((a) => a.data.position).sort((a, b) => a - b), Array.from({ length: 450 }, (_, i) => i + 1), 'positions 1…450, unique and gapless')
  t.same(await db.selectFrom('event_occurrences').select(['seats_taken', 'waitlist_length']).where('id', '=', occurrenceId).executeTakeFirstOrThrow(), { seats_taken: 50, waitlist_length: 450 })
  await app.hearth.relay.drain()
  t.equal(Math.min(...(seatEvents as number[])), 0, 'the live seat count reached 0')

  const byPosition = new Map(waitlisted.map((a) => [a.data.position as number, crowd[answers.indexOf(a)]!]))
  const holders = going.map((a) => crowd[answers.indexOf(a)]!)
  const again = await holders[0]!.client.api('PUT', `/api/v1/events/${id}/rsvp`, { status: 'going' })
  t.same([again.statusCode, again.data.status], [200, 'going'], 'answering the same again changes nothing')

  // 10 seat holders withdraw while 10 waitlisted members also leave the line, all at once.
  const leaving = [...holders.slice(0, 10).map((m) => m.client.api('DELETE', `/api/v1/events/${id}/rsvp`)), ...[100, 200, 300, 400, 450, 101, 201, 301, 401, 449].map((p) => byPosition.get(p)!.client.api('PUT', `/api/v1/events/${id}/rsvp`, { status: 'not_going' }))]
  const results = await Promise.all(leaving)
  t.ok(results.every((r) => r.statusCode === 200 && r.data.status === 'not_going'), 'withdrawals answered')
  const rows = await db.selectFrom('event_rsvps').select(['user_id', 'status', 'waitlist_position']).where('occurrence_id', '=', occurrenceId).execute()
  const status = new Map(rows.map((r) => [r.user_id, r]))
  const promoted = Array.from({ length: 10 }, (_, i) => byPosition.get(i + 1)!)
  t.ok(promoted.every((m) => status.get(m.id)!.status === 'going'), 'the first 10 in line now have seats')
  t.equal(rows.filter((r) => r.status === 'going').length, 50, 'still exactly 50 going')
  t.same(
    rows.filter((r) => r.status === 'waitlisted').map((r) => r.waitlist_position).sort((a, b) => a! - b!),
    Array.from({ length: 430 }, (_, i) => i + 1),
    'the waitlist closed up: 1…430',
  )
  t.same(await db.selectFrom('event_occurrences').select(['seats_taken', 'waitlist_length']).where('id', '=', occurrenceId).executeTakeFirstOrThrow(), { seats_taken: 50, waitlist_length: 430 })
  const told = await db.selectFrom('notifications').select('user_id').where('kind', '=', 'event.promoted').execute()
  t.same(told.map((n) => n.user_id).sort((a, b) => a - b), promoted.map((m) => m.id).sort((a, b) => a - b), 'each promoted member notified once')

  const page = await byPosition.get(11)!.client.get(`/events/${id}`)
  t.match(page.body, /you are <strong>#1<\/strong> on the waitlist/, 'number 11 is now first in line, and sees it')
  t.match(page.body, new RegExp(`data-event-seats-for="${occurrenceId}" id="seats-left">0<`))
})

t.test('guests count against capacity; a party that does not fit waits; the line never skips anyone', async (t) => {
  const { app, db } = await build(t)
  const { admin, member, regular, newbie, cats } = await forum(app, db)
  const made = await admin.client.api('POST', '/api/v1/events', { title: 'Small workshop', categoryId: cats.open.id, timeZone: 'UTC', startsAt: inHours(24), endsAt: inHours(26), capacity: 4, maxGuests: 2 })
  const id = made.data.id as number
  const put = (who: typeof member, body: Record<string, unknown>) => who.client.api('PUT', `/api/v1/events/${id}/rsvp`, body)
  t.same((await put(member, { status: 'going', guests: 2 })).data, { status: 'going', statusLabel: 'Going', guests: 2, occurrenceId: made.data.occurrence.id })
  const tooMany = await put(regular, { status: 'going', guests: 3 })
  t.same([tooMany.statusCode, tooMany.data.field], [400, 'guests'], 'more guests than allowed is refused on the field')
  t.equal((await put(regular, { status: 'going', guests: 2 })).data.status, 'waitlisted', '3 seats do not fit in the 1 left: waitlisted')
  t.equal((await put(newbie, { status: 'going' })).data.status, 'waitlisted', 'a single seat is free, but the line does not skip the party ahead')
  t.equal((await put(member, { status: 'going', guests: 0 })).data.status, 'going', 'the first member brings fewer guests')
  const rows = await db.selectFrom('event_rsvps').select(['user_id', 'status', 'waitlist_position']).execute()
  const statusOf = new Map(rows.map((r) => [r.user_id, r.status]))
  t.same([statusOf.get(member.id), statusOf.get(regular.id), statusOf.get(newbie.id)], ['going', 'going', 'waitlisted'], 'the party of 3 got in when seats freed; the single member is now first in line')
  t.equal(rows.find((r) => r.user_id === newbie.id)!.waitlist_position, 1)
  t.same(await db.selectFrom('event_occurrences').select(['seats_taken', 'waitlist_length']).executeTakeFirstOrThrow(), { seats_taken: 4, waitlist_length: 1 })
  const over = await db.updateTable('event_occurrences').set({ seats_taken: 5 }).execute().catch((e: Error) => e)
  t.match(String(over), /event_occurrences_no_overbooking/, 'the check constraint refuses overbooking whatever the code does')
})

t.test('visibility: an event in a members-only category is 404 to guests, in lists, the API, feeds and RSVPs', async (t) => {
  const { app, db } = await build(t)
  const { admin, member, cats } = await forum(app, db)
  const hidden = await admin.client.api('POST', '/api/v1/events', { title: 'Members meetup', categoryId: cats.members.id, timeZone: 'UTC', startsAt: inHours(24), endsAt: inHours(25) })
  const trusted = await admin.client.api('POST', '/api/v1/events', { title: 'Inner circle dinner', categoryId: cats.trusted.id, timeZone: 'UTC', startsAt: inHours(24), endsAt: inHours(25) })
  const { Client } = await import('../helpers/client.js')
  const guest = new Client(app)
  t.equal((await guest.get(`/events/${hidden.data.id}`)).statusCode, 404)
  t.equal((await guest.api('GET', `/api/v1/events/${hidden.data.id}`)).statusCode, 404)
  t.equal((await member.client.api('GET', `/api/v1/events/${hidden.data.id}`)).statusCode, 200, 'a member sees it')
  t.equal((await member.client.api('GET', `/api/v1/events/${trusted.data.id}`)).statusCode, 404, 'trust level 1 does not see the TL2 category')
  const rsvp = await member.client.api('PUT', `/api/v1/events/${trusted.data.id}/rsvp`, { status: 'going' })
  t.equal(rsvp.statusCode, 404, 'nor RSVP to it')
  t.notMatch((await guest.get('/events')).body, /Members meetup/)
  const listed = await member.client.get('/events')
  t.match(listed.body, /Members meetup/, String(listed.statusCode))
  t.equal((await guest.get(`/events/feeds/c/${cats.members.slug}.ics`)).statusCode, 404)
  t.match((await member.client.get('/')).body, /Upcoming events[\s\S]*Members meetup/, 'the home page lists upcoming events the reader may see')
  t.notMatch((await guest.get('/')).body, /Members meetup/, 'and not the others')
  const refused = await member.client.api('POST', '/api/v1/events', { title: 'My own event', categoryId: cats.open.id, timeZone: 'UTC', startsAt: inHours(24), endsAt: inHours(25) })
  t.equal(refused.statusCode, 403, 'members do not create events')
  // An admin changing an event they do not host is in the moderation log; a host's own edit is not.
  await admin.client.api('PATCH', `/api/v1/events/${hidden.data.id}`, { title: 'Members meetup (edited)' })
  t.equal((await db.selectFrom('moderation_log').select('id').where('action', '=', 'event.edit').execute()).length, 0, 'a host’s edit is not a staff action')
  await db.deleteFrom('event_hosts').where('event_id', '=', hidden.data.id).execute()
  await admin.client.api('POST', `/api/v1/events/${hidden.data.id}/cancel`, { reason: 'Venue closed' })
  const logged = await db.selectFrom('moderation_log').select(['action', 'target_type', 'target_id', 'reason', 'category_id']).where('action', 'like', 'event.%').execute()
  t.same(logged, [{ action: 'event.cancel', target_type: 'event', target_id: String(hidden.data.id), reason: 'Venue closed', category_id: cats.members.id }], 'cancelling an event one does not host is logged')
  t.match((await member.client.get('/mod/log')).body, /cancelled the event/, 'and shows in the moderation log to those who may see the category')
  t.notMatch((await guest.get('/mod/log')).body, /cancelled the event/, 'but not to guests')
  const bad = await admin.client.api('POST', '/api/v1/events', { title: 'Zone', categoryId: cats.open.id, timeZone: 'Mars/Olympus', startsAt: inHours(24), endsAt: inHours(25) })
  t.same([bad.statusCode, bad.data.field], [400, 'timeZone'])
  const backwards = await admin.client.api('POST', '/api/v1/events', { title: 'Backwards', categoryId: cats.open.id, timeZone: 'UTC', startsAt: inHours(24), endsAt: inHours(23) })
  t.same([backwards.statusCode, backwards.data.field], [400, 'endsAt'])
})

t.test('hosts: edit, move (attendees told), cancel; check-in feeds the activity log; rating after the end', async (t) => {
  const { app, db } = await build(t)
  const { admin, member, regular, newbie, cats } = await forum(app, db)
  const made = await admin.client.api('POST', '/api/v1/events', {
    title: 'Book club',
    categoryId: cats.open.id,
    timeZone: 'Europe/Berlin',
    startsAt: inHours(30),
    endsAt: inHours(32),
    capacity: 10,
    hosts: [regular.username],
    onlineUrl: 'https://meet.example.test/room',
    questions: [{ id: 'book', label: 'Which book?', type: 'short_text', required: true }],
  })
  t.equal(made.statusCode, 201, made.body)
  const id = made.data.id as number
  const occ = made.data.occurrence.id as number
  t.equal((await member.client.api('GET', `/api/v1/events/${id}`)).data.onlineUrl, null, 'the online link is hidden before RSVPing')
  const missing = await member.client.api('PUT', `/api/v1/events/${id}/rsvp`, { status: 'going' })
  t.same([missing.statusCode, missing.data.field], [400, 'answers.book'], 'required questions are checked')
  await member.client.api('PUT', `/api/v1/events/${id}/rsvp`, { status: 'going', answers: { book: 'Dune' } })
  t.equal((await member.client.api('GET', `/api/v1/events/${id}`)).data.onlineUrl, 'https://meet.example.test/room', 'going: the link shows')

  t.equal((await newbie.client.api('PATCH', `/api/v1/events/${id}`, { title: 'Mine now' })).statusCode, 403, 'a member who is not a host cannot edit')
  const moved = await regular.client.api('PATCH', `/api/v1/events/${id}`, { startsAt: inHours(54), endsAt: inHours(56) })
  t.equal(moved.statusCode, 200, 'a host can edit')
  t.equal(moved.data.moved, 1)
  const changed = await db.selectFrom('notifications').select(['user_id', 'kind']).where('kind', '=', 'event.changed').execute()
  t.same(changed.map((n) => n.user_id), [member.id], 'the member going was told it moved')

  const checkIn = await regular.client.api('PUT', `/api/v1/events/${id}/dates/${occ}/check-ins/${member.id}`)
  t.same(checkIn.data, { userId: member.id, checkedIn: true })
  t.equal((await newbie.client.api('PUT', `/api/v1/events/${id}/dates/${occ}/check-ins/${member.id}`)).statusCode, 403)
  t.equal((await regular.client.api('PUT', `/api/v1/events/${id}/dates/${occ}/check-ins/${newbie.id}`)).statusCode, 404, 'someone not going cannot be checked in')
  await app.hearth.relay.drain()
  const acts = await db.selectFrom('activity_log').select(['user_id', 'kind', 'subject_id']).where('kind', 'in', ['event_rsvp', 'event_attended']).orderBy('kind').execute()
  t.same(acts, [{ user_id: member.id, kind: 'event_attended', subject_id: occ }, { user_id: member.id, kind: 'event_rsvp', subject_id: occ }], 'RSVP and attendance are in the activity log')
  const list = await regular.client.get(`/events/${id}/dates/${occ}/check-in`)
  t.match(list.body, /Which book\?: Dune/, 'the check-in list shows the answers')

  t.equal((await member.client.api('POST', `/api/v1/events/${id}/rating`, { rating: 5 })).statusCode, 409, 'no rating before it happened')
  await db.updateTable('event_occurrences').set({ starts_at: new Date(Date.now() - 3 * HOUR), ends_at: new Date(Date.now() - HOUR) }).where('id', '=', occ).execute()
  const rated = await member.client.api('POST', `/api/v1/events/${id}/rating`, { rating: 4 })
  t.same(rated.data, { occurrenceId: occ, rating: 4 })
  t.equal((await member.client.api('POST', `/api/v1/events/${id}/rating`, { rating: 9 })).data.field, 'rating')
  t.equal((await newbie.client.api('POST', `/api/v1/events/${id}/rating`, { rating: 1 })).statusCode, 409, 'only people who went rate')
  const recap = await app.hearth.meetups.sendRecap(occ)
  t.same(recap, { sent: 1 })
  t.same(await app.hearth.meetups.sendRecap(occ), { sent: 0 }, 'the recap goes out once')

  const cancelMade = await admin.client.api('POST', '/api/v1/events', { title: 'Picnic', categoryId: cats.open.id, timeZone: 'UTC', startsAt: inHours(10), endsAt: inHours(12) })
  await newbie.client.api('PUT', `/api/v1/events/${cancelMade.data.id}/rsvp`, { status: 'interested' })
  const cancelled = await admin.client.api('POST', `/api/v1/events/${cancelMade.data.id}/cancel`, { reason: 'Rain' })
  t.equal(cancelled.data.cancelled, true)
  const told = await db.selectFrom('notifications').select(['user_id']).where('kind', '=', 'event.cancelled').execute()
  t.same(told.map((n) => n.user_id), [newbie.id], 'the interested member was told of the cancellation')
  t.equal((await newbie.client.api('PUT', `/api/v1/events/${cancelMade.data.id}/rsvp`, { status: 'going' })).statusCode, 409, 'no RSVPs to a cancelled event')
})
