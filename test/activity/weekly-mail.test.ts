import t from 'tap'
import { isoWeek } from '../../src/features/activity/weekly.js'
import { build } from '../helpers/app.js'
import { replyTo, startThread } from '../helpers/forum.js'
import { persona } from '../helpers/personas.js'
import { startSmtp } from '../helpers/smtp.js'
import { drained, startTestWorker } from '../helpers/worker.js'

const DAY = 86_400_000

t.test('ISO weeks', async (t) => {
  t.equal(isoWeek(new Date('2026-11-30T00:00:00Z')), '2026-W49')
  t.equal(isoWeek(new Date('2027-01-01T00:00:00Z')), '2026-W53', 'early January can belong to the last week of the year before')
  t.equal(isoWeek(new Date('2024-12-30T00:00:00Z')), '2025-W01', 'late December can belong to the next year')
})

t.test('each admin gets the weekly health report once, through a real worker and SMTP; members never', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  const admin = await persona(app, db, { stem: 'owner', role: 'admin', trustLevel: 4 })
  const member = await persona(app, db, { stem: 'member', trustLevel: 1 })
  const cat = (await admin.client.api('POST', '/api/v1/categories', { name: 'General', slug: 'general' })).data.category.id as number
  // Last week: three threads, one answered; the week before: quiet.
  for (let i = 0; i < 3; i++) {
    const th = await startThread(member, cat, `Setup question ${i + 1}`, 'How?')
    const at = new Date(Date.now() - (2 + i) * DAY)
    await db.updateTable('threads').set({ created_at: at }).where('id', '=', th.id).execute()
    await db.updateTable('posts').set({ created_at: at }).where('id', '=', th.postId).execute()
    if (i === 0) {
      const reply = await replyTo(admin, th.id, 'Like so.', th.postId)
      await db.updateTable('posts').set({ created_at: new Date(at.getTime() + 30 * 60_000) }).where('id', '=', reply).execute()
    }
  }
  // The member was online when the admin answered: their reply notification mail waits (delayed); not this test's subject.
  await worker.running.services.relay.drain()
  await app.hearth.relay.drain()
  await worker.running.queue.mailQueue.drain(true)
  await drained(worker)
  await db.deleteFrom('activity_log').execute()
  await db.deleteFrom('member_days').execute()
  await app.hearth.activity.nightly()
  await smtp.waitFor((ms) => ms.length >= 2) // the two welcome mails
  const before = smtp.messages.length

  await worker.running.queue.enqueue('health.weekly_report', {})
  await drained(worker)
  await smtp.waitFor((ms) => ms.length > before)
  const reports = smtp.messages.slice(before)
  t.equal(reports.length, 1, 'one mail: the admin')
  const [report] = reports
  t.same(report!.to, [admin.email])
  t.match(report!.subject, /Hearth this week: \d+ numbers? moved/)
  t.match(report!.text, /\* Posts and replies: 4 \(the week before: 0, new\)/, 'what moved, first, with the week before')
  t.match(report!.text, /2 thread\(s\) started this week have no answer yet/)
  t.match(report!.text, /Setup question 2/)
  t.match(report!.text, /\/admin\/health\?days=7/, 'a link to the dashboard')
  t.match(report!.html, /<table/, 'the HTML version has the figures in a table')

  // Once per week: running the job again sends nothing new.
  await worker.running.queue.enqueue('health.weekly_report', {})
  await drained(worker)
  t.equal(smtp.messages.length, before + 1, 'no second report for the same week')
  t.equal((await db.selectFrom('email_log').select('id').where('kind', '=', 'health.report').execute()).length, 1)

  // The owner can switch it off.
  await app.hearth.settings.set('health_report_mail', false)
  await db.deleteFrom('email_log').where('kind', '=', 'health.report').execute()
  await worker.running.queue.enqueue('health.weekly_report', {})
  await drained(worker)
  t.equal(smtp.messages.length, before + 1, 'switched off: nothing')
})
