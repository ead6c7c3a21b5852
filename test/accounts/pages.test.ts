import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { PASSWORD, persona } from '../helpers/personas.js'

t.test('sign up, see the profile, log out and log in through the forms', async (t) => {
  const { app, db } = await build(t)
  await persona(app, db, { stem: 'owner', role: 'admin' }) // the first account is the admin, who lands on /admin
  // A person takes a few seconds to fill in the form; this test submits at once (test/spam/signup.test.ts covers the timing).
  await app.hearth.settings.set('spam_signup_min_seconds', 0)
  const browser = new Client(app)

  const page = await browser.get('/signup')
  t.equal(page.statusCode, 200)
  t.match(page.body, /<form method="post" action="\/signup"/)

  const signedUp = await browser.submit('/signup', { username: 'hazel', email: 'hazel@example.test', password: PASSWORD })
  t.equal(signedUp.statusCode, 303)
  t.equal(signedUp.headers.location, '/u/hazel?welcome=1')
  const profile = await browser.get('/u/hazel?welcome=1')
  t.match(profile.body, /Welcome, hazel/)
  t.match(profile.body, /Trust level 0/)
  t.match(profile.body, /Log out/, 'the header shows the member is logged in')

  const out = await browser.submit('/logout', {}, '/')
  t.equal(out.statusCode, 303)
  t.notMatch((await browser.get('/')).body, /Log out/, 'logged out')

  const wrong = await browser.submit('/login', { login: 'hazel', password: 'not my password' })
  t.equal(wrong.statusCode, 400)
  t.match(wrong.body, /Wrong username\/email or password/)
  t.match(wrong.body, /name="login" type="text" value="hazel"/, 'the typed login is kept')
  t.notMatch(wrong.body, /not my password/, 'the password is never echoed')

  const back = await browser.submit('/login?next=/settings', { login: 'HAZEL@example.test', password: PASSWORD, next: '/settings' })
  t.equal(back.statusCode, 303)
  t.equal(back.headers.location, '/settings', 'returns to where the member was going')
  const offsite = await new Client(app).submit('/login', { login: 'hazel', password: PASSWORD, next: '//evil.example/x' })
  t.equal(offsite.headers.location, '/', 'never redirects to another site')
})

t.test('a sign-up form with bad input re-renders with each message and the input kept', async (t) => {
  const { app } = await build(t)
  const browser = new Client(app)
  const res = await browser.submit('/signup', { username: 'ok name!', email: 'nope', password: 'short' })
  t.equal(res.statusCode, 400)
  t.match(res.body, /Use only letters, digits, _ and -/)
  t.match(res.body, /Enter a valid email address/)
  t.match(res.body, /Passwords are at least 10 characters/)
  t.match(res.body, /value="ok name!"/, 'username kept')
  t.match(res.body, /value="nope"/, 'email kept')
  t.notMatch(res.body, /value="short"/, 'password not echoed')
  t.match(res.body, /aria-invalid="true"/)
})

t.test('forms without a valid CSRF token are refused', async (t) => {
  const { app, db } = await build(t)
  const browser = new Client(app)
  await browser.get('/signup')
  const missing = await browser.postForm('/signup', { username: 'csrfless', email: 'c@example.test', password: PASSWORD })
  t.equal(missing.statusCode, 403)
  t.match(missing.body, /form has expired or came from another site/)
  const forged = await browser.postForm('/signup', { _csrf: 'forged-token', username: 'csrfless', email: 'c@example.test', password: PASSWORD })
  t.equal(forged.statusCode, 403)
  t.equal(await db.selectFrom('users').select('id').where('username', '=', 'csrfless').executeTakeFirst(), undefined, 'nothing created')

  const member = await persona(app, db)
  const attacker = new Client(app)
  const token = await attacker.csrfFrom('/login')
  const crossSite = await member.client.postForm('/logout', { _csrf: token })
  t.equal(crossSite.statusCode, 403, "another visitor's token does not work with the member's cookies")
  t.equal((await member.client.api('GET', '/api/v1/me')).statusCode, 200, 'still logged in')
})

t.test('changing the password ends every other session', async (t) => {
  const { app, db } = await build(t)
  const member = await persona(app, db)
  const laptop = new Client(app)
  await laptop.api('POST', '/api/v1/auth/login', { username: member.username, password: PASSWORD })
  t.equal((await laptop.api('GET', '/api/v1/me')).statusCode, 200)

  const wrong = await member.client.submit('/settings/password', { currentPassword: 'nope nope nope', newPassword: 'a brand new passphrase' }, '/settings')
  t.equal(wrong.statusCode, 400)
  t.match(wrong.body, /Your current password is not right/)
  t.equal((await laptop.api('GET', '/api/v1/me')).statusCode, 200, 'a failed change ends nothing')

  const done = await member.client.submit('/settings/password', { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }, '/settings')
  t.equal(done.statusCode, 303)
  t.equal((await member.client.api('GET', '/api/v1/me')).statusCode, 200, 'this session stays')
  t.equal((await laptop.api('GET', '/api/v1/me')).statusCode, 401, 'the other session ended')
  const old = await new Client(app).api('POST', '/api/v1/auth/login', { username: member.username, password: PASSWORD })
  t.equal(old.statusCode, 400, 'the old password no longer works')
  const fresh = await new Client(app).api('POST', '/api/v1/auth/login', { username: member.username, password: 'a brand new passphrase' })
  t.equal(fresh.statusCode, 200)
})

t.test('profile settings are validated and saved', async (t) => {
  const { app, db } = await build(t)
  const member = await persona(app, db)
  const bad = await member.client.submit('/settings/profile', { displayName: 'x'.repeat(51), bio: 'hi', digestFrequency: 'hourly' }, '/settings')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /Display names are at most 50 characters/)
  t.match(bad.body, /Choose how often to get a digest/)
  const good = await member.client.submit('/settings/profile', { displayName: 'Hazel Nut', bio: 'I <b>test</b> things', digestFrequency: 'daily' }, '/settings')
  t.equal(good.statusCode, 303)
  const profile = await new Client(app).get(`/u/${member.username.toUpperCase()}`)
  t.equal(profile.statusCode, 200, 'profiles resolve case-insensitively')
  t.match(profile.body, /Hazel Nut/)
  t.match(profile.body, /I &lt;b&gt;test&lt;\/b&gt; things/, 'the bio is escaped')
  const row = await db.selectFrom('users').select('digest_frequency').where('id', '=', member.id).executeTakeFirstOrThrow()
  t.equal(row.digest_frequency, 'daily')
})

t.test('guests are sent to log in; unknown pages are a friendly 404; failures show only a request id', async (t) => {
  const { app } = await build(t)
  app.get('/boom', async () => {
    throw new Error('secret internals at /srv/app.js:12')
  })
  const guest = new Client(app)
  const settings = await guest.get('/settings')
  t.equal(settings.statusCode, 302)
  t.equal(settings.headers.location, '/login?next=%2Fsettings')

  const missing = await guest.get('/u/nobody_at_all')
  t.equal(missing.statusCode, 404)
  t.match(missing.body, /Page not found/)
  t.equal((await guest.get('/no/such/page')).statusCode, 404)
  t.same(JSON.parse((await guest.get('/api/v1/nothing')).body), { error: 'Not found' })

  const boom = await guest.get('/boom')
  t.equal(boom.statusCode, 500)
  t.match(boom.body, /Something went wrong/)
  t.match(boom.body, /class="request-id">[0-9a-f-]{36}</, 'shows the request id')
  t.notMatch(boom.body, /secret internals/, 'never the error or stack')
})

t.test('security headers: strict CSP, no inline script', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/' })
  const csp = String(res.headers['content-security-policy'])
  t.match(csp, /script-src 'self'/)
  t.notMatch(csp, /unsafe-inline/)
  t.match(csp, /frame-ancestors 'none'/)
  t.notMatch(res.body, /<script>(?!<\/script>)/, 'no inline script in pages')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
})

t.test('log-in and sign-up are rate limited, shared through Redis', async (t) => {
  const env = { RATE_LIMIT_LOGIN: '3', RATE_LIMIT_SIGNUP: '2' }
  const first = await build(t, { redis: true, env })
  const second = await build(t, { redis: true, database: first.database, env: { ...env, REDIS_PREFIX: first.config.redisPrefix } })
  const statuses: number[] = []
  for (const { app } of [first, second, first, second]) {
    const res = await new Client(app).api('POST', '/api/v1/auth/login', { username: 'someone', password: 'whatever it is' })
    statuses.push(res.statusCode)
  }
  t.same(statuses, [400, 400, 400, 429], 'the fourth attempt across two instances is refused')
  const limited = await new Client(first.app).api('POST', '/api/v1/auth/login', { username: 'someone', password: 'x' })
  t.match(limited.data.error, /Too many attempts/)

  const page = await new Client(second.app).submit('/login', { login: 'someone', password: 'x' })
  t.equal(page.statusCode, 429, 'the form gets a page, not JSON')
  t.match(page.body, /Too many attempts/)

  const signups = []
  for (let i = 0; i < 3; i++) {
    signups.push((await new Client(first.app).api('POST', '/api/v1/auth/signup', { username: `rl${i}x`, email: `rl${i}@example.test`, password: PASSWORD })).statusCode)
  }
  t.same(signups, [201, 201, 429])
})
