import { sql } from 'kysely'
import t from 'tap'
import { build } from '../helpers/app.js'
import { persona } from '../helpers/personas.js'
import { startSmtp } from '../helpers/smtp.js'
import { drained, startTestWorker } from '../helpers/worker.js'

t.test('notifications for a member who is away are batched into one mail, of the kinds they want', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url, NOTIFICATION_MAIL_DELAY: '2' } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  const admin = await persona(app, db, { stem: 'admin', role: 'admin' })
  const alice = await persona(app, db, { stem: 'alice' })
  const bob = await persona(app, db, { stem: 'bob' })
  await drained(worker)
  const mails = () => smtp.to(alice.email).filter((m) => !/Welcome/.test(m.subject))
  const notify = (userId: number, kind: string, text: string) =>
    app.hearth.notifications.notify([{ userId, kind, text, url: '/t/1#p2', actorId: admin.id }])

  await notify(alice.id, 'reply', 'bob replied to <b>your</b> thread')
  await notify(alice.id, 'mention', 'bob mentioned you in "Roadmap"')
  await notify(alice.id, 'reply', 'bob replied again')
  await notify(alice.id, 'moderation', 'a moderator note is never mailed')
  t.equal(mails().length, 0, 'nothing goes out at once: the batch waits a few minutes (2 s here)')
  await drained(worker)
  t.equal(mails().length, 1, 'three events, one mail')
  const mail = mails()[0]!
  t.equal(mail.subject, '3 new notifications on Hearth')
  t.match(mail.text, /bob replied to <b>your<\/b> thread/)
  t.match(mail.html, /bob replied to &lt;b&gt;your&lt;\/b&gt; thread/, 'hostile text is escaped in HTML')
  t.match(mail.text, /bob mentioned you in "Roadmap"/)
  t.match(mail.text, /bob replied again/)
  t.notMatch(mail.text, /moderator note/, 'kinds that are not mail kinds stay in the app')
  t.match(mail.text, /http:\/\/127\.0\.0\.1:3000\/notifications\/\d+/, 'each links to the notification, which marks it read')
  t.match(mail.headers['list-unsubscribe']!, /unsubscribe\?token=/)

  // Mentions switched off in /settings: only the reply goes out.
  const page = await alice.client.get('/settings')
  t.match(page.body, /name="mail_mention" value="on" checked/)
  const saved = await alice.client.submit('/settings/mail', { mail_reply: 'on', 'mail_idea.status': 'on', mail_beta: 'on' }, '/settings')
  t.equal(saved.statusCode, 303)
  t.notMatch((await alice.client.get('/settings')).body, /name="mail_mention" value="on" checked/)
  await notify(alice.id, 'mention', 'bob mentioned you again')
  await notify(alice.id, 'reply', 'carol replied')
  await drained(worker)
  t.equal(mails().length, 2)
  t.equal(mails()[1]!.subject, 'carol replied', 'a single notification is the subject')
  t.notMatch(mails()[1]!.text, /mentioned you again/)

  // Read in the app before the batch goes out: not mailed.
  const [read] = await notify(alice.id, 'reply', 'read before the mail')
  await app.hearth.notifications.markRead(alice.id, [read!.id])
  await drained(worker)
  t.equal(mails().length, 2, 'a notification read in the app is not mailed')

  // Online members are not mailed now; the job looks again later.
  await db.updateTable('users').set({ last_seen_at: sql<Date>`now()` as unknown as Date }).where('id', '=', bob.id).execute()
  await notify(bob.id, 'idea.status', 'An idea you voted on is now planned')
  await new Promise((r) => setTimeout(r, 2_500))
  await smtp.waitFor(() => true)
  const later = await worker.running.queue.mailQueue.getDelayed()
  t.ok(later.some((j) => j.id?.startsWith(`notify-later-${bob.id}-`)), 'a later look is scheduled')
  t.equal(smtp.to(bob.email).filter((m) => !/Welcome/.test(m.subject)).length, 0, 'an online member gets no mail')

  // Unsubscribing from the link stops every notification kind.
  const link = new URL(mail.headers['list-unsubscribe']!.slice(1, -1))
  const res = await app.inject({ method: 'POST', url: link.pathname + link.search, payload: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(res.statusCode, 200)
  const row = await db.selectFrom('users').select(['mail_off_kinds', 'digest_frequency']).where('id', '=', alice.id).executeTakeFirstOrThrow()
    t.same([...row.mail_off_kinds].sort(), ['beta.accepted', 'beta.promoted', 'flag.hidden', 'flag.resolved', 'idea.status', 'like', 'mention', 'moderator.appointed', 'moderator.demoted', 'moderator.invited', 'moderator.promoted', 'posted', 'reply'])
  t.equal(row.digest_frequency, 'weekly', 'the digest is a separate choice')
  const multipart = await app.inject({
    method: 'POST',
    url: link.pathname + link.search,
    payload: '--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b--\r\n',
    headers: { 'content-type': 'multipart/form-data; boundary=b' },
  })
  t.equal(multipart.statusCode, 200, 'a multipart one-click post works too')
  await notify(alice.id, 'reply', 'after unsubscribing')
  await new Promise((r) => setTimeout(r, 2_500))
  await drained(worker).catch(() => {})
  t.equal(mails().length, 2, 'nothing more is mailed')
  await worker.close()
})
