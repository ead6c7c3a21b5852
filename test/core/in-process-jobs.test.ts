import t from 'tap'
import { lastDue } from '../../src/core/schedule.js'
import { until } from '../helpers/faults.js'
import { createTestDatabase } from '../helpers/db.js'
import { freePort, spawnEntry } from '../helpers/process.js'

t.test('schedules: the occurrence that fell due last', async (t) => {
  const now = new Date('2026-03-10T12:30:00Z')
  t.equal(lastDue({ pattern: '17 * * * *' }, now).toISOString(), '2026-03-10T12:17:00.000Z', 'hourly, earlier this hour')
  t.equal(lastDue({ pattern: '45 * * * *' }, now).toISOString(), '2026-03-10T11:45:00.000Z', 'hourly, last hour')
  t.equal(lastDue({ pattern: '10 3 * * *' }, now).toISOString(), '2026-03-10T03:10:00.000Z', 'daily, today')
  t.equal(lastDue({ pattern: '10 13 * * *' }, now).toISOString(), '2026-03-09T13:10:00.000Z', 'daily, yesterday')
  t.equal(lastDue({ every: 60_000 }, now).toISOString(), '2026-03-10T12:30:00.000Z')
  t.throws(() => lastDue({ pattern: '*/5 * * * 1' }, now), /support/, 'a pattern it cannot follow is refused, not skipped')
})

t.test('no Redis: the web process runs trust recompute and session purge itself, and says so', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const { db } = database
  // A reader who has done what trust level 1 asks, and a session that ran out a day ago.
  const reader = await db
    .insertInto('users')
    .values({ username: 'steady_reader', email: 'reader@example.test', password_hash: 'x', trust_level: 0 })
    .returning('id')
    .executeTakeFirstOrThrow()
  for (let day = 1; day <= 3; day++) {
    await db
      .insertInto('user_daily_stats')
      .values({ user_id: reader.id, day: new Date(Date.now() - day * 86_400_000).toISOString().slice(0, 10), topics_entered: 4, posts_read: 20, reading_seconds: 400 })
      .execute()
  }
  await db
    .insertInto('sessions')
    .values({
      id: 'expired-session', secret_hash: Buffer.alloc(32), user_id: reader.id, user_agent: 'test', ip: '127.0.0.1',
      expires_at: new Date(Date.now() - 86_400_000), last_seen_at: new Date(Date.now() - 2 * 86_400_000),
    })
    .execute()

  const port = await freePort()
  const web = spawnEntry('src/main.ts', {
    DATABASE_URL: database.url, PORT: String(port), LOG_LEVEL: 'info', JOBS_IN_PROCESS_EVERY_SECONDS: '1', MIGRATE_ON_START: 'false',
  })
  t.teardown(() => web.child.kill('SIGKILL'))
  await web.waitFor(/Hearth is ready/, 60_000)
  t.match(web.output(), /jobs run in-process: no Redis configured/, 'the start-up log names the mode')
  t.notMatch(web.output(), /background jobs are off/)

  await until(async () => {
    const row = await db.selectFrom('users').select('trust_level').where('id', '=', reader.id).executeTakeFirstOrThrow()
    return row.trust_level === 1
  }, 60_000, 200)
  t.pass('the trust recompute ran: the reader reached trust level 1')
  await until(async () => (await db.selectFrom('sessions').select('id').where('id', '=', 'expired-session').executeTakeFirst()) === undefined, 60_000, 200)
  t.pass('the session purge ran: the expired session is gone')
  await until(async () => (await db.selectFrom('scheduled_job_runs').select('name').where('finished_at', 'is not', null).execute()).length === 6, 60_000, 200)
  const runs = await db.selectFrom('scheduled_job_runs').select(['name', 'error']).orderBy('name').execute()
  t.same(runs.map((r) => r.name).sort(), ['activity.nightly', 'events.extend', 'moderators.promote', 'outbox.prune', 'sessions.purge', 'trust.recompute'])
  t.same(runs.filter((r) => r.error !== null), [], 'no run failed')

  web.child.kill('SIGTERM')
  t.equal(await web.exited, 0, 'it stops cleanly, waiting for a run in progress')
})
