/**
 * Events under load: `npm run bench:events`.
 * 1. RSVP throughput through the API: the web process on a loopback port, autocannon with
 *    BENCH_CONNECTIONS (50) connections and bearer tokens of BENCH_MEMBERS (5,000) members.
 *    First spread over 20 events (each request a new member and event pair), then all at
 *    one event (one occurrence row, the worst contention). Afterwards every count is
 *    checked against the rows: seats taken, waitlist length, gapless positions, capacity.
 *    Then BENCH_WITHDRAWALS (50) seat holders of the hot event withdraw: each promotes the
 *    first in line and renumbers a waitlist of ~4,500 in its transaction.
 * 2. Reminder fan-out: an event with BENCH_ATTENDEES (5,000) going whose 60-minute
 *    reminder is due; one real worker process, a local SMTP sink (not parsing). Reports
 *    reminders (notifications claimed in the ledger) per second and mails per second.
 * Loopback only; each phase stops by itself.
 */
import { cpus, loadavg } from 'node:os'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import { SessionStore } from '../../src/core/auth/sessions.js'
import { Outbox } from '../../src/core/outbox.js'
import { JobQueue } from '../../src/core/queue.js'
import { createRedis } from '../../src/core/redis.js'
import { REDIS_URL, testConfig } from '../helpers/app.js'
import { createTestDatabase } from '../helpers/db.js'
import { freePort, spawnEntry, type Spawned } from '../helpers/process.js'
import { startSmtp } from '../helpers/smtp.js'

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 5_000)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const EVENTS = 20
const SEATS = 150
const SPREAD_REQUESTS = Number(process.env.BENCH_RSVPS ?? 20_000)
const HOT_SEATS = 500
// Each withdrawal from the full hot event promotes the first in line and renumbers the whole waitlist.
const WITHDRAWALS = Number(process.env.BENCH_WITHDRAWALS ?? 50)
const ATTENDEES = Number(process.env.BENCH_ATTENDEES ?? 5_000)
const LIMIT_S = Number(process.env.BENCH_SECONDS ?? 300)

const teardowns: (() => unknown)[] = []
const t = { teardown: (fn: () => unknown) => void teardowns.unshift(fn) }
const processes: Spawned[] = []

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(options, (err, result) => (err ? reject(err) : resolve(result))))
}

function report(label: string, r: autocannon.Result): void {
  const bad = r.non2xx + r.errors + r.timeouts
  console.log(
    `${label.padEnd(40)} ${(r.requests.total / (r.duration || 1)).toFixed(0).padStart(6)} RSVPs/s   p50 ${String(r.latency.p50).padStart(4)} ms   p99 ${String(r.latency.p99).padStart(4)} ms   ` +
      `${r.requests.total} requests${bad ? `, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts` : ''}`,
  )
}

try {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const db = database.db
  const started = performance.now()
  const admin = await db.insertInto('users').values({ username: 'benchadmin', email: 'admin@bench.test', password_hash: 'x', role: 'admin', trust_level: 4, email_verified_at: new Date() }).returning('id').executeTakeFirstOrThrow()
  const category = await db.insertInto('categories').values({ name: 'Meetups', slug: 'meetups', description: '', visibility: 'public' }).returning('id').executeTakeFirstOrThrow()
  const users = await db
    .insertInto('users')
    .values(Array.from({ length: Math.max(MEMBERS, ATTENDEES) }, (_, i) => ({ username: `rsvp${i}`, email: `rsvp${i}@bench.test`, password_hash: 'x', trust_level: 1, email_verified_at: new Date() })))
    .returning(['id'])
    .execute()
  const store = new SessionStore(db, 30, new Outbox(db))
  const adminToken = (await store.createApiToken(admin.id, 'bench')).token
  const tokens: string[] = []
  for (const u of users.slice(0, MEMBERS)) tokens.push((await store.createApiToken(u.id, 'bench')).token)
  console.log(`seeded ${users.length.toLocaleString('en')} members, ${MEMBERS.toLocaleString('en')} API tokens in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const port = await freePort()
  const web = spawnEntry('src/main.ts', { NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: database.url, DATABASE_POOL_SIZE: '20', LOG_LEVEL: 'warn', SECRET_KEY: 'e'.repeat(40) })
  processes.push(web)
  t.teardown(async () => {
    web.child.kill('SIGTERM')
    await web.exited
  })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/healthz`).then((r) => r.ok).catch(() => false)) break
    if (i === 300) throw new Error(`the web process did not start:\n${web.output()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  const create = async (title: string, capacity: number) => {
    const res = await fetch(`${base}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title, categoryId: category.id, timeZone: 'Europe/Berlin', startsAt: new Date(Date.now() + 7 * 86_400_000).toISOString(), endsAt: new Date(Date.now() + 7 * 86_400_000 + 7_200_000).toISOString(), capacity, maxGuests: 2 }),
    })
    if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`)
    return ((await res.json()) as { id: number }).id
  }
  const spread: number[] = []
  for (let i = 0; i < EVENTS; i++) spread.push(await create(`Spread meetup ${i + 1}`, SEATS))
  const hot = await create('The one everybody wants', HOT_SEATS)
  console.log(`machine load before measuring: ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`)
  await run({ url: `${base}/events`, connections: 4, duration: 2 })

  // Request i: member i mod MEMBERS answers going (every 5th with a guest) to event ⌊i / MEMBERS⌋: never the same pair twice.
  let n = 0
  const spreadRun = await run({
    url: base,
    connections: CONNECTIONS,
    amount: Math.min(SPREAD_REQUESTS, MEMBERS * EVENTS),
    timeout: 30,
    requests: [{ method: 'PUT', setupRequest: (req) => {
      const i = n++
      const member = i % MEMBERS
      const event = spread[(Math.floor(i / MEMBERS) + member) % EVENTS]!
      return { ...req, path: `/api/v1/events/${event}/rsvp`, headers: { authorization: `Bearer ${tokens[member]}`, 'content-type': 'application/json' }, body: JSON.stringify({ status: 'going', guests: i % 5 === 0 ? 1 : 0 }) }
    } }],
  })
  report(`PUT rsvp, ${EVENTS} events, ${CONNECTIONS} conn`, spreadRun)
  let m = 0
  const hotRun = await run({
    url: base,
    connections: CONNECTIONS,
    amount: MEMBERS,
    timeout: 30,
    requests: [{ method: 'PUT', setupRequest: (req) => {
      const member = m++
      return { ...req, path: `/api/v1/events/${hot}/rsvp`, headers: { authorization: `Bearer ${tokens[member]}`, 'content-type': 'application/json' }, body: JSON.stringify({ status: 'going' }) }
    } }],
  })
  report(`PUT rsvp, one event (hot row), ${CONNECTIONS} conn`, hotRun)
  let w = 0
  const withdrawRun = await run({
    url: base,
    connections: CONNECTIONS,
    amount: WITHDRAWALS,
    timeout: 120,
    requests: [{ method: 'DELETE', setupRequest: (req) => {
      const member = w++
      return { ...req, path: `/api/v1/events/${hot}/rsvp`, headers: { authorization: `Bearer ${tokens[member]}` } }
    } }],
  })
  report(`DELETE rsvp (promotes), hot row, ${CONNECTIONS} conn`, withdrawRun)

  const { rows } = await sql<{ id: number; capacity: number; seats_taken: number; waitlist_length: number; going_seats: number; waiting: number; max_pos: number | null; distinct_pos: number }>`
    select o.id, o.capacity, o.seats_taken, o.waitlist_length,
      coalesce((select sum(1 + guests) from event_rsvps r where r.occurrence_id = o.id and r.status = 'going'), 0)::int as going_seats,
      (select count(*) from event_rsvps r where r.occurrence_id = o.id and r.status = 'waitlisted')::int as waiting,
      (select max(waitlist_position) from event_rsvps r where r.occurrence_id = o.id)::int as max_pos,
      (select count(distinct waitlist_position) from event_rsvps r where r.occurrence_id = o.id and r.status = 'waitlisted')::int as distinct_pos
    from event_occurrences o`.execute(db)
  const answered = await sql<{ n: number; withdrawn: number }>`select count(*) filter (where status in ('going', 'waitlisted'))::int as n, count(*) filter (where status = 'not_going')::int as withdrawn from event_rsvps`.execute(db)
  const off = rows.filter((r) => r.seats_taken !== r.going_seats || r.waitlist_length !== r.waiting || (r.max_pos ?? 0) !== r.waiting || r.distinct_pos !== r.waiting || r.seats_taken > r.capacity)
  // A withdrawal the client gave up on may still have committed: count withdrawals from the rows.
  const { withdrawn } = answered.rows[0]!
  const accepted = spreadRun['2xx'] + hotRun['2xx'] - withdrawn
  const exact = off.length === 0 && answered.rows[0]!.n === accepted && withdrawn >= withdrawRun['2xx']
  const hotRow = rows.find((r) => r.seats_taken === HOT_SEATS || r.capacity === HOT_SEATS)!
  console.log(`hot event after ${withdrawn} withdrawals (${withdrawRun['2xx']} answered in time): ${hotRow.seats_taken} of ${hotRow.capacity} seats, waitlist 1…${hotRow.waitlist_length}`)
  console.log(`counts: ${answered.rows[0]!.n.toLocaleString('en')} going or waitlisted = ${accepted.toLocaleString('en')} accepted answers; ${rows.length} dates, ${off.length} off → ${exact ? 'EXACT' : 'NOT EXACT'}`)
  if (!exact) process.exitCode = 1

  // ── reminder fan-out ────────────────────────────────────────────────────────
  // The web process ran without Redis; stop it so only the worker's relay (which queues mail) delivers events.
  web.child.kill('SIGTERM')
  await web.exited
  const smtp = await startSmtp(t, { capture: false })
  const config = testConfig({ REDIS_URL })
  const redis = createRedis(REDIS_URL)
  const queue = new JobQueue(redis, config.redisPrefix)
  t.teardown(async () => {
    await queue.close()
    const keys = await redis.keys(`${config.redisPrefix}*`)
    for (let i = 0; i < keys.length; i += 1_000) await redis.del(...keys.slice(i, i + 1_000))
    redis.disconnect()
  })
  // Starts in a little under an hour: its 60-minute reminder is due already.
  const soon = new Date(Math.floor((Date.now() + 59 * 60_000) / 60_000) * 60_000)
  const ev = await db
    .insertInto('events')
    .values({ category_id: category.id, title: 'Town hall', time_zone: 'UTC', local_start: soon.toISOString().slice(0, 19).replace('T', ' '), duration_minutes: 60, reminder_minutes: [60], created_by: admin.id })
    .returning('id')
    .executeTakeFirstOrThrow()
  const occ = await db.insertInto('event_occurrences').values({ event_id: ev.id, seq: 0, starts_at: soon, ends_at: new Date(soon.getTime() + 3_600_000), seats_taken: ATTENDEES }).returning('id').executeTakeFirstOrThrow()
  for (let i = 0; i < ATTENDEES; i += 5_000) {
    await db.insertInto('event_rsvps').values(users.slice(i, Math.min(ATTENDEES, i + 5_000)).map((u) => ({ occurrence_id: occ.id, user_id: u.id, status: 'going' as const }))).execute()
  }
  await sql`analyze`.execute(db)
  const worker = spawnEntry('src/worker.ts', {
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: '20',
    REDIS_URL,
    REDIS_PREFIX: config.redisPrefix,
    SMTP_URL: smtp.url,
    NOTIFICATION_MAIL_DELAY: '0',
    MAIL_RATE_LIMIT: '100000',
    MAIL_CONCURRENCY: '16',
    LOG_LEVEL: 'info',
    SECRET_KEY: 'e'.repeat(40),
    NODE_ENV: 'production',
  })
  processes.push(worker)
  t.teardown(async () => {
    worker.child.kill('SIGKILL')
    await worker.exited
  })
  await worker.waitFor(/worker ready/)
  // The RSVP phase left its events (seats, activity) for the worker's relay: let it catch up
  // first, so the fan-out is measured on its own (and the relay's pace is a figure too).
  const backlog = async () => Number((await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('delivered_at', 'is', null).executeTakeFirstOrThrow()).n)
  const drainStart = performance.now()
  const waiting = await backlog()
  while ((await backlog()) > 0 && performance.now() - drainStart < LIMIT_S * 1000) await new Promise((r) => setTimeout(r, 500))
  console.log(`outbox relay (in the worker) delivered the RSVP phase's ${waiting.toLocaleString('en')} waiting events in ${((performance.now() - drainStart) / 1000).toFixed(1)} s → ${((waiting * 1000) / (performance.now() - drainStart)).toFixed(0)} events/s`)
  const claimed = async () => Number((await db.selectFrom('event_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('occurrence_id', '=', occ.id).executeTakeFirstOrThrow()).n)
  // The reminder is due now: the schedule queues it without delay.
  const fanStart = performance.now()
  await queue.enqueue('events.schedule', {})
  let notifiedMs = 0
  while (performance.now() - fanStart < LIMIT_S * 1000 && smtp.accepted < ATTENDEES) {
    await new Promise((r) => setTimeout(r, 250))
    if (!notifiedMs && (await claimed()) >= ATTENDEES) notifiedMs = performance.now() - fanStart
  }
  const mailedMs = performance.now() - fanStart
  if (!notifiedMs) notifiedMs = mailedMs
  const notes = await sql<{ n: number; people: number }>`select count(*)::int as n, count(distinct user_id)::int as people from notifications where kind = 'event.reminder'`.execute(db)
  const span = await sql<{ ms: number }>`select (extract(epoch from max(created_at) - min(created_at)) * 1000)::float as ms from event_deliveries where occurrence_id = ${occ.id}`.execute(db)
  // Each batch's rows share their transaction's time: the span runs from the first batch to the last one's start.
  const batchMs = span.rows[0]!.ms
  console.log(`reminder fan-out to ${ATTENDEES.toLocaleString('en')} attendees (1 worker, real SMTP sink):`)
  console.log(`  notifications: ${notes.rows[0]!.n.toLocaleString('en')} for ${notes.rows[0]!.people.toLocaleString('en')} members, all claimed ${(notifiedMs / 1000).toFixed(2)} s after the schedule was queued → ${((ATTENDEES * 1000) / notifiedMs).toFixed(0)} reminders/s end to end (first to last batch: ${(batchMs / 1000).toFixed(2)} s)`)
  console.log(`  mails: ${smtp.accepted.toLocaleString('en')} accepted by SMTP in ${(mailedMs / 1000).toFixed(1)} s → ${((smtp.accepted * 1000) / mailedMs).toFixed(0)} mails/s`)
  if (notes.rows[0]!.n !== ATTENDEES || notes.rows[0]!.people !== ATTENDEES) process.exitCode = 1
} finally {
  for (const fn of teardowns) {
    try {
      await fn()
    } catch (err) {
      console.error('cleanup failed:', err)
    }
  }
  for (const p of processes) await p.exited
}
