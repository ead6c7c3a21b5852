import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum } from '../helpers/forum.js'
import { startSmtp } from '../helpers/smtp.js'
import { drained as drainedNow, startTestWorker, type TestWorker } from '../helpers/worker.js'
import { memberWithFootprint } from './personal-data-helpers.js'

// Members who are online get their notification mail later (a delayed job): everyone is away here, and any such job runs now.
async function drained(worker: TestWorker, db: import('../../src/core/db.js').Db) {
  await db.updateTable('users').set({ last_seen_at: new Date(Date.now() - 3_600_000) }).execute()
  await worker.running.services.relay.drain()
  await worker.running.queue.mailQueue.promoteJobs()
  await drainedNow(worker)
}

/** Every kind of thing the export must hold, as `data/<key>.json`, with what a row of it must show. */
const KINDS: Record<string, (items: Record<string, any>[]) => boolean> = {
  profile: (items) => items.length === 1 && typeof items[0]!.email === 'string' && !('password_hash' in items[0]!),
  sessions: (items) => items.length > 0 && items.every((s) => !('secret_hash' in s) && !('id' in s) && 'ip' in s),
  api_tokens: (items) => items.length === 1 && items.every((s) => !('secret_hash' in s) && !('id' in s)),
  former_usernames: (items) => items.length === 1,
  // Their two threads, and the comment thread their idea opened.
  threads: (items) => items.length === 3 && items.some((i) => i.title === 'Notes from my garden'),
  posts: (items) => items.length === 4 && items.some((p) => /edited/.test(p.body_md)),
  post_revisions: (items) => items.some((r) => /first draft/.test(r.body_md)),
  likes: (items) => items.length === 1,
  ideas: (items) => items.length === 1 && /Seed swap/.test(items[0]!.title),
  // Their own idea (an author votes for it) and the one they backed.
  idea_votes: (items) => items.length === 2,
  idea_follows: (items) => items.length >= 1,
  beta_signups: (items) => items.length === 1 && /reach me at/.test(items[0]!.answers.why),
  flags: (items) => items.length === 1 && /Flagged by/.test(items[0]!.note),
  notifications: (items) => items.some((n) => n.kind === 'reply' && /repl/.test(n.payload.text)),
  email_log: (items) => items.some((m) => m.kind === 'welcome'),
  moderation_about_you: (items) => items.length >= 1,
  data_exports: (items) => items.length === 1,
  read_markers: (items) => items.length >= 1,
  reading_stats: () => true,
  moderating: () => true,
  password_resets: (items) => items.length === 1,
}

t.test('data export: asked from settings, built by a job, notified and mailed, downloadable only by its member until it expires', async (t) => {
  const smtp = await startSmtp(t)
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-export-'))
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url, DATA_DIR: dataDir, NOTIFICATION_MAIL_DELAY: '0' } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  const f = await forum(app, db)
  const fp = await memberWithFootprint(app, db, f)
  const { member } = fp
  // Reading a thread leaves a read marker.
  await member.client.get(`/t/${fp.sharedThread.id}`)
  await drained(worker, db)

  t.same((await member.client.api('GET', '/api/v1/me/export')).data, { export: null }, 'nothing asked yet')
  const asked = await member.client.submit('/settings/export', {}, '/settings')
  t.equal(asked.statusCode, 303)
  // Away from the site, so the notification is mailed rather than left for the app.
  await db.updateTable('users').set({ last_seen_at: new Date(Date.now() - 3_600_000) }).where('id', '=', member.id).execute()
  await drained(worker, db)
  await smtp.waitFor((messages) => messages.some((m) => m.to.includes(member.email) && /data export is ready/.test(m.subject + m.text)))

  const status = await member.client.api('GET', '/api/v1/me/export')
  t.equal(status.data.export.status, 'ready')
  const url = status.data.export.url as string
  t.match(url, /^\/settings\/export\/[A-Za-z0-9_-]{32}$/)
  const notification = await db.selectFrom('notifications').select(['url', 'kind']).where('user_id', '=', member.id).where('kind', '=', 'account.export_ready').executeTakeFirstOrThrow()
  t.equal(notification.url, url, 'the notification links to the download')
  t.match((await member.client.get('/settings')).body, /data-export-ready/)

  // Only the member: others and guests get 404, as for a made-up link.
  t.equal((await f.regular.client.get(url)).statusCode, 404)
  t.equal((await f.admin.client.get(url)).statusCode, 404, 'not even an admin')
  t.equal((await new Client(app).get(url)).statusCode, 404)
  t.equal((await member.client.get('/settings/export/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).statusCode, 404)

  const download = await member.client.get(url)
  t.equal(download.statusCode, 200)
  t.equal(download.headers['content-type'], 'application/zip')
  t.match(download.headers['content-disposition'], /attachment; filename=".+\.zip"/)
  t.match(download.headers['cache-control'], /no-store/)
  const zip = path.join(dataDir, 'downloaded.zip')
  fs.writeFileSync(zip, download.rawPayload)
  const listing = execFileSync('unzip', ['-Z1', zip]).toString().split('\n').filter(Boolean)
  t.ok(listing.includes('index.html'), 'a readable page')
  for (const [key, check] of Object.entries(KINDS)) {
    t.ok(listing.includes(`data/${key}.json`), `${key} is in the archive`)
    const items = JSON.parse(execFileSync('unzip', ['-p', zip, `data/${key}.json`]).toString())
    t.ok(Array.isArray(items) && check(items), `${key} holds what it should`, { found: JSON.stringify(items).slice(0, 600) })
  }
  const html = execFileSync('unzip', ['-p', zip, 'index.html']).toString()
  t.match(html, new RegExp(member.username), 'the page names the member')
  t.match(html, /Seed swap board/)
  t.notMatch(html, /<script/i, 'no scripts in the page')
  const everything = execFileSync('unzip', ['-p', zip]).toString()
  t.notMatch(everything, /\$argon2/, 'no password hash anywhere')

  // Asking twice at once (two tabs) makes one export, and both answers name it.
  const [first, second] = await Promise.all([member.client.api('POST', '/api/v1/me/export', {}), member.client.api('POST', '/api/v1/me/export', {})])
  t.equal(first.statusCode, 202)
  t.equal(first.data.export.status, 'pending')
  t.equal((await db.selectFrom('data_exports').select('id').where('user_id', '=', member.id).where('status', '=', 'pending').execute()).length, 1)
  t.equal(second.data.export.createdAt, first.data.export.createdAt)
  await drained(worker, db)

  // Expired: the hourly job removes the files; the link answers 404.
  await db.updateTable('data_exports').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', member.id).execute()
  await worker.running.queue.enqueue('account.exports_purge', {})
  await drained(worker, db)
  t.equal((await member.client.get(url)).statusCode, 404, 'an expired link is gone')
  t.same(fs.readdirSync(path.join(dataDir, 'exports')), [], 'and so are the files')
})
