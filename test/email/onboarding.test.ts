import t from 'tap'
import { CommunitySettings } from '../../src/core/settings.js'
import { ensure, type GuardSettings, viewerOf } from '../../src/core/guard.js'
import { Forbidden } from '../../src/core/errors.js'
import { instanceSecret } from '../../src/core/settings.js'
import { LinkSigner } from '../../src/core/signed-tokens.js'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { PASSWORD, persona } from '../helpers/personas.js'
import { startSmtp } from '../helpers/smtp.js'
import { drained, startTestWorker } from '../helpers/worker.js'

const linkIn = (text: string, path: string) => {
  const m = new RegExp(`http://127\\.0\\.0\\.1:3000(${path.replace(/[?.]/g, '\\$&')}[\\w.-]+)`).exec(text)
  if (!m) throw new Error(`no ${path} link in:\n${text}`)
  return m[1]!
}

t.test('signed links: forged, wrong purpose and expired tokens are refused', async (t) => {
  const signer = new LinkSigner('x'.repeat(40))
  const token = signer.sign({ purpose: 'verify-email', userId: 7, subject: 'a@b.test', expiresAt: Math.floor(Date.now() / 1000) + 60 })
  t.match(signer.verify(token, 'verify-email'), { ok: true, claims: { userId: 7, subject: 'a@b.test' } })
  t.same(signer.verify(token, 'unsubscribe'), { ok: false, reason: 'invalid' })
  t.same(new LinkSigner('y'.repeat(40)).verify(token, 'verify-email'), { ok: false, reason: 'invalid' }, 'another instance secret')
  const [body, mac] = token.split('.')
  const tampered = Buffer.from(JSON.stringify(['verify-email', 8, 9_999_999_999, 'a@b.test'])).toString('base64url')
  t.same(signer.verify(`${tampered}.${mac}`, 'verify-email'), { ok: false, reason: 'invalid' }, 'a changed body fails the signature')
  t.same(signer.verify(`${body}.`, 'verify-email'), { ok: false, reason: 'invalid' })
  t.same(signer.verify('garbage', 'verify-email'), { ok: false, reason: 'invalid' })
  t.same(signer.verify(token, 'verify-email', Date.now() + 120_000), { ok: false, reason: 'expired' })
})

t.test('posting can require a verified address (a community setting)', async (t) => {
  const { db } = await build(t)
  const settings = new CommunitySettings(db)
  t.equal((await settings.all()).require_verified_email_to_post, false, 'off by default')
  const member = { id: 1, role: 'member' as const, trust_level: 1, suspended_until: null, silenced_until: null }
  const assertMayPost = (user: { email_verified_at: Date | null }, settings: GuardSettings) =>
    ensure(viewerOf({ ...member, ...user }), 'reply', { categoryId: 1, thread: { locked: false, deleted_at: null } }, { settings })
  t.doesNotThrow(() => assertMayPost({ email_verified_at: null }, { require_verified_email_to_post: false }))
  await settings.set('require_verified_email_to_post', true)
  const on = await settings.all()
  t.throws(() => assertMayPost({ email_verified_at: null }, on), new Forbidden('Confirm your email address before posting: use the link we mailed you, or resend it from your settings.'))
  t.doesNotThrow(() => assertMayPost({ email_verified_at: new Date() }, on))
})

t.test('sign-up sends a welcome mail with the guidelines and a single-use verification link', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  await app.hearth.settings.set('guidelines', 'Be **kind**. <script>alert("x")</script> No spam.')
  await app.hearth.settings.set('require_verified_email_to_post', true)
  // The form is submitted at once, faster than a person (test/spam/signup.test.ts covers the timing).
  await app.hearth.settings.set('spam_signup_min_seconds', 0)

  const browser = new Client(app)
  const signedUp = await browser.submit('/signup', { username: 'hazel', email: 'hazel@example.test', password: PASSWORD })
  t.equal(signedUp.statusCode, 303)
  await smtp.waitFor((ms) => ms.some((m) => m.to.includes('hazel@example.test')))
  const [welcome] = smtp.to('hazel@example.test')
  t.equal(welcome!.subject, 'Welcome to Hearth')
  t.match(welcome!.html, /<strong>kind<\/strong>/, 'the guidelines are rendered markdown')
  t.notMatch(welcome!.html, /<script>/, 'raw HTML in the guidelines is not passed through')
  t.match(welcome!.text, /you can post once it is confirmed/)
  t.ok(welcome!.headers['list-unsubscribe'], 'even the welcome mail carries an unsubscribe link')

  let settings = await browser.get('/settings')
  t.match(settings.body, /data-unverified/, 'settings show the address is not confirmed')
  t.match(settings.body, /Resend the confirmation link/)

  const path = linkIn(welcome!.text, '/email/verify?token=')
  const confirmed = await new Client(app).get(path)
  t.equal(confirmed.statusCode, 200, 'no log-in needed')
  t.match(confirmed.body, /hazel@example\.test is confirmed/)
  settings = await browser.get('/settings')
  t.match(settings.body, /data-verified/)
  t.notMatch(settings.body, /Resend the confirmation link/)

  const reused = await browser.get(path)
  t.equal(reused.statusCode, 400)
  t.match(reused.body, /already been used.*Nothing was changed/s)
  const forged = await browser.get(`${path.slice(0, -2)}xx`)
  t.equal(forged.statusCode, 400)
  t.match(forged.body, /This link is not valid/)
  t.equal((await browser.get('/email/verify?token=%3Cscript%3E')).statusCode, 400, 'a token with odd characters is a clear refusal too')

  // Changing the address needs the password and re-verifies.
  const wrong = await browser.submit('/settings/email', { email: 'hazel.new@example.test', password: 'not my password' }, '/settings')
  t.equal(wrong.statusCode, 400)
  t.match(wrong.body, /Your password is not right/)
  t.match(wrong.body, /value="hazel\.new@example\.test"/, 'the typed address is kept')
  const taken = await new Client(app).api('POST', '/api/v1/auth/signup', { username: 'other', email: 'other@example.test', password: PASSWORD })
  t.equal(taken.statusCode, 201)
  const clash = await browser.submit('/settings/email', { email: 'OTHER@example.test', password: PASSWORD }, '/settings')
  t.equal(clash.statusCode, 409)
  t.match(clash.body, /An account with that email already exists/)

  const changed = await browser.submit('/settings/email', { email: 'hazel.new@example.test', password: PASSWORD }, '/settings')
  t.equal(changed.statusCode, 303)
  const row = await db.selectFrom('users').select(['email', 'email_verified_at']).where('username', '=', 'hazel').executeTakeFirstOrThrow()
  t.equal(row.email, 'hazel.new@example.test')
  t.equal(row.email_verified_at, null, 'the new address is not verified yet')
  await smtp.waitFor((ms) => ms.some((m) => m.to.includes('hazel.new@example.test')))
  const verify = smtp.to('hazel.new@example.test')[0]!
  t.match(verify.subject, /Confirm your email address/)
  t.equal((await browser.get(path)).statusCode, 400, 'the link for the old address no longer works')
  t.equal((await db.selectFrom('users').select('email_verified_at').where('username', '=', 'hazel').executeTakeFirstOrThrow()).email_verified_at, null)

  const secret = await instanceSecret(db, null)
  const userId = (await db.selectFrom('users').select('id').where('username', '=', 'hazel').executeTakeFirstOrThrow()).id
  const expired = new LinkSigner(secret).sign({ purpose: 'verify-email', userId, subject: 'whatever', expiresAt: Math.floor(Date.now() / 1000) - 1 })
  const late = await browser.get(`/email/verify?token=${expired}`)
  t.equal(late.statusCode, 400)
  t.match(late.body, /This link has expired/)

  t.equal((await browser.get(linkIn(verify.text, '/email/verify?token='))).statusCode, 200, 'the new link confirms the new address')

  // Resending is rate-limited.
  await db.updateTable('users').set({ email_verified_at: null }).where('id', '=', userId).execute()
  for (let i = 0; i < 3; i++) t.equal((await browser.submit('/settings/email/verify', {}, '/settings')).statusCode, 303)
  const limited = await browser.submit('/settings/email/verify', {}, '/settings')
  t.equal(limited.statusCode, 429)
  t.match(limited.body, /Too many attempts/)
  await smtp.waitFor((ms) => ms.filter((m) => m.to.includes('hazel.new@example.test')).length === 4)
  t.pass('three resent links arrived')
  await worker.close()
})

t.test('with no SMTP_URL the worker sends nothing and records nothing as sent', async (t) => {
  const testApp = await build(t, { redis: true })
  const worker = await startTestWorker(t, testApp.db, testApp.config)
  const res = await new Client(testApp.app).api('POST', '/api/v1/auth/signup', { username: 'quiet', email: 'quiet@example.test', password: PASSWORD })
  t.equal(res.statusCode, 201)
  await drained(worker)
  const job = (await worker.running.queue.mailQueue.getCompleted())[0]
  t.same(job?.returnvalue, { result: 'mail-off' })
  t.equal((await testApp.db.selectFrom('email_log').select('id').execute()).length, 0)
  await worker.close()
})

t.test('without background jobs, asking for a new link says mail is off instead of pretending', async (t) => {
  const { app, db } = await build(t)
  const member = await persona(app, db)
  await db.updateTable('users').set({ email_verified_at: null }).where('id', '=', member.id).execute()
  const res = await member.client.submit('/settings/email/verify', {}, '/settings')
  t.equal(res.headers.location, '/settings?saved=mail-off#email')
  t.match((await member.client.get('/settings?saved=mail-off')).body, /This server sends no mail yet/)
})
