import { sql } from 'kysely'
import t from 'tap'
import { instanceSecret } from '../../src/core/settings.js'
import { LinkSigner } from '../../src/core/signed-tokens.js'
import { periodKey } from '../../src/features/digests/service.js'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { persona } from '../helpers/personas.js'
import { startSmtp } from '../helpers/smtp.js'
import { drained, startTestWorker } from '../helpers/worker.js'
import './digest-section.js'

const isDigest = (m: { subject: string }) => /digest/.test(m.subject)

t.test('ISO week, day and month period keys', async (t) => {
  t.equal(periodKey('weekly', new Date('2026-01-01T12:00:00Z')), 'w2026-01')
  t.equal(periodKey('weekly', new Date('2027-01-01T12:00:00Z')), 'w2026-53', 'a Friday 1 January belongs to the last week of the year before')
  t.equal(periodKey('weekly', new Date('2026-11-22T23:59:00Z')), 'w2026-47', 'Sunday closes the ISO week')
  t.equal(periodKey('weekly', new Date('2026-11-23T00:00:00Z')), 'w2026-48')
  t.equal(periodKey('daily', new Date('2026-11-22T23:59:00Z')), 'd2026-11-22')
  t.equal(periodKey('monthly', new Date('2026-11-22T23:59:00Z')), 'm2026-11')
})

t.test('the scheduled fan-out mails each due member one digest with the right items and nothing private', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url, MAIL_RATE_LIMIT: '1000' } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  t.same(worker.running.mailWorker.opts.limiter, { max: 1000, duration: 1000 }, 'the mail queue is rate-limited by MAIL_RATE_LIMIT')

  const m = async (stem: string) => persona(app, db, { stem, trustLevel: 1 })
  const alice = await m('alice')
  const bob = await m('bob')
  const carol = await m('carol')
  const dave = await m('dave')
  const erin = await m('erin')
  const frank = await m('frank')
  const gina = await m('gina')
  const hank = await m('hank')
  await drained(worker)
  const welcomeCount = smtp.messages.length

  const notify = (userId: number, text: string) => app.hearth.notifications.notify([{ userId, kind: 'moderation', text, url: `/notifications` }])
  await notify(alice.id, 'Your post <img src=x onerror=alert(1)> was featured')
  await notify(alice.id, 'Second thing for alice')
  for (const p of [carol, dave, erin, frank, gina, hank]) await notify(p.id, `Private note for ${p.username}`)
  const now = sql<Date>`now()` as unknown as Date
  await db.updateTable('users').set({ last_seen_at: now }).where('id', '=', carol.id).execute()
  await db.updateTable('users').set({ suspended_until: new Date(Date.now() + 86_400_000) }).where('id', '=', dave.id).execute()
  await db.updateTable('users').set({ email_verified_at: null }).where('id', '=', erin.id).execute()
  await db.updateTable('users').set({ digest_frequency: 'never' }).where('id', '=', frank.id).execute()
  await db.updateTable('users').set({ email_suppressed_at: now, email_suppressed_reason: '550 gone' }).where('id', '=', gina.id).execute()
  await db.updateTable('users').set({ digest_frequency: 'daily' }).where('id', '=', hank.id).execute()

  await worker.running.queue.enqueue('digest.enqueue', {})
  await drained(worker)
  const digests = smtp.messages.slice(welcomeCount).filter(isDigest)
  t.same(digests.map((d) => d.to[0]).sort(), [alice.email, hank.email].sort(), 'only due members with something to read get a digest')
  t.equal(smtp.to(bob.email).filter(isDigest).length, 0, 'an empty digest is not sent')
  const skipped = await db.selectFrom('email_log').select('status').where('user_id', '=', bob.id).where('kind', '=', 'digest').executeTakeFirst()
  t.equal(skipped?.status, 'empty', 'the empty period is recorded so the hourly run does not rebuild it')

  const mail = smtp.to(alice.email).find(isDigest)!
  t.match(mail.subject, /Your weekly digest from Hearth/)
  t.match(mail.text, /Second thing for alice/)
  t.match(mail.text, /Your post <img src=x onerror=alert\(1\)> was featured/, 'the text part shows the words as written')
  t.match(mail.html, /Your post &lt;img src&#x3D;x onerror&#x3D;alert\(1\)&gt; was featured/, 'the HTML part escapes hostile content')
  t.notMatch(mail.html, /<img src=x/)
  t.match(mail.html, /members/, 'the stats header is there')
  t.notMatch(mail.text + mail.html, /Private note/, "no one else's items")
  t.match(mail.text, /http:\/\/127\.0\.0\.1:3000\/notifications/, 'links are absolute')
  t.match(mail.headers['list-unsubscribe']!, /^<http:\/\/127\.0\.0\.1:3000\/email\/unsubscribe\?token=[\w.-]+>$/)
  t.equal(mail.headers['list-unsubscribe-post'], 'List-Unsubscribe=One-Click')
  t.match(mail.text, /Unsubscribe: http:\/\/127\.0\.0\.1:3000\/email\/unsubscribe\?token=/, 'the footer carries the link too')

  // Run everything again, and add a duplicate job by hand: still one digest each.
  await worker.running.queue.enqueue('digest.enqueue', {})
  await worker.running.queue.enqueue('mail.digest', { userId: alice.id, periodKey: periodKey('weekly', new Date()) })
  await drained(worker)
  t.equal(smtp.to(alice.email).filter(isDigest).length, 1, 'running the job twice sends nothing more')

  // Unsubscribe by one click, as a mail client does (RFC 8058): no cookies, no CSRF token.
  const link = new URL(mail.headers['list-unsubscribe']!.slice(1, -1))
  const linkPath = link.pathname + link.search
  const guest = new Client(app)
  const opened = await guest.get(linkPath)
  t.equal(opened.statusCode, 200)
  t.match(opened.body, /Stop the email digest\?/)
  const stillWeekly = await db.selectFrom('users').select('digest_frequency').where('id', '=', alice.id).executeTakeFirstOrThrow()
  t.equal(stillWeekly.digest_frequency, 'weekly', 'opening the link (as a mail scanner would) changes nothing')
  const forged = await guest.postForm(`${linkPath.slice(0, -3)}AAA`, { 'List-Unsubscribe': 'One-Click' })
  t.equal(forged.statusCode, 400)
  t.match(forged.body, /This link is not valid.*Nothing was changed/s)
  const secret = await instanceSecret(db, null)
  const expiredToken = new LinkSigner(secret).sign({ purpose: 'unsubscribe', userId: alice.id, subject: 'digest', expiresAt: Math.floor(Date.now() / 1000) - 60 })
  const expired = await guest.postForm(`/email/unsubscribe?token=${expiredToken}`, { 'List-Unsubscribe': 'One-Click' })
  t.equal(expired.statusCode, 400)
  t.match(expired.body, /This link has expired\. Nothing was changed\./)
  const wrongPurpose = new LinkSigner(secret).sign({ purpose: 'verify-email', userId: alice.id, subject: 'digest', expiresAt: Math.floor(Date.now() / 1000) + 60 })
  t.equal((await guest.postForm(`/email/unsubscribe?token=${wrongPurpose}`, {})).statusCode, 400, 'a token for another purpose is refused')
  t.equal((await db.selectFrom('users').select('digest_frequency').where('id', '=', alice.id).executeTakeFirstOrThrow()).digest_frequency, 'weekly')

  const oneClick = await guest.postForm(linkPath, { 'List-Unsubscribe': 'One-Click' })
  t.equal(oneClick.statusCode, 200)
  t.match(oneClick.body, /You will no longer get the email digest/)
  const again = await guest.postForm(linkPath, { 'List-Unsubscribe': 'One-Click' })
  t.equal(again.statusCode, 200, 'a second click is harmless')
  t.equal((await db.selectFrom('users').select('digest_frequency').where('id', '=', alice.id).executeTakeFirstOrThrow()).digest_frequency, 'never')

  // Next period: hank (control) gets another digest, alice does not. Time is simulated by
  // ageing the log and clearing finished jobs (their ids carry the period, which would have moved on).
  await worker.running.queue.mailQueue.clean(0, 10_000, 'completed')
  await sql`update email_log set period_key = 'd2000-01-01', created_at = now() - interval '40 days' where kind = 'digest'`.execute(db)
  await notify(alice.id, 'Newer for alice')
  await notify(hank.id, 'Newer for hank')
  await worker.running.queue.enqueue('digest.enqueue', {})
  await drained(worker)
  t.equal(smtp.to(hank.email).filter(isDigest).length, 2, 'the control member gets the next digest')
  t.equal(smtp.to(alice.email).filter(isDigest).length, 1, 'the unsubscribed member does not')
  await worker.close()
})
