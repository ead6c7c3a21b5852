import { sql } from 'kysely'
import t from 'tap'
import { JobQueue } from '../../src/core/queue.js'
import { createRedis } from '../../src/core/redis.js'
import { build, REDIS_URL } from '../helpers/app.js'
import { createTestDatabase } from '../helpers/db.js'
import { forum } from '../helpers/forum.js'
import { spawnEntry } from '../helpers/process.js'
import { startSmtp } from '../helpers/smtp.js'
import { uniqueName } from '../helpers/personas.js'

const ATTENDEES = 900

t.test('a reminder goes out exactly once to each of 900 attendees though the worker is killed before it is due and again in the middle of the fan-out', async (t) => {
  const smtp = await startSmtp(t)
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  // The app has Redis like every process in production: its outbox relay also queues mail.
  const { app, db, config } = await build(t, { database, redis: true, env: { NOTIFICATION_MAIL_DELAY: '0' } })
  const { admin, cats } = await forum(app, db)
  // The 60-minute reminder falls due 25 to 85 seconds from now (events start on the minute).
  const wanted = new Date(Date.now() + 60 * 60_000 + 85_000)
  const made = await admin.client.api('POST', '/api/v1/events', {
    title: 'Quarterly demo day',
    categoryId: cats.open.id,
    timeZone: 'Europe/Berlin',
    startsAt: wanted.toISOString(),
    endsAt: new Date(wanted.getTime() + 2 * 3_600_000).toISOString(),
    reminders: [60],
    location: 'Main hall',
  })
  t.equal(made.statusCode, 201, 'the event is created')
  const occurrenceId = made.data.occurrence.id as number
  const startsAt = new Date(made.data.occurrence.startsAt as string)
  const users = await db
    .insertInto('users')
    .values(Array.from({ length: ATTENDEES }, () => {
      const username = uniqueName('goer')
      return { username, email: `${username}@example.test`, password_hash: 'x', email_verified_at: sql<Date>`now()` as unknown as Date }
    }))
    .returning(['id', 'email'])
    .execute()
  await db.insertInto('event_rsvps').values(users.map((u) => ({ occurrence_id: occurrenceId, user_id: u.id, status: 'going' as const }))).execute()
  await db.updateTable('event_occurrences').set({ seats_taken: ATTENDEES }).where('id', '=', occurrenceId).execute()

  const redis = createRedis(REDIS_URL)
  const queue = new JobQueue(redis, config.redisPrefix)
  t.teardown(async () => {
    await queue.close()
    const keys = await redis.keys(`${config.redisPrefix}*`)
    if (keys.length) await redis.del(...keys)
    redis.disconnect()
  })
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: config.redisPrefix,
    SMTP_URL: smtp.url,
    NOTIFICATION_MAIL_DELAY: '0',
    MAIL_RATE_LIMIT: '1000',
    MAIL_CONCURRENCY: '8',
    LOG_LEVEL: 'info',
    SECRET_KEY: 'k'.repeat(40),
  }
  const delivered = async () => Number((await db.selectFrom('event_deliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('occurrence_id', '=', occurrenceId).executeTakeFirstOrThrow()).n)

  // First worker: the schedule queues the reminder as a job delayed to its time; the worker dies before then.
  const first = spawnEntry('src/worker.ts', env)
  t.teardown(() => first.child.kill('SIGKILL'))
  await first.waitFor(/worker ready/)
  await queue.enqueue('events.schedule', {})
  const reminders = async () => (await queue.queue.getDelayed()).filter((j) => j.name === 'events.remind')
  for (let i = 0; i < 200 && (await reminders()).length < 1; i++) await new Promise((r) => setTimeout(r, 50))
  const delayed = await reminders()
  t.equal(delayed.length, 1, 'one reminder job, delayed to its time')
  t.equal(delayed[0]!.id, `remind-${occurrenceId}-60-${startsAt.getTime()}`)
  first.child.kill('SIGKILL')
  await first.exited
  t.equal(await delivered(), 0, 'nothing sent before the time')

  // Second worker: picks the reminder up at its time and is killed in the middle of the fan-out.
  const second = spawnEntry('src/worker.ts', env)
  t.teardown(() => second.child.kill('SIGKILL'))
  await second.waitFor(/worker ready/)
  let atKill = 0
  for (let i = 0; i < 20_000; i++) {
    atKill = await delivered()
    if (atKill > 0) break
    await new Promise((r) => setTimeout(r, 5))
  }
  second.child.kill('SIGKILL')
  await second.exited
  atKill = await delivered()
  const claimedAt = await db.selectFrom('event_deliveries').select((eb) => eb.fn.min('created_at').as('first')).executeTakeFirstOrThrow()
  t.ok(new Date(claimedAt.first as Date).getTime() >= startsAt.getTime() - 60 * 60_000, 'the fan-out began at the reminder time, not before')
  t.ok(atKill > 0 && atKill < ATTENDEES, `killed mid fan-out (${atKill} of ${ATTENDEES} claimed)`)
  // The schedule runs again meanwhile (as it does every minute): it adds nothing new.
  await queue.enqueue('events.schedule', {})

  // Third worker: the killed job comes back once its lock lapses, and finishes.
  const third = spawnEntry('src/worker.ts', env)
  t.teardown(() => third.child.kill('SIGKILL'))
  await third.waitFor(/worker ready/)
  for (let i = 0; i < 1_200 && (await delivered()) < ATTENDEES; i++) await new Promise((r) => setTimeout(r, 100))
  t.equal(await delivered(), ATTENDEES, 'every attendee claimed once')
  const notes = await db.selectFrom('notifications').select(['user_id']).where('kind', '=', 'event.reminder').execute()
  t.equal(notes.length, ATTENDEES, 'one reminder notification each')
  t.equal(new Set(notes.map((n) => n.user_id)).size, ATTENDEES, 'nobody has two')

  // And by mail: each attendee gets exactly one mail with the reminder.
  const emails = new Set(users.map((u) => u.email))
  const reminded = () => smtp.messages.filter((m) => emails.has(m.to[0]!))
  for (let i = 0; i < 1_200 && new Set(reminded().map((m) => m.to[0])).size < ATTENDEES; i++) await new Promise((r) => setTimeout(r, 100))
  await new Promise((r) => setTimeout(r, 1_000))
  const perMember = new Map<string, number>()
  for (const m of reminded()) perMember.set(m.to[0]!, (perMember.get(m.to[0]!) ?? 0) + 1)
  // A send is recorded just before its final dot (deliverOnce): a kill in that instant loses
  // that one mail rather than risk a second. Only mails in flight at the kill can be caught.
  t.ok(perMember.size >= ATTENDEES - 8, `every attendee got the reminder by mail, but at most the 8 in flight at the kill (${perMember.size} of ${ATTENDEES})`)
  const twice = [...perMember].filter(([, n]) => n > 1).map(([to]) => reminded().filter((m) => m.to[0] === to).map((m) => ({ id: /^Message-ID: *(.+)$/im.exec(m.raw)?.[1], bytes: m.raw.length, complete: /\r?\n--[^\r\n]+--\s*$/.test(m.raw.trimEnd() + '\n') })))
  t.same([...new Set(perMember.values())], [1], 'nobody got it twice', { twice })
  t.match(reminded()[0]!.text, /Quarterly demo day/, 'the mail is the reminder')
  third.child.kill('SIGTERM')
  await third.exited
})
