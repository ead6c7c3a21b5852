import t from 'tap'
import { RESET_REQUESTS_PER_HOUR, RESET_SENT } from '../../src/features/accounts/routes.js'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { PASSWORD, persona } from '../helpers/personas.js'
import { startSmtp } from '../helpers/smtp.js'
import { drained, startTestWorker } from '../helpers/worker.js'

const NEW_PASSWORD = 'a brand new passphrase 42'

const resetPathIn = (text: string) => {
  const m = /http:\/\/127\.0\.0\.1:3000(\/password-reset\/[\w-]+)/.exec(text)
  if (!m) throw new Error(`no reset link in:\n${text}`)
  return m[1]!
}

const me = (app: Client['app'], headers: Record<string, string>) => app.inject({ method: 'GET', url: '/api/v1/me', headers })

t.test('the whole flow: a mailed single-use link sets the password, ends every session and token, and logs in', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  const member = await persona(app, db, { stem: 'forgetful' })
  const laptop = new Client(app)
  t.equal((await laptop.api('POST', '/api/v1/auth/login', { login: member.username, password: PASSWORD })).statusCode, 200)
  const { token: apiToken } = await app.hearth.sessions.createApiToken(member.id, 'script')
  await drained(worker)
  smtp.messages.length = 0

  const login = await new Client(app).get('/login')
  t.match(login.body, /<a href="\/password-reset">Forgot your password\?<\/a>/, 'the log-in page links to the reset page')

  const browser = new Client(app)
  const asked = await browser.submit('/password-reset', { email: member.email.toUpperCase() })
  t.equal(asked.statusCode, 202)
  t.match(asked.body, /If an account has that address/)
  await smtp.waitFor((ms) => ms.some((m) => m.to.includes(member.email)))
  const [mail] = smtp.to(member.email)
  t.match(mail!.subject, /Reset your password on Hearth/)
  t.match(mail!.html, /Choose a new password/)
  t.match(mail!.text, /It works once, for 60 minutes/)
  const path = resetPathIn(mail!.text)
  t.match(mail!.html, path, 'the HTML part carries the same link')
  const stored = await db.selectFrom('password_resets').select('token_hash').where('user_id', '=', member.id).execute()
  t.equal(stored.length, 1)
  t.notOk(path.includes(stored[0]!.token_hash), 'only a digest of the token is stored')

  const form = await browser.get(path)
  t.equal(form.statusCode, 200)
  t.equal(form.headers['referrer-policy'], 'no-referrer')
  t.match(form.body, /New password again/)
  const differ = await browser.submit(path, { password: NEW_PASSWORD, confirm: 'something else entirely' })
  t.equal(differ.statusCode, 400)
  t.match(differ.body, /The two passwords differ/)
  const weak = await browser.submit(path, { password: 'short', confirm: 'short' })
  t.match(weak.body, /Passwords are at least 10 characters/)
  t.equal((await browser.get(path)).statusCode, 200, 'a refused form leaves the link usable')

  const done = await browser.submit(path, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })
  t.equal(done.statusCode, 303)
  t.equal(done.headers.location, '/settings?saved=password-reset')
  t.match((await browser.get('/settings?saved=password-reset')).body, /Your new password is set and you are logged in/)
  t.equal((await browser.api('GET', '/api/v1/me')).statusCode, 200, 'the page flow logs the member in')
  t.equal((await member.client.api('GET', '/api/v1/me')).statusCode, 401, 'the old session ended')
  t.equal((await laptop.api('GET', '/api/v1/me')).statusCode, 401, 'the other device’s session ended')
  t.equal((await me(app, { authorization: `Bearer ${apiToken}` })).statusCode, 401, 'the API token was revoked')
  t.equal((await new Client(app).api('POST', '/api/v1/auth/login', { login: member.username, password: PASSWORD })).statusCode, 400, 'the old password no longer works')
  t.equal((await new Client(app).api('POST', '/api/v1/auth/login', { login: member.username, password: NEW_PASSWORD })).statusCode, 200)

  const again = await new Client(app).get(path)
  t.equal(again.statusCode, 400)
  t.match(again.body, /already been used/)
  const reuse = await new Client(app).api('POST', '/api/v1/auth/password-reset/confirm', { token: path.split('/').pop(), password: 'yet another passphrase' })
  t.equal(reuse.statusCode, 400)
  t.match(reuse.data.error, /already been used.*Nothing was changed/)
  await worker.close()
})

t.test('no account, or a suppressed address: the same 202 and no mail', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  const member = await persona(app, db, { stem: 'bounced' })
  await db.updateTable('users').set({ email_suppressed_at: new Date(), email_suppressed_reason: 'bounce' }).where('id', '=', member.id).execute()
  await drained(worker)
  smtp.messages.length = 0

  const nobody = await new Client(app).api('POST', '/api/v1/auth/password-reset', { email: 'nobody@example.test' })
  const suppressed = await new Client(app).api('POST', '/api/v1/auth/password-reset', { email: member.email })
  t.equal(nobody.statusCode, 202)
  t.same(nobody.data, { message: RESET_SENT })
  t.same([suppressed.statusCode, suppressed.body], [nobody.statusCode, nobody.body], 'the answers are identical')
  await drained(worker)
  const results = (await worker.running.queue.mailQueue.getCompleted()).filter((j) => j.name === 'mail.password_reset').map((j) => j.returnvalue)
  t.same(results, [{ result: 'no-account' }, { result: 'no-account' }], 'both requests were looked at by the job, which sent nothing')
  t.same(smtp.messages, [], 'no mail')
  t.equal((await db.selectFrom('password_resets').select('id').execute()).length, 0, 'and no link exists')
  t.equal((await new Client(app).api('POST', '/api/v1/auth/password-reset', { email: 'not an address' })).statusCode, 400, 'a malformed address is a field error')
  await worker.close()
})

t.test('a link is single-use under two concurrent uses', async (t) => {
  const { app, db } = await build(t)
  const member = await persona(app, db, { stem: 'raced' })
  for (let round = 0; round < 5; round++) {
    const token = await app.hearth.accounts.issueResetToken(member.id)
    const passwords = [`first racer passphrase ${round}`, `second racer passphrase ${round}`]
    const results = await Promise.all(passwords.map((password) => new Client(app).api('POST', '/api/v1/auth/password-reset/confirm', { token, password })))
    const codes = results.map((r) => r.statusCode).sort()
    t.same(codes, [200, 400], `round ${round}: exactly one use wins`)
    const winner = passwords[results.findIndex((r) => r.statusCode === 200)]!
    const loser = passwords.find((p) => p !== winner)!
    t.equal((await new Client(app).api('POST', '/api/v1/auth/login', { login: member.username, password: winner })).statusCode, 200)
    t.equal((await new Client(app).api('POST', '/api/v1/auth/login', { login: member.username, password: loser })).statusCode, 400, 'the losing use changed nothing')
  }
})

t.test('an expired, forged or superseded link changes nothing and says why', async (t) => {
  const { app, db } = await build(t)
  const member = await persona(app, db, { stem: 'late' })
  const hashBefore = async () => (await db.selectFrom('users').select('password_hash').where('id', '=', member.id).executeTakeFirstOrThrow()).password_hash
  const original = await hashBefore()

  const token = await app.hearth.accounts.issueResetToken(member.id)
  await db.updateTable('password_resets').set({ expires_at: new Date(Date.now() - 1000) }).execute()
  const page = await new Client(app).get(`/password-reset/${token}`)
  t.equal(page.statusCode, 400)
  t.match(page.body, /This reset link has expired/)
  t.notMatch(page.body, /New password again/, 'no form for a dead link')
  const late = await new Client(app).api('POST', '/api/v1/auth/password-reset/confirm', { token, password: NEW_PASSWORD })
  t.equal(late.statusCode, 400)
  t.match(late.data.error, /expired/)

  const forged = await new Client(app).api('POST', '/api/v1/auth/password-reset/confirm', { token: 'A'.repeat(43), password: NEW_PASSWORD })
  t.equal(forged.statusCode, 400)
  t.match(forged.data.error, /not valid/)
  t.match((await new Client(app).get('/password-reset/%3Cscript%3E')).body, /not valid/)
  t.equal(await hashBefore(), original, 'the password never changed')
  t.ok(await member.client.api('GET', '/api/v1/me').then((r) => r.statusCode === 200), 'and the session lives on')

  // Using one link retires every other link of the member.
  const older = await app.hearth.accounts.issueResetToken(member.id)
  const newer = await app.hearth.accounts.issueResetToken(member.id)
  t.equal((await new Client(app).api('POST', '/api/v1/auth/password-reset/confirm', { token: newer, password: NEW_PASSWORD })).statusCode, 200)
  const stale = await new Client(app).api('POST', '/api/v1/auth/password-reset/confirm', { token: older, password: 'someone else passphrase' })
  t.equal(stale.statusCode, 400)
})

t.test('with mail off, asking says so (alike for every address) and points to an admin', async (t) => {
  const { app, db } = await build(t)
  const member = await persona(app, db, { stem: 'nomail' })
  const known = await new Client(app).api('POST', '/api/v1/auth/password-reset', { email: member.email })
  const unknown = await new Client(app).api('POST', '/api/v1/auth/password-reset', { email: 'nobody@example.test' })
  t.equal(known.statusCode, 503)
  t.match(known.data.error, /sends no mail yet.*Ask an admin/)
  t.same([unknown.statusCode, unknown.body], [known.statusCode, known.body])
  const page = await new Client(app).submit('/password-reset', { email: member.email })
  t.equal(page.statusCode, 503)
  t.match(page.body, /data-reset-mail-off/)
  t.equal((await db.selectFrom('outbox').select('id').where('type', '=', 'password.reset_requested').execute()).length, 0, 'nothing is recorded')
})

t.test('requests are rate-limited per IP and per address', async (t) => {
  const { app } = await build(t, { redis: true })
  const ask = (email: string, ip: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/password-reset', remoteAddress: ip, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email }) })
  for (let i = 0; i < RESET_REQUESTS_PER_HOUR; i++) t.equal((await ask('target@example.test', `10.0.0.${i + 1}`)).statusCode, 202)
  const sameAddress = await ask('TARGET@example.test', '10.0.1.1')
  t.equal(sameAddress.statusCode, 429, 'a new IP buys no more mail to one address')
  for (let i = 0; i < RESET_REQUESTS_PER_HOUR; i++) t.equal((await ask(`other${i}@example.test`, '10.0.2.1')).statusCode, 202)
  t.equal((await ask('fresh@example.test', '10.0.2.1')).statusCode, 429, 'a new address buys one IP no more requests')
})

t.test('an admin helps a member back in from /admin; with mail off they get a one-time link, logged', async (t) => {
  const { app, db } = await build(t)
  const admin = await persona(app, db, { stem: 'owner', role: 'admin' })
  const member = await persona(app, db, { stem: 'lockedout' })
  const other = await persona(app, db, { stem: 'nosy' })
  t.equal((await other.client.postForm(`/admin/members/${member.id}/password-reset`, { _csrf: await other.client.csrfFrom('/settings') })).statusCode, 404, 'members cannot')

  const page = await admin.client.get(`/admin?member=${member.username}`)
  t.match(page.body, /Make a one-time password-reset link/)
  const made = await admin.client.submit(`/admin/members/${member.id}/password-reset`, {}, `/admin?member=${member.username}`)
  t.equal(made.statusCode, 200)
  t.equal(made.headers['cache-control'], 'no-store')
  const path = resetPathIn(made.body)
  const logged = await db.selectFrom('moderation_log').select(['action', 'actor_id', 'target_id']).where('action', '=', 'member.password_reset').execute()
  t.same(logged, [{ action: 'member.password_reset', actor_id: admin.id, target_id: String(member.id) }])

  const browser = new Client(app)
  t.equal((await browser.submit(path, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })).statusCode, 303)
  t.equal((await member.client.api('GET', '/api/v1/me')).statusCode, 401, 'the member’s old session ended')
  t.equal((await browser.api('GET', '/api/v1/me')).data.user.username, member.username)
})
