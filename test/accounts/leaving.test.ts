import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo } from '../helpers/forum.js'
import { PASSWORD, persona } from '../helpers/personas.js'
import { startSmtp } from '../helpers/smtp.js'
import { drained as drainedNow, startTestWorker, type TestWorker } from '../helpers/worker.js'
import { findTraces, findTracesInFiles, memberWithFootprint } from './personal-data-helpers.js'

// Members who are online get their notification mail later (a delayed job): everyone is away here, and any such job runs now.
async function drained(worker: TestWorker, db: import('../../src/core/db.js').Db) {
  await db.updateTable('users').set({ last_seen_at: new Date(Date.now() - 3_600_000) }).execute()
  await worker.running.services.relay.drain()
  await worker.running.queue.mailQueue.promoteJobs()
  await drainedNow(worker)
}

const tmpDataDir = (t: { teardown(fn: () => unknown): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-leaving-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('anonymise: request, cancel, request again, the job deletes it, and no personal data is left anywhere', async (t) => {
  const smtp = await startSmtp(t)
  const dataDir = tmpDataDir(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url, DATA_DIR: dataDir, NOTIFICATION_MAIL_DELAY: '0' } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  const f = await forum(app, db)
  const fp = await memberWithFootprint(app, db, f)
  const { member } = fp
  // An export on disk, and the mail log the welcome mails made.
  t.equal((await member.client.api('POST', '/api/v1/me/export', {})).statusCode, 202)
  await drained(worker, db)
  t.ok((await db.selectFrom('email_log').select('id').where('user_id', '=', member.id).execute()).length > 0, 'mail was logged for the member')
  t.ok(fs.readdirSync(path.join(dataDir, 'exports')).length > 0, 'the export file exists')
  const seatsBefore = await db.selectFrom('beta_signups').select(['user_id', 'status']).where('program_id', '=', fp.program).execute()
  t.same(seatsBefore.find((s) => s.user_id === f.regular.id)?.status, 'waitlisted', 'the regular waits for the one seat')

  // Wrong password: nothing scheduled.
  const wrong = await member.client.api('DELETE', '/api/v1/me', { mode: 'anonymize', password: 'not my password' })
  t.equal(wrong.statusCode, 400)
  t.equal(wrong.data.field, 'password')
  const badMode = await member.client.api('DELETE', '/api/v1/me', { mode: 'vanish', password: PASSWORD })
  t.equal(badMode.statusCode, 400)
  t.equal(badMode.data.field, 'mode')

  const asked = await member.client.api('DELETE', '/api/v1/me', { mode: 'anonymize', password: PASSWORD })
  t.equal(asked.statusCode, 202)
  t.equal(asked.data.mode, 'anonymize')
  const due = new Date(asked.data.dueAt).getTime()
  t.ok(Math.abs(due - (Date.now() + 7 * 86_400_000)) < 60_000, 'due after the default seven days')
  t.same((await member.client.api('GET', '/api/v1/me')).data.user.deletion, { dueAt: asked.data.dueAt, mode: 'anonymize' }, 'the API shows the pending deletion')
  const page = await member.client.get('/')
  t.match(page.body, /data-deletion-pending/, 'every page shows the pending deletion')
  t.match(page.body, /action="\/settings\/delete\/cancel"/, 'with a way to cancel')

  // Cancelled, the job leaves the account alone even when it would have been due.
  t.same((await member.client.api('DELETE', '/api/v1/me/deletion')).data, { cancelled: true })
  t.notMatch((await member.client.get('/')).body, /data-deletion-pending/, 'the banner is gone')
  await worker.running.queue.enqueue('account.deletions', {})
  await drained(worker, db)
  t.equal((await db.selectFrom('users').select('deleted_at').where('id', '=', member.id).executeTakeFirstOrThrow()).deleted_at, null, 'still there')

  // Asked again; the cooling-off passes (moved back in time); the scheduled job runs.
  t.equal((await member.client.api('DELETE', '/api/v1/me', { mode: 'anonymize', password: PASSWORD })).statusCode, 202)
  await db.updateTable('users').set({ deletion_due_at: sql<Date>`now() - interval '1 minute'` as unknown as Date }).where('id', '=', member.id).execute()
  await worker.running.queue.enqueue('account.deletions', {})
  await drained(worker, db)
  await app.hearth.relay.drain()

  const after = await db.selectFrom('users').selectAll().where('id', '=', member.id).executeTakeFirstOrThrow()
  t.ok(after.deleted_at, 'the account is marked deleted')
  t.equal(after.username, `deleted-${member.id}`)
  t.equal(after.display_name, 'Deleted member')
  t.same(await findTraces(db, fp.needles), [], 'no table holds their names or address')
  t.same(findTracesInFiles(path.join(dataDir, 'uploads'), fp.needles), [], 'nor any upload')
  t.same(fs.readdirSync(path.join(dataDir, 'exports')), [], 'their export file is gone')

  // Sessions ended; logging in is impossible with any of the old names.
  t.equal((await member.client.api('GET', '/api/v1/me')).statusCode, 401, 'their session ended')
  for (const login of fp.needles) {
    t.equal((await new Client(app).api('POST', '/api/v1/auth/login', { login, password: PASSWORD })).statusCode, 400, `no log-in as ${login}`)
  }
  // Posts stay, credited to a deleted member; the like they received stays counted.
  const thread = await new Client(app).get(`/t/${fp.sharedThread.id}`)
  t.equal(thread.statusCode, 200)
  t.match(thread.body, /Deleted member/)
  t.match(thread.body, /Tomatoes mostly/, 'their words stay in anonymise mode')
  t.match(thread.body, new RegExp(`href="/u/deleted-${member.id}"`), 'mentions of them now name the deleted member')
  t.equal((await db.selectFrom('posts').select('like_count').where('id', '=', fp.ownReply).executeTakeFirstOrThrow()).like_count, 1)
  t.equal((await new Client(app).get(`/u/deleted-${member.id}`)).statusCode, 410, 'their profile says they left')
  for (const name of fp.needles.slice(0, 2)) t.equal((await new Client(app).get(`/u/${name}`)).statusCode, 404, `/u/${name} no longer leads anywhere`)
  // Their beta seat went to the next on the waitlist.
  const seats = await db.selectFrom('beta_signups').select(['user_id', 'status']).where('program_id', '=', fp.program).execute()
  t.same(seats, [{ user_id: f.regular.id, status: 'accepted' }], 'the waitlisted regular got the seat')
  // Replies to their old posts and mentions of the deleted account notify nobody.
  await replyTo(f.regular, fp.sharedThread.id, `Still thinking of @deleted-${member.id}`, fp.sharedThread.postId)
  t.equal((await db.selectFrom('notifications').select('id').where('user_id', '=', member.id).execute()).length, 0, 'a deleted account is told nothing')
  // Search no longer finds them by name.
  const search = await new Client(app).api('GET', `/api/v1/search?q=${fp.needles[1]}`)
  t.same(search.data.results ?? [], [], 'search finds nothing by their name')
})

t.test('erase: their content goes; threads others replied to stay with a placeholder; the owner can delete at once (logged)', async (t) => {
  const { app, db } = await build(t, { env: { DATA_DIR: tmpDataDir(t) } })
  const f = await forum(app, db)
  const fp = await memberWithFootprint(app, db, f)
  const { member } = fp
  const votesBefore = (await db.selectFrom('ideas').select('vote_count').where('id', '=', fp.votedIdea).executeTakeFirstOrThrow()).vote_count
  const likesBefore = (await db.selectFrom('posts').select('like_count').where('id', '=', fp.likedPost).executeTakeFirstOrThrow()).like_count
  const repliesBefore = (await db.selectFrom('threads').select('reply_count').where('id', '=', fp.sharedThread.id).executeTakeFirstOrThrow()).reply_count

  // Only admins, never on themselves or another admin.
  t.equal((await f.regular.client.api('POST', `/api/v1/admin/members/${member.id}/delete`, { mode: 'erase', when: 'now' })).statusCode, 404)
  t.equal((await f.admin.client.api('POST', `/api/v1/admin/members/${f.admin.id}/delete`, { mode: 'erase', when: 'now' })).statusCode, 409)
  const done = await f.admin.client.api('POST', `/api/v1/admin/members/${member.id}/delete`, { mode: 'erase', when: 'now', reason: `asked by mail from ${member.email}` })
  t.equal(done.statusCode, 200)
  t.same(done.data, { deleted: true })
  t.same(await findTraces(db, fp.needles), [], 'no table holds their names or address')

  const log = await db.selectFrom('moderation_log').selectAll().where('action', '=', 'member.delete').execute()
  t.equal(log.length, 1, 'the deletion is in the moderation log')
  t.equal(log[0]!.actor_id, f.admin.id)
  t.same(log[0]!.details, { mode: 'erase' })
  t.match(log[0]!.reason, /a deleted member/, 'the reason keeps no address')

  const guest = new Client(app)
  t.equal((await guest.get(`/t/${fp.soloThread.id}`)).statusCode, 404, 'a thread only they wrote in is gone')
  const shared = await guest.get(`/t/${fp.sharedThread.id}`)
  t.equal(shared.statusCode, 200, 'a thread others replied to stays')
  t.notMatch(shared.body, /Tomatoes mostly/, 'their opening words are gone')
  t.match(shared.body, /\[deleted\]/, 'shown as a placeholder')
  t.match(shared.body, /Also squash/, 'the others\' replies stay')
  const posts = await db.selectFrom('posts').select(['body_md', 'deleted_at']).where('author_id', '=', member.id).execute()
  t.ok(posts.length > 0 && posts.every((p) => p.body_md === '' && p.deleted_at), 'every post of theirs is an empty placeholder')
  t.equal((await db.selectFrom('post_revisions').innerJoin('posts', 'posts.id', 'post_revisions.post_id').select('post_revisions.id').where('posts.author_id', '=', member.id).execute()).length, 0, 'their earlier versions are gone')
  t.equal((await db.selectFrom('threads').select('reply_count').where('id', '=', fp.sharedThread.id).executeTakeFirstOrThrow()).reply_count, repliesBefore, 'their own thread keeps the others\' replies counted')
  t.equal((await db.selectFrom('posts').select('like_count').where('id', '=', fp.likedPost).executeTakeFirstOrThrow()).like_count, likesBefore - 1, 'the like they gave is taken back')
  t.equal((await db.selectFrom('ideas').select('vote_count').where('id', '=', fp.votedIdea).executeTakeFirstOrThrow()).vote_count, votesBefore - 1, 'their vote is taken back')
  const idea = await db.selectFrom('ideas').select(['author_id', 'body_md', 'title']).where('id', '=', fp.idea).executeTakeFirstOrThrow()
  t.equal(idea.author_id, null)
  t.match(idea.body_md, /deleted their account/, 'their idea keeps its title for the voters but not their words')
  const search = await guest.api('GET', '/api/v1/search?q=tomatoes')
  t.same(search.data.results ?? [], [], 'their words are gone from search')
  // Deleting twice changes nothing.
  t.equal((await f.admin.client.api('POST', `/api/v1/admin/members/${member.id}/delete`, { mode: 'erase', when: 'now' })).statusCode, 404)
})

t.test('an admin schedules a deletion; the member sees it and may cancel; the last admin cannot leave', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const scheduled = await f.admin.client.api('POST', `/api/v1/admin/members/${f.member.id}/delete`, { mode: 'anonymize', when: 'cooling-off', reason: 'asked by mail' })
  t.equal(scheduled.statusCode, 202)
  t.equal((await db.selectFrom('moderation_log').select('action').where('action', '=', 'member.delete_scheduled').execute()).length, 1)
  await app.hearth.relay.drain()
  const notes = await db.selectFrom('notifications').select('kind').where('user_id', '=', f.member.id).execute()
  t.ok(notes.some((n) => n.kind === 'account.deletion_scheduled'), 'the member is told')
  const settings = await f.member.client.get('/settings')
  t.match(settings.body, /data-deletion-scheduled/)
  const csrf = await f.member.client.csrfFrom('/settings')
  t.equal((await f.member.client.postForm('/settings/delete/cancel', { _csrf: csrf })).statusCode, 303)
  t.equal((await db.selectFrom('users').select('deletion_due_at').where('id', '=', f.member.id).executeTakeFirstOrThrow()).deletion_due_at, null, 'cancelled')

  // The only admin is told to hand over first.
  const alone = await f.admin.client.api('DELETE', '/api/v1/me', { mode: 'anonymize', password: PASSWORD })
  t.equal(alone.statusCode, 409)
  t.match(alone.data.error, /only admin/)

  // With no cooling-off, a member's own deletion happens at once and logs them out.
  await app.hearth.settings.set('account_deletion_cooling_days', 0)
  const now = await f.newbie.client.submit('/settings/delete', { mode: 'erase', password: PASSWORD }, '/settings')
  t.equal(now.statusCode, 303)
  t.ok((await db.selectFrom('users').select('deleted_at').where('id', '=', f.newbie.id).executeTakeFirstOrThrow()).deleted_at)
  t.equal((await f.newbie.client.api('GET', '/api/v1/me')).statusCode, 401)
})

t.test('the deletion form re-renders with its own errors; a guest cannot reach any of it', async (t) => {
  const { app, db } = await build(t)
  const member = await persona(app, db)
  const res = await member.client.submit('/settings/delete', { mode: 'anonymize', password: 'wrong one!' }, '/settings')
  t.equal(res.statusCode, 400)
  t.match(res.body, /id="f-leave-password-error"[^>]*>Your password is not right/)
  t.notMatch(res.body, /id="f-username-password-error"/, 'the username form shows no error')
  const guest = new Client(app)
  t.equal((await guest.api('DELETE', '/api/v1/me', { mode: 'anonymize', password: PASSWORD })).statusCode, 401)
  t.equal((await guest.api('DELETE', '/api/v1/me/deletion')).statusCode, 401)
})

t.test('a cancellation racing the deletion job: the account is either whole or deleted, never half', async (t) => {
  const { app, db } = await build(t)
  await persona(app, db, { stem: 'owner', role: 'admin' })
  const members = await Promise.all([1, 2, 3, 4].map(() => persona(app, db, { stem: 'racer', trustLevel: 1 })))
  for (const m of members) {
    t.equal((await m.client.api('DELETE', '/api/v1/me', { mode: 'anonymize', password: PASSWORD })).statusCode, 202)
  }
  await db.updateTable('users').set({ deletion_due_at: new Date(Date.now() - 1000) }).where('id', 'in', members.map((m) => m.id)).execute()
  const [deleted, ...cancels] = await Promise.all([app.hearth.leaving.runDue(), ...members.map((m) => m.client.api('DELETE', '/api/v1/me/deletion'))])
  const rows = await db.selectFrom('users').select(['id', 'deleted_at', 'deletion_due_at', 'username']).where('id', 'in', members.map((m) => m.id)).execute()
  for (const row of rows) {
    const whole = row.deleted_at === null && row.deletion_due_at === null && !row.username.startsWith('deleted-')
    const gone = row.deleted_at !== null && row.username === `deleted-${row.id}`
    t.ok(whole || gone, `member ${row.id}: whole or deleted`)
  }
  t.equal(rows.filter((r) => r.deleted_at).length, deleted, 'the job counts what it deleted')
  t.equal(cancels.filter((c) => c.statusCode === 200 && c.data.cancelled).length, rows.filter((r) => !r.deleted_at).length, 'every kept account was cancelled by its member')
})
