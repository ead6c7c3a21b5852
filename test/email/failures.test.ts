import { sql } from 'kysely'
import t from 'tap'
import { build, REDIS_URL } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { PASSWORD, persona } from '../helpers/personas.js'
import { spawnEntry } from '../helpers/process.js'
import { startSmtp } from '../helpers/smtp.js'
import { drained, startTestWorker } from '../helpers/worker.js'
import './digest-section.js'

t.test('a permanently rejected address is suppressed, shown in /settings and no longer mailed', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url, NOTIFICATION_MAIL_DELAY: '0' } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  const admin = await persona(app, db, { stem: 'admin', role: 'admin' })
  const alice = await persona(app, db, { stem: 'alice' })
  await drained(worker)
  smtp.rejectPermanently(alice.email)

  await app.hearth.notifications.notify([{ userId: alice.id, kind: 'moderation', text: 'Something to read', url: '/' }])
  await worker.running.queue.enqueue('digest.enqueue', {})
  await drained(worker)
  const completed = await worker.running.queue.mailQueue.getCompleted()
  t.ok(completed.some((j) => j.name === 'mail.digest' && j.returnvalue?.result === 'rejected'), 'the job completes without retrying')
  t.equal((await worker.running.queue.mailQueue.getFailed()).length, 0)
  const row = await db.selectFrom('users').select(['email_suppressed_at', 'email_suppressed_reason']).where('id', '=', alice.id).executeTakeFirstOrThrow()
  t.ok(row.email_suppressed_at, 'the address is marked')
  t.match(row.email_suppressed_reason, /^550 /)

  const settings = await alice.client.get('/settings')
  t.match(settings.body, /data-suppressed/)
  t.match(settings.body, /bounced for good/)
  t.match(settings.body, /No such mailbox here/, 'the server’s reason is shown')

  // Nothing more goes to it: not the next digest, not notification mail.
  smtp.recover()
  const before = smtp.accepted
  await sql`update email_log set period_key = 'old', created_at = now() - interval '40 days'`.execute(db)
  await worker.running.queue.mailQueue.clean(0, 10_000, 'completed')
  await worker.running.queue.enqueue('digest.enqueue', {})
  await app.hearth.notifications.notify([{ userId: alice.id, kind: 'reply', text: 'a reply', url: '/', actorId: admin.id }])
  await new Promise((r) => setTimeout(r, 300))
  await drained(worker)
  t.equal(smtp.accepted, before, 'a suppressed address gets nothing')

  // A new address lifts the suppression.
  const changed = await alice.client.submit('/settings/email', { email: 'alice.fixed@example.test', password: PASSWORD }, '/settings')
  t.equal(changed.statusCode, 303)
  t.notMatch((await alice.client.get('/settings')).body, /data-suppressed/)
  await drained(worker)
  t.equal(smtp.to('alice.fixed@example.test').length, 1, 'the new address gets its confirmation mail')
  await worker.close()
})

t.test('an SMTP outage retries with backoff, then shows in /admin/jobs with a retry button', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  const admin = await persona(app, db, { stem: 'admin', role: 'admin' })
  const member = await persona(app, db, { stem: 'member' })
  await drained(worker)
  await db.updateTable('users').set({ email_verified_at: null }).where('id', '=', member.id).execute()
  smtp.failTemporarily()

  // With the default options a failed send goes back to wait with exponential backoff.
  await worker.running.queue.enqueue('mail.verify', { userId: member.id, nonce: 'default-options' }, { jobId: 'verify-default' })
  let job = await worker.running.queue.mailQueue.getJob('verify-default')
  for (let i = 0; i < 100 && (await job!.getState()) !== 'delayed'; i++) await new Promise((r) => setTimeout(r, 50))
  job = await worker.running.queue.mailQueue.getJob('verify-default')
  t.equal(await job!.getState(), 'delayed', 'a temporary failure waits for a retry')
  t.equal(job!.attemptsMade, 1)
  t.match(job!.failedReason, /451/)
  await job!.remove()

  // Short retries here so the job runs out of attempts during the test.
  await worker.running.queue.enqueue('mail.verify', { userId: member.id, nonce: 'short-retries' }, { jobId: 'verify-short', attempts: 2, backoff: { type: 'fixed', delay: 100 } })
  for (let i = 0; i < 100 && (await worker.running.queue.mailQueue.getFailedCount()) === 0; i++) await new Promise((r) => setTimeout(r, 50))
  const confirmations = () => smtp.to(member.email).filter((m) => /Confirm/.test(m.subject))
  t.equal(confirmations().length, 0)
  t.equal((await db.selectFrom('email_log').select('id').where('user_id', '=', member.id).where('kind', '=', 'verify').execute()).length, 0, 'a failed send records nothing')

  t.equal((await member.client.get('/admin/jobs')).statusCode, 404, 'members do not see it')
  t.equal((await new Client(app).get('/admin/jobs')).statusCode, 302, 'guests are sent to log in, as on /admin')
  const page = await admin.client.get('/admin/jobs')
  t.equal(page.statusCode, 200)
  t.match(page.body, /<code>mail\.verify<\/code> <small>#verify-short<\/small>/)
  t.match(page.body, /451/, 'the failure reason is shown')
  t.match(page.body, /<td>2<\/td>/, 'with the attempts made')
  t.match(page.body, /action="\/admin\/jobs\/hearth-mail\/verify-short\/retry"/)

  const noToken = await admin.client.postForm('/admin/jobs/hearth-mail/verify-short/retry', {})
  t.equal(noToken.statusCode, 403, 'the retry form needs its CSRF token')
  t.equal((await member.client.submit('/admin/jobs/hearth-mail/verify-short/retry', {}, '/settings')).statusCode, 404)

  smtp.recover()
  const retried = await admin.client.submit('/admin/jobs/hearth-mail/verify-short/retry', {}, '/admin/jobs')
  t.equal(retried.statusCode, 303)
  await drained(worker)
  t.equal(confirmations().length, 1, 'the retried job delivers once the server is back')
  t.match((await admin.client.get('/admin/jobs')).body, /No failed jobs/)
  t.equal((await admin.client.submit('/admin/jobs/hearth-mail/nope/retry', {}, '/admin/jobs')).statusCode, 404)
  await worker.close()
})

t.test('the worker names an invalid SMTP_URL at start-up', async (t) => {
  const proc = spawnEntry('src/worker.ts', { SMTP_URL: 'mail.example.com:25', REDIS_URL, DATABASE_URL: 'postgres://127.0.0.1/none' })
  t.equal(await proc.exited, 1)
  t.match(proc.output(), /SMTP_URL: must be a URL starting with smtp:\/\/ or smtps:\/\//)
})
