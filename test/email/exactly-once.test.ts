import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { sql } from 'kysely'
import t from 'tap'
import { Mailer } from '../../src/core/mail.js'
import { JobQueue } from '../../src/core/queue.js'
import { createRedis } from '../../src/core/redis.js'
import { instanceSecret } from '../../src/core/settings.js'
import { LinkSigner } from '../../src/core/signed-tokens.js'
import { periodKey, sendDigest } from '../../src/features/digests/service.js'
import { MailLinks } from '../../src/features/email/service.js'
import { build, REDIS_URL, testConfig } from '../helpers/app.js'
import { createTestDatabase } from '../helpers/db.js'
import { persona } from '../helpers/personas.js'
import { ROOT, spawnEntry } from '../helpers/process.js'
import { startSmtp } from '../helpers/smtp.js'
import { drained, startTestWorker } from '../helpers/worker.js'
import './digest-section.js'

const isDigest = (m: { subject: string }) => /digest/.test(m.subject)

t.test('racing senders of the same digest period send one mail', async (t) => {
  const smtp = await startSmtp(t, { acceptDelayMs: 100 })
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url, MAIL_CONCURRENCY: '8' } })
  const { app, db, config } = testApp
  const member = await persona(app, db, { stem: 'racer' })
  await app.hearth.notifications.notify([{ userId: member.id, kind: 'moderation', text: 'something new', url: '/' }])
  const key = periodKey('weekly', new Date())

  const mailer = new Mailer(config)
  t.teardown(() => mailer.close())
  const deps = { db, config, mailer, mailLinks: new MailLinks(new LinkSigner(await instanceSecret(db, null)), config.baseUrl) }
  const results = await Promise.all(Array.from({ length: 6 }, () => sendDigest(deps, member.id, key)))
  t.same(results.filter((r) => r === 'sent'), ['sent'], 'one sender wins')
  t.ok(results.every((r) => r === 'sent' || r === 'duplicate'), 'the others find the period taken')
  t.equal(smtp.to(member.email).filter(isDigest).length, 1)

  // The same through the real worker: duplicate jobs under other ids, several at a time.
  const other = await persona(app, db, { stem: 'other' })
  await app.hearth.notifications.notify([{ userId: other.id, kind: 'moderation', text: 'for other', url: '/' }])
  const worker = await startTestWorker(t, db, config)
  await worker.running.queue.enqueueBulk(
    'mail.digest',
    Array.from({ length: 8 }, (_, i) => ({ payload: { userId: other.id, periodKey: key }, options: { jobId: `dup-${i}` } })),
  )
  await drained(worker)
  t.equal(smtp.to(other.email).filter(isDigest).length, 1, 'eight jobs, one digest')
  await worker.close()
})

t.test('a worker killed mid-batch and restarted still sends each member exactly one digest', async (t) => {
  const members = 40
  // A slow relay (200 ms to answer each message) keeps sends in flight when the worker dies.
  const smtp = await startSmtp(t, { acceptDelayMs: 200 })
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const db = database.db
  const names = Array.from({ length: members }, (_, i) => `k${i}_${randomBytes(3).toString('hex')}`)
  const users = await db
    .insertInto('users')
    .values(names.map((n) => ({ username: n, email: `${n}@example.test`, password_hash: 'x', email_verified_at: sql<Date>`now()` as unknown as Date })))
    .returning(['id', 'email'])
    .execute()
  await db
    .insertInto('notifications')
    .values(users.map((u) => ({ user_id: u.id, kind: 'moderation', payload: JSON.stringify({ text: `news for ${u.id}` }), url: '/' })))
    .execute()

  const config = testConfig({ REDIS_URL })
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
    MAIL_RATE_LIMIT: '10',
    MAIL_CONCURRENCY: '4',
    LOG_LEVEL: 'info',
    SECRET_KEY: 'k'.repeat(40),
  }
  const preload = ['--import', pathToFileURL(path.join(ROOT, 'test/email/digest-section.ts')).href]
  const first = spawnEntry('src/worker.ts', env, [], preload)
  t.teardown(() => first.child.kill('SIGKILL'))
  await first.waitFor(/worker ready/)
  await queue.enqueue('digest.enqueue', {})
  // Kill at a moment chosen by the database, not by the SMTP server: mid-batch, sends in flight.
  for (let i = 0; i < 600; i++) {
    const done = await db.selectFrom('email_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    if (Number(done.n) >= 15) break
    await new Promise((r) => setTimeout(r, 50))
  }
  first.child.kill('SIGKILL')
  await first.exited
  const sentAtKill = smtp.accepted
  t.ok(sentAtKill < members, `killed mid-batch (${sentAtKill} of ${members} sent)`)

  const second = spawnEntry('src/worker.ts', env, [], preload)
  t.teardown(() => second.child.kill('SIGKILL'))
  await second.waitFor(/worker ready/)
  // The killed worker's jobs come back once their locks lapse (MAIL_LOCK_MS); wait until every
  // member's period is recorded.
  for (let i = 0; i < 900; i++) {
    const logged = await db.selectFrom('email_log').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'digest').executeTakeFirstOrThrow()
    if (Number(logged.n) >= members) break
    await new Promise((r) => setTimeout(r, 100))
  }
  await new Promise((r) => setTimeout(r, 1_500))
  const perMember = new Map<string, number>()
  for (const m of smtp.messages.filter(isDigest)) perMember.set(m.to[0]!, (perMember.get(m.to[0]!) ?? 0) + 1)
  t.same([...new Set(perMember.values())], [1], 'nobody got two')
  // A send is recorded just before its final dot: a kill in that instant loses that one mail
  // rather than risk a second (at most once). Only sends in flight at the kill can be caught.
  t.ok(perMember.size >= members - 4, `every member got a digest but at most the ${4} in flight at the kill (${perMember.size} of ${members})`)
  const logged = await db.selectFrom('email_log').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'digest').where('status', '=', 'sent').executeTakeFirstOrThrow()
  t.equal(Number(logged.n), members, 'one email_log row per member')
  second.child.kill('SIGTERM')
  await second.exited
})
