import ICAL from 'ical.js'
import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum } from '../helpers/forum.js'

/** Parses an ICS text back with ical.js, registering its VTIMEZONEs, and lists its events. */
function parseIcs(text: string) {
  const calendar = new ICAL.Component(ICAL.parse(text))
  for (const tz of calendar.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(tz)
  const events = calendar.getAllSubcomponents('vevent').map((v) => {
    const e = new ICAL.Event(v)
    return {
      uid: e.uid,
      summary: e.summary,
      tzid: v.getFirstProperty('dtstart')!.getParameter('tzid'),
      start: e.startDate.toJSDate().toISOString(),
      end: e.endDate.toJSDate().toISOString(),
      localHour: e.startDate.hour,
      status: v.getFirstPropertyValue('status'),
      location: e.location,
    }
  })
  return { calendar, events, zones: calendar.getAllSubcomponents('vtimezone').map((z) => z.getFirstPropertyValue('tzid')) }
}

t.test('a weekly Berlin series across the March DST change keeps 19:00 local; the ICS says so, parsed back with ical.js', async (t) => {
  const { app, db } = await build(t)
  const { admin, member, cats } = await forum(app, db)
  // Thursdays at 19:00 in Berlin from 18 March 2027; clocks go forward on Sunday 28 March 2027.
  const made = await admin.client.api('POST', '/api/v1/events', {
    title: 'Thursday meetup',
    categoryId: cats.open.id,
    timeZone: 'Europe/Berlin',
    startsAt: '2027-03-18T19:00',
    endsAt: '2027-03-18T21:30',
    recurrence: 'weekly',
    location: 'Café Hearth, Berlin',
  })
  t.equal(made.statusCode, 201, made.body)
  const id = made.data.id as number
  const stored = await db.selectFrom('event_occurrences').select(['seq', 'starts_at', 'ends_at']).where('event_id', '=', id).orderBy('seq').execute()
  t.ok(stored.length >= 8, `a horizon of dates was generated (${stored.length})`)
  t.same(
    stored.slice(0, 4).map((o) => o.starts_at.toISOString()),
    ['2027-03-18T18:00:00.000Z', '2027-03-25T18:00:00.000Z', '2027-04-01T17:00:00.000Z', '2027-04-08T17:00:00.000Z'],
    'UTC moves by an hour at the change, the wall clock does not',
  )
  t.equal(stored[2]!.ends_at.toISOString(), '2027-04-01T19:30:00.000Z')

  const res = await member.client.get(`/events/${id}/calendar.ics`)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/calendar/)
  t.match(res.body, /DTSTART;TZID=Europe\/Berlin:20270318T190000/)
  t.match(res.body, /DTSTART;TZID=Europe\/Berlin:20270401T190000/)
  const ics = parseIcs(res.body)
  t.same(ics.zones, ['Europe/Berlin'], 'one VTIMEZONE for the zone used')
  t.ok(ics.events.length >= 8)
  t.ok(ics.events.every((e) => e.tzid === 'Europe/Berlin' && e.localHour === 19 && e.summary === 'Thursday meetup'), 'every date at 19:00 Berlin time')
  t.same(ics.events.slice(0, 4).map((e) => e.start), stored.slice(0, 4).map((o) => o.starts_at.toISOString()), 'ical.js resolves each date to the same instant as the server (VTIMEZONE is right)')
  t.same(ics.events[2]!.end, '2027-04-01T19:30:00.000Z')
  t.equal(ics.events[0]!.location, 'Café Hearth, Berlin')
  t.equal(new Set(ics.events.map((e) => e.uid)).size, ics.events.length, 'each date has its own UID')

  // The autumn change, in another zone and hemisphere.
  const sydney = await admin.client.api('POST', '/api/v1/events', { title: 'Sydney monthly', categoryId: cats.open.id, timeZone: 'Australia/Sydney', startsAt: '2027-03-07T18:00', endsAt: '2027-03-07T20:00', recurrence: 'monthly' })
  const sydneyIcs = parseIcs((await member.client.get(`/events/${sydney.data.id}/calendar.ics`)).body)
  t.same(sydneyIcs.events.slice(0, 2).map((e) => e.start), ['2027-03-07T07:00:00.000Z', '2027-04-07T08:00:00.000Z'], 'Sydney leaves daylight time on 4 April: 18:00 local is an hour later in UTC')

  // The pages show times in the viewer's zone: the member's setting, else the browser's cookie, else UTC.
  const page = await member.client.get(`/events/${id}?date=${made.data.occurrence.id}`)
  t.match(page.body, /Thu 18 Mar 2027, 18:00–20:30 UTC/, 'UTC without a setting')
  t.match(page.body, /Local time: Thu 18 Mar 2027, 19:00–21:30 GMT\+1/, 'with the event’s own time alongside')
  const zoned = await member.client.postForm('/settings/time-zone', { _csrf: await member.client.csrfFrom('/events/calendar'), timeZone: 'America/New_York' })
  t.equal(zoned.statusCode, 303)
  t.match((await member.client.get(`/events/${id}?date=${made.data.occurrence.id}`)).body, /Thu 18 Mar 2027, 14:00–16:30 EDT/, 'New York is already on daylight time on 18 March')
  const browser = new Client(app)
  browser.cookies.set('hearth_tz', 'Asia/Tokyo')
  t.match((await browser.get(`/events/${id}?date=${made.data.occurrence.id}`)).body, /Fri 19 Mar 2027, 03:00–05:30 GMT\+9/, 'a guest gets the zone their browser reported')
  const badZone = await member.client.api('PUT', '/api/v1/me/time-zone', { timeZone: 'Nowhere/Land' })
  t.same([badZone.statusCode, badZone.data.field], [400, 'timeZone'])
})

t.test('category feeds and the private feed: only what the reader may see; the secret is stored as a digest and can be reset', async (t) => {
  const { app, db } = await build(t)
  const { admin, member, cats } = await forum(app, db)
  const future = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString()
  const open = await admin.client.api('POST', '/api/v1/events', { title: 'Open talk', categoryId: cats.open.id, timeZone: 'Europe/London', startsAt: future(24), endsAt: future(25) })
  const lounge = await admin.client.api('POST', '/api/v1/events', { title: 'Lounge night', categoryId: cats.members.id, timeZone: 'America/Chicago', startsAt: future(30), endsAt: future(32) })
  const guest = new Client(app)
  const feed = parseIcs((await guest.get(`/events/feeds/c/${cats.open.slug}.ics`)).body)
  t.same(feed.events.map((e) => e.summary), ['Open talk'])

  await member.client.api('PUT', `/api/v1/events/${open.data.id}/rsvp`, { status: 'going' })
  await member.client.api('PUT', `/api/v1/events/${lounge.data.id}/rsvp`, { status: 'interested' })
  const csrf = await member.client.csrfFrom('/events/calendar')
  const reset = await member.client.postForm('/events/calendar/reset', { _csrf: csrf })
  const url = /<code class="token" id="feed-url">([^<]+)<\/code>/.exec(reset.body)?.[1]
  t.ok(url, 'the new address is shown once')
  const path = new URL(url!).pathname
  const secret = path.split('/').pop()!.replace(/\.ics$/, '')
  const stored = await db.selectFrom('event_calendar_keys').select('secret_hash').where('user_id', '=', member.id).executeTakeFirstOrThrow()
  t.not(stored.secret_hash, secret, 'the secret itself is not stored')
  t.equal(stored.secret_hash.length, 64, 'a SHA-256 digest is')
  const mine = parseIcs((await guest.get(path)).body)
  t.same(mine.events.map((e) => e.summary).sort(), ['Lounge night', 'Open talk'], 'the private feed has the member’s events, members-only ones too')
  t.same(mine.zones.sort(), ['America/Chicago', 'Europe/London'], 'with a VTIMEZONE for each zone')
  t.notMatch((await member.client.get('/events/calendar')).body, new RegExp(secret), 'the address is not shown again')

  const again = await member.client.postForm('/events/calendar/reset', { _csrf: await member.client.csrfFrom('/events/calendar') })
  t.equal((await guest.get(path)).statusCode, 404, 'after a reset the old address is dead')
  const next = new URL(/id="feed-url">([^<]+)</.exec(again.body)![1]!).pathname
  t.equal((await guest.get(next)).statusCode, 200, 'and the new one works')
  await db.updateTable('users').set({ suspended_until: new Date(Date.now() + 86_400_000) }).where('id', '=', member.id).execute()
  t.same(parseIcs((await guest.get(next)).body).events.map((e) => e.summary), ['Open talk'], 'a suspended member’s feed shows what a guest may see')
})
