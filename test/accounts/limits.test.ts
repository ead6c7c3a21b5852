import t from 'tap'
import { MAX_READING_SECONDS_PER_DAY } from '../../src/features/discussions/service.js'
import { build } from '../helpers/app.js'
import { forum, startThread } from '../helpers/forum.js'
import { PASSWORD, persona } from '../helpers/personas.js'

const login = (app: Parameters<typeof persona>[0], from: string, body: Record<string, string>, cookie = '') =>
  app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    remoteAddress: from,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    payload: JSON.stringify(body),
  })

t.test('log-in attempts are counted per target account, whatever the IP', async (t) => {
  const { app, db } = await build(t, { env: { RATE_LIMIT_LOGIN: '3' } })
  const victim = await persona(app, db)
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) {
    statuses.push((await login(app, `10.0.0.${i + 1}`, { username: victim.username.toUpperCase(), password: `guess ${i}` })).statusCode)
  }
  t.same(statuses, [400, 400, 400, 429], 'a fourth guess from a fourth IP is refused')
  const byAddress = await login(app, '10.0.0.9', { email: victim.email.toUpperCase(), password: PASSWORD })
  t.equal(byAddress.statusCode, 429, 'naming the account by its address counts against the same budget')
  const other = await persona(app, db)
  t.equal((await login(app, '10.0.0.9', { username: other.username, password: PASSWORD })).statusCode, 200, 'other accounts are not locked out')
})

t.test('log-in attempts are counted per IP, and a session cookie buys no more', async (t) => {
  const { app, db } = await build(t, { env: { RATE_LIMIT_LOGIN: '3' } })
  const attackers = [await persona(app, db), await persona(app, db)]
  const targets = [await persona(app, db), await persona(app, db), await persona(app, db), await persona(app, db)]
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) {
    // Each attempt carries a (different) logged-in cookie and names a different account.
    const cookie = attackers[i % 2]!.client.cookieHeader
    statuses.push((await login(app, '10.1.1.1', { username: targets[i]!.username, password: 'wrong guess' }, cookie)).statusCode)
  }
  t.same(statuses, [400, 400, 400, 429])
  t.equal((await login(app, '10.1.1.2', { username: targets[3]!.username, password: PASSWORD })).statusCode, 200, 'another IP may still log in')
})

t.test('re-entering the password in settings is limited', async (t) => {
  const { app, db } = await build(t, { env: { RATE_LIMIT_LOGIN: '3' } })
  const member = await persona(app, db)
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) {
    const res = await member.client.submit('/settings/password', { currentPassword: `guess number ${i}`, newPassword: 'a brand new passphrase' }, '/settings')
    statuses.push(res.statusCode)
  }
  t.same(statuses, [400, 400, 400, 429], 'the fourth wrong password is refused before it is checked')
  const viaEmail = await member.client.submit('/settings/email', { email: 'new@example.test', password: 'another guess' }, '/settings')
  t.equal(viaEmail.statusCode, 429, 'the address form shares the budget')
})

t.test('a password change ends other sessions and every API token, and says so', async (t) => {
  const { app, db } = await build(t)
  const member = await persona(app, db)
  const { token } = await app.hearth.sessions.createApiToken(member.id, 'script')
  const bearer = () => app.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })
  t.equal((await bearer()).statusCode, 200)
  const done = await member.client.submit('/settings/password', { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }, '/settings')
  t.equal(done.statusCode, 303)
  t.equal((await bearer()).statusCode, 401, 'the token made with the old password is revoked')
  const page = await member.client.get(done.headers.location as string)
  t.match(page.body, /logged out everywhere else, and every API token was revoked/)
  t.equal((await db.selectFrom('api_tokens').select('id').where('user_id', '=', member.id).execute()).length, 0)
})

t.test('reading time is bounded per member per day', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  const reports = Math.ceil(MAX_READING_SECONDS_PER_DAY / 120) + 10
  for (let i = 0; i < reports; i++) {
    const res = await f.regular.client.api('POST', `/api/v1/threads/${thread.id}/reading`, { seconds: 120 })
    if (res.statusCode !== 204) t.fail(`report ${i}: ${res.statusCode}`)
  }
  const stats = await db.selectFrom('user_daily_stats').select('reading_seconds').where('user_id', '=', f.regular.id).executeTakeFirstOrThrow()
  t.equal(stats.reading_seconds, MAX_READING_SECONDS_PER_DAY, `${reports} reports of two minutes count as ${MAX_READING_SECONDS_PER_DAY / 3600} hours`)
})
