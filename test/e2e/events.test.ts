import tap from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, loggedIn, serve, shoot } from '../helpers/browser.js'
import { forum } from '../helpers/forum.js'

tap.test('a host creates an event; one member goes, the next is waitlisted, is promoted when the first withdraws, and is checked in', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const base = await serve(testApp)
  const { admin, member, regular, cats } = await forum(app, db)
  const browser = await launchBrowser(t)
  const cspViolations: string[] = []
  const context = () => browser.newContext({ viewport: { width: 1280, height: 844 }, timezoneId: 'Europe/Berlin' })
  const host = await loggedIn(await context(), admin, base)
  const first = await loggedIn(await context(), member, base)
  const second = await loggedIn(await context(), regular, base)
  const guest = await (await context()).newPage()
  for (const p of [host, first, second, guest]) {
    p.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text())
    })
  }

  // The host creates the event through the form.
  await host.goto(`${base}/events`)
  await host.getByRole('link', { name: 'New event' }).click()
  await host.waitForURL(`${base}/events/new`)
  t.equal(await host.locator('#f-timeZone').inputValue(), 'Europe/Berlin', 'the form starts in the zone the browser reported')
  await shoot(t, host, 'events-new')
  await host.getByLabel('Title').fill('Author reading: The Long Winter')
  await host.getByLabel('Description').fill('An evening with the author. **Bring questions.**')
  await host.locator('#f-categoryId').selectOption(String(cats.open.id))
  await host.getByLabel('Starts').fill('2027-05-06T19:00')
  await host.getByLabel('Ends').fill('2027-05-06T18:00')
  await host.getByLabel('Seats (empty: no limit)').fill('1')
  await host.getByLabel('Address (optional)').fill('Bookshop on the corner, Kastanienallee 12, Berlin')
  await host.getByRole('button', { name: 'Create event' }).click()
  t.match(await host.locator('.field.has-error .error').first().textContent(), /must end after it starts/, 'an end before the start is explained on the field')
  await host.getByLabel('Ends').fill('2027-05-06T21:00')
  await host.getByRole('button', { name: 'Create event' }).click()
  await host.waitForURL(/\/events\/\d+$/)
  const id = Number(/\/events\/(\d+)$/.exec(host.url())![1])
  t.match(await host.locator('.event-facts').textContent(), /Thu 6 May 2027, 19:00–21:00 GMT\+2/, 'times in the browser’s zone (CEST)')
  const occurrenceId = (await db.selectFrom('event_occurrences').select('id').where('event_id', '=', id).executeTakeFirstOrThrow()).id

  // The first member goes; the event is full.
  await first.goto(`${base}/events/${id}`)
  await first.getByRole('button', { name: 'Going', exact: true }).click()
  await first.waitForURL(/#my-rsvp$/)
  t.match(await first.locator('#my-state').textContent(), /You are going/)
  await shoot(t, first, 'events-event-going')

  // The second is waitlisted.
  await second.goto(`${base}/events/${id}`)
  await second.getByRole('button', { name: 'Join the waitlist' }).click()
  await second.waitForURL(/#my-rsvp$/)
  t.match(await second.locator('#my-state').textContent(), /#1 on the waitlist/)
  await shoot(t, second, 'events-event-waitlisted')

  // A guest watches the page live while the first member withdraws.
  const before = app.hearth.live.stats().subscriptions
  await guest.goto(`${base}/events/${id}`)
  await shoot(t, guest, 'events-event-guest')
  t.equal(await guest.locator(`[data-event-waiting-for="${occurrenceId}"]`).textContent(), '1')
  // Wait until the guest's socket has subscribed to the event's channel.
  for (let i = 0; i < 250 && app.hearth.live.stats().subscriptions <= before; i++) await new Promise((r) => setTimeout(r, 20))
  await first.getByRole('button', { name: 'Withdraw' }).click()
  await first.waitForURL(/#my-rsvp$/)
  t.match(await first.locator('#my-state').textContent(), /not going/)
  await guest.waitForFunction(`document.querySelector('[data-event-waiting-for="${occurrenceId}"]').textContent === '0'`, undefined, { timeout: 10_000 })
  t.pass('the guest’s page shows the waitlist emptying, live')

  // The second member was promoted and told.
  await second.reload()
  t.match(await second.locator('#my-state').textContent(), /You are going/, 'promoted from the waitlist')
  const told = await db.selectFrom('notifications').select(['user_id', 'kind']).where('kind', '=', 'event.promoted').execute()
  t.same(told, [{ user_id: regular.id, kind: 'event.promoted' }], 'and notified')

  // The host checks them in on a phone.
  await host.setViewportSize({ width: 390, height: 844 })
  await host.goto(`${base}/events/${id}`)
  await shoot(t, host, 'events-event-host')
  await host.getByRole('link', { name: 'Check-in' }).click()
  await host.waitForURL(/\/check-in$/)
  await shoot(t, host, 'events-check-in')
  await host.setViewportSize({ width: 390, height: 844 })
  await host.getByRole('button', { name: `Check in ${regular.username}` }).click()
  await host.waitForURL(/\/check-in#u\d+$/)
  t.match(await host.locator(`#u${regular.id}`).textContent(), /In · undo/, 'checked in')
  t.match(await host.locator('#checked-count').textContent(), /^1$/)
  const row = await db.selectFrom('event_rsvps').select(['checked_in_at', 'checked_in_by']).where('user_id', '=', regular.id).executeTakeFirstOrThrow()
  t.ok(row.checked_in_at && row.checked_in_by === admin.id, 'the check-in is recorded with who did it')
  await shoot(t, host, 'events-check-in-done')

  // The lists and the month view.
  await guest.goto(`${base}/events`)
  await shoot(t, guest, 'events-list')
  await guest.goto(`${base}/events/month?month=2027-05`)
  t.match(await guest.locator('td.has-events').first().textContent(), /19:00/, 'the month grid shows the event on its day')
  await shoot(t, guest, 'events-month')
  await guest.goto(`${base}/events?when=past`)
  await shoot(t, guest, 'events-past-empty')
  t.same(cspViolations, [], 'no Content Security Policy violations')
})
