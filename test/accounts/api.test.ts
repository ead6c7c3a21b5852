import t from 'tap'
import { Client } from '../helpers/client.js'
import { build } from '../helpers/app.js'
import { PASSWORD, persona, uniqueName } from '../helpers/personas.js'

t.test('account API: sign-up, me, log-out, log-in', async (t) => {
  const { app, db } = await build(t)
  const client = new Client(app)

  const anonymous = await client.api('GET', '/api/v1/me')
  t.equal(anonymous.statusCode, 401)
  t.same(anonymous.data, { error: 'You need to log in to do that' })

  const first = await client.api('POST', '/api/v1/auth/signup', { username: 'Founder', email: 'founder@example.test', password: PASSWORD })
  t.equal(first.statusCode, 201)
  t.equal(first.data.user.username, 'Founder')
  t.equal(first.data.user.role, 'admin', 'the first account is the admin')
  const cookie = first.cookies.find((c) => c.name === 'hearth_session')
  t.ok(cookie, 'a session cookie is set')
  t.equal(cookie?.httpOnly, true)
  t.equal(cookie?.sameSite, 'Lax')
  t.notOk(cookie?.secure, 'not Secure under plain http')

  const me = await client.api('GET', '/api/v1/me')
  t.equal(me.statusCode, 200)
  t.equal(me.data.user.username, 'Founder')

  const stored = await db.selectFrom('users').select('password_hash').where('username', '=', 'Founder').executeTakeFirstOrThrow()
  t.match(stored.password_hash, /^\$argon2id\$/, 'passwords are hashed with argon2id')
  const session = await db.selectFrom('sessions').selectAll().executeTakeFirstOrThrow()
  t.notMatch(cookie!.value, session.secret_hash.toString('hex'), 'the cookie is not what is stored')
  t.equal(session.secret_hash.length, 32, 'only a SHA-256 of the secret is stored')

  const second = await new Client(app).api('POST', '/api/v1/auth/signup', { username: 'second', email: 'second@example.test', password: PASSWORD })
  t.equal(second.data.user.role, 'member', 'later accounts are members')

  const out = await client.api('POST', '/api/v1/auth/logout', {})
  t.equal(out.statusCode, 204)
  t.equal((await client.api('GET', '/api/v1/me')).statusCode, 401, 'logged out')
  t.equal(await db.selectFrom('sessions').select('id').where('id', '=', session.id).executeTakeFirst(), undefined, 'session deleted')

  const byEmail = await client.api('POST', '/api/v1/auth/login', { email: 'FOUNDER@example.test', password: PASSWORD })
  t.equal(byEmail.statusCode, 200, 'log in by email, case-insensitively')
  const byName = await new Client(app).api('POST', '/api/v1/auth/login', { username: 'founder', password: PASSWORD })
  t.equal(byName.statusCode, 200, 'log in by username, case-insensitively')
  t.equal(byName.data.user.username, 'Founder')
})

t.test('account API: bad input gets a clear error naming the field, and writes nothing', async (t) => {
  const { app, db } = await build(t)
  const taken = await persona(app, db, { stem: 'taken' })
  const client = new Client(app)
  const count = async () => Number((await db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  const before = await count()

  const cases: [string, Record<string, unknown>, number, string, RegExp][] = [
    ['duplicate username (other case)', { username: taken.username.toUpperCase(), email: 'x1@example.test', password: PASSWORD }, 409, 'username', /taken/],
    ['duplicate email (other case)', { username: uniqueName(), email: taken.email.toUpperCase(), password: PASSWORD }, 409, 'email', /already exists/],
    ['malformed email', { username: uniqueName(), email: 'not-an-email', password: PASSWORD }, 400, 'email', /valid email/],
    ['short password', { username: uniqueName(), email: 'x2@example.test', password: 'short1' }, 400, 'password', /at least 10/],
    ['common password', { username: uniqueName(), email: 'x3@example.test', password: 'password123' }, 400, 'password', /too common/],
    ['simple password', { username: uniqueName(), email: 'x4@example.test', password: 'aaaaaaaaaaaa' }, 400, 'password', /too simple/],
    ['overlong password', { username: uniqueName(), email: 'x5@example.test', password: 'x'.repeat(150) + 'abcdefghij'.repeat(6) }, 400, 'password', /at most 200/],
    ['password contains username', { username: 'marigold', email: 'x6@example.test', password: 'my-marigold-99' }, 400, 'password', /username/],
    ['username with spaces', { username: 'a b c', email: 'x7@example.test', password: PASSWORD }, 400, 'username', /letters, digits/],
    ['reserved username', { username: 'admin', email: 'x8@example.test', password: PASSWORD }, 400, 'username', /reserved/],
    ['missing username', { email: 'x9@example.test', password: PASSWORD }, 400, 'username', /Choose a username/],
    ['overlong username', { username: 'a'.repeat(21), email: 'x10@example.test', password: PASSWORD }, 400, 'username', /at most 20/],
  ]
  for (const [name, body, status, field, message] of cases) {
    const res = await client.api('POST', '/api/v1/auth/signup', body)
    t.equal(res.statusCode, status, `${name}: status`)
    t.equal(res.data.field, field, `${name}: field`)
    t.match(res.data.error, message, `${name}: message`)
    t.notOk(res.cookies.some((c) => c.name === 'hearth_session'), `${name}: no session`)
  }
  t.equal(await count(), before, 'no account was created by bad input')

  const wrong = await client.api('POST', '/api/v1/auth/login', { username: taken.username, password: 'wrong password!' })
  t.equal(wrong.statusCode, 400)
  t.same(wrong.data, { error: 'Wrong username/email or password', field: 'login' })
  const unknown = await client.api('POST', '/api/v1/auth/login', { username: 'nobody_here', password: PASSWORD })
  t.same(unknown.data, wrong.data, 'an unknown name gets the same answer as a wrong password')

  const notJson = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: 'username=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(notJson.statusCode, 415, 'cookie API writes must be JSON')
  const brokenJson = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: '{"username":', headers: { 'content-type': 'application/json' } })
  t.equal(brokenJson.statusCode, 400)
  t.type(JSON.parse(brokenJson.body).error, 'string')
  t.notMatch(brokenJson.body, /at .*\.js/, 'no stack trace')

  const crossSite = await taken.client.api('POST', '/api/v1/auth/logout', {}, { origin: 'https://evil.example' })
  t.equal(crossSite.statusCode, 403, 'cross-site API write refused')
  t.equal((await taken.client.api('GET', '/api/v1/me')).statusCode, 200, 'and the session survives it')
})

t.test('forged and expired session cookies are refused', async (t) => {
  const { app, db } = await build(t)
  const member = await persona(app, db)
  const real = member.client.cookies.get('hearth_session')!
  const [id] = real.split('.')
  const forged = new Client(app)
  forged.cookies.set('hearth_session', `${id}.${'a'.repeat(32)}`)
  t.equal((await forged.api('GET', '/api/v1/me')).statusCode, 401, 'right id, wrong secret')
  forged.cookies.set('hearth_session', 'garbage')
  t.equal((await forged.api('GET', '/api/v1/me')).statusCode, 401, 'malformed token')

  await db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', id!).execute()
  t.equal((await member.client.api('GET', '/api/v1/me')).statusCode, 401, 'expired session')
  t.equal(await db.selectFrom('sessions').select('id').where('id', '=', id!).executeTakeFirst(), undefined, 'and removed')
})

t.test('sessions slide: a session past half its life is extended', async (t) => {
  const { app, db, config } = await build(t)
  const member = await persona(app, db)
  const [id] = member.client.cookies.get('hearth_session')!.split('.')
  const soon = new Date(Date.now() + 2 * 86_400_000)
  await db.updateTable('sessions').set({ expires_at: soon }).where('id', '=', id!).execute()
  const res = await member.client.api('GET', '/api/v1/me')
  t.equal(res.statusCode, 200)
  const row = await db.selectFrom('sessions').select('expires_at').where('id', '=', id!).executeTakeFirstOrThrow()
  t.ok(row.expires_at.getTime() > Date.now() + (config.sessionDays - 1) * 86_400_000, 'expiry pushed out')
  t.ok(res.cookies.some((c) => c.name === 'hearth_session'), 'cookie re-issued with the new expiry')
})

t.test('personal API tokens: created in settings, used as Bearer, revoked', async (t) => {
  const { app, db } = await build(t)
  const member = await persona(app, db)
  const created = await member.client.submit('/settings/tokens', { name: 'my script' }, '/settings')
  t.equal(created.statusCode, 200)
  const token = /id="new-token">([^<]+)</.exec(created.body)?.[1]
  t.match(token, /^hth_[a-z2-7]{24}\.[a-z2-7]{32}$/, 'the token is shown once')

  const row = await db.selectFrom('api_tokens').selectAll().executeTakeFirstOrThrow()
  t.equal(row.name, 'my script')
  t.notOk(token!.includes(row.secret_hash.toString('hex')), 'stored hashed')

  const asScript = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(asScript.statusCode, 200)
  t.equal(JSON.parse(asScript.body).user.username, member.username)
  const bad = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token!.slice(0, -2)}xx` } })
  t.equal(bad.statusCode, 401, 'a wrong secret is refused')

  const settings = await member.client.get('/settings')
  t.match(settings.body, /my script/, 'listed in settings')
  t.notMatch(settings.body, new RegExp(token!.split('.')[1]!), 'but its secret is never shown again')

  const revoked = await member.client.submit(`/settings/tokens/${row.id}/revoke`, {}, '/settings')
  t.equal(revoked.statusCode, 303)
  const after = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(after.statusCode, 401, 'revoked token no longer works')

  const other = await persona(app, db)
  const { token: othersToken, id: othersId } = await app.hearth.sessions.createApiToken(other.id, 'theirs')
  const stolen = await member.client.submit(`/settings/tokens/${othersId}/revoke`, {}, '/settings')
  t.equal(stolen.statusCode, 404, "revoking someone else's token is a 404")
  const stillWorks = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${othersToken}` } })
  t.equal(stillWorks.statusCode, 200)
})
