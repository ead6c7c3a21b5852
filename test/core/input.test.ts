import { sql } from 'kysely'
import t from 'tap'
import { encodeCursor } from '../../src/core/cursor.js'
import { safeNext } from '../../src/core/http.js'
import { findBadText, safeLocation } from '../../src/core/input.js'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { PASSWORD } from '../helpers/personas.js'

// One rule at the door for text nothing behind it can carry; ids that are ids; redirects
// that stay on this site; and database refusals of a value answered as bad input.

t.test('a redirect target is a path on this site, or the fallback', async (t) => {
  for (const next of ['/', '/t/1/a-thread?after=3#p4', '/login?next=%2Fsettings', '/%2F%2Fevil.example', '/a/../b']) {
    t.equal(safeNext(next), next, next)
  }
  const refused = [
    '/\t/evil.example/x', '/\n/evil.example', '/\r\nSet-Cookie: a=1', '//evil.example', '/\\evil.example', '/x\\y', '\\\\evil.example',
    'https://evil.example/', 'javascript:alert(1)', 'evil.example', '', ' /', '/\u4e2d', '/caf\u00e9', '/\u0000', '/a b', '/\u007f', `/${'x'.repeat(2001)}`,
    null, 42, ['/'],
  ]
  for (const next of refused) t.equal(safeNext(next, '/home'), '/home', JSON.stringify(next))
})

t.test('the first field holding NUL or a lone surrogate is found at any depth, without recursion', async (t) => {
  t.same(findBadText({ a: 'fine', b: ['ok', { c: 'x\u0000' }], d: '\ud800' }), { field: 'b.1.c', message: 'Text cannot contain NUL characters' })
  t.same(findBadText({ 'bad\u0000key': 1 }), { field: 'bad\ufffdkey', message: 'Text cannot contain NUL characters' })
  t.same(findBadText({ a: 'x\udc00' })?.field, 'a')
  t.equal(findBadText({ a: 'emoji \ud83d\ude00', b: [1, true, null] }), null, 'surrogate pairs, numbers and null are fine')
  let deep: unknown = 'x\u0000'
  for (let i = 0; i < 100_000; i++) deep = [deep]
  t.equal(findBadText(deep)?.message, 'Text cannot contain NUL characters', '100,000 levels deep')
})

t.test('a Location header never carries CR, LF or anything beyond printable ASCII', async (t) => {
  t.equal(safeLocation('/t/1?a=b#p2'), '/t/1?a=b#p2')
  t.equal(safeLocation('/\u4e2d\r\nSet-Cookie: a=1'), '/%E4%B8%AD%0D%0ASet-Cookie:%20a=1')
  t.equal(safeLocation('/x\ud800'), '/x%EF%BF%BD')
})

t.test('NUL or a lone surrogate anywhere in a request is a 400 naming the field', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)

  const nested = await f.admin.client.api('PUT', '/api/v1/ideas/vote-limits', { limits: { 1: 5 }, extra: { notes: ['fine', 'a\u0000'] } })
  t.same([nested.statusCode, nested.data], [400, { error: 'Text cannot contain NUL characters', field: 'extra.notes.1' }], 'a nested field nobody reads')

  const query = await f.member.client.api('GET', '/api/v1/notifications?sort=%00')
  t.same([query.statusCode, query.data.field], [400, 'sort'], 'a query key the route does not declare')

  const key = await f.member.client.submit('/settings/profile', { 'x\u0000': '1', displayName: 'Fine name' }, '/settings')
  t.equal(key.statusCode, 400, 'a form field whose name holds NUL')
  t.match(key.body, /Text cannot contain NUL characters/, 'the 400 page says why')
  t.notMatch(key.body, /at .*\.ts:\d+/, 'and shows no stack')

  const surrogate = await f.member.client.api('POST', '/api/v1/ideas', { title: 'A broken \udc00 emoji', body: 'A long enough description.' })
  t.same([surrogate.statusCode, surrogate.data.field], [400, 'title'])
})

t.test('a cookie holding NUL is dropped: the request goes on as a guest, the session cookie is cleared', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const token = f.member.client.cookies.get('hearth_session')!
  const res = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: `hearth_session=${token}%00; other=a%00b` } })
  t.equal(res.statusCode, 401, 'logged out, not a 400 and not a 500')
  t.ok(res.cookies.some((c) => c.name === 'hearth_session' && c.value === ''), 'the bad session cookie is cleared')
  t.equal((await f.member.client.api('GET', '/api/v1/me')).statusCode, 200, 'the good cookie still works')
})

t.test('a path that is not valid percent-encoding answers in the app’s error shape', async (t) => {
  const { app } = await build(t)
  const guest = new Client(app)
  const api = await guest.api('GET', '/api/v1/threads/%E0%A4%A')
  t.same([api.statusCode, Object.keys(api.data ?? {})], [400, ['error']], 'JSON {error}, no Fastify code or message')
  const page = await guest.get('/t/%E0%A4%A')
  t.equal(page.statusCode, 400)
  t.match(page.headers['content-type'], /text\/html/, 'a page, not JSON')
})

t.test('ids are positive whole numbers written in digits', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  for (const id of [`0x${thread.id.toString(16)}`, `%20${thread.id}`, `${thread.id}.0`, `${thread.id}e0`, '9007199254740993', '99999999999999999999']) {
    t.equal((await f.member.client.api('GET', `/api/v1/threads/${id}`)).statusCode, 404, id)
  }
  for (const categoryId of [true, [f.cats.open.id], `${f.cats.open.id}e0`, 1.5, 2 ** 60]) {
    const res = await f.member.client.api('POST', '/api/v1/threads', { categoryId, title: 'A thread about ids', body: 'Body text.' })
    t.same([res.statusCode, res.data.field], [400, 'categoryId'], JSON.stringify(categoryId))
  }
  const before = await f.member.client.api('GET', '/api/v1/notifications?before=1e3')
  t.same([before.statusCode, before.data], [400, { error: 'Bad page cursor', field: 'before' }], 'a cursor id too')
})

t.test('a reply form coming back with an error survives a parent that is not an id', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  for (const parentId of ['abc', '1e30', '-1', '99999999999999999999']) {
    const res = await f.member.client.submit(`/t/${thread.id}/replies`, { body: '', parentId }, `/t/${thread.id}`)
    t.equal(res.statusCode, 400, `parentId=${parentId}`)
    t.match(res.body, /role="alert">[^<]+/, "the thread page shows what was wrong")
  }
  const post = await replyTo(f.regular, thread.id, 'A reply to answer.')
  const nested = await f.member.client.submit(`/t/${thread.id}/replies`, { body: '', parentId: String(post) }, `/t/${thread.id}`)
  t.equal(nested.statusCode, 400, 'a real parent still re-renders the reply page')
  t.match(nested.body, /A reply to answer/)
})

t.test('redirect targets from forms and links stay on this site and never break the response', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const cases = [
    ['/%09/evil.example/x', '/'],
    ['/%5Cevil.example', '/'],
    ['/%0d%0aSet-Cookie:%20a=1', '/'],
    ['/%E4%B8%AD', '/'],
    ['/settings', '/settings'],
  ]
  for (const [next, location] of cases) {
    const res = await f.member.client.get(`/login?next=${next}`)
    t.same([res.statusCode, res.headers.location], [302, location], `logged in, /login?next=${next}`)
  }
  const login = await new Client(app).submit('/login', { login: f.member.username, password: PASSWORD, next: '/\t/evil.example/x' }, '/login')
  t.same([login.statusCode, login.headers.location], [303, '/'], 'the log-in form too')

  const idea = (await f.member.client.api('POST', '/api/v1/ideas', { title: 'Offline mode for the app', body: 'Let me read without a connection.' })).data.id
  for (const next of ['/x\r\nSet-Cookie: a=1', '/\u4e2d']) {
    const vote = await f.member.client.submit(`/ideas/${idea}/vote`, { next }, `/ideas/${idea}`)
    t.same([vote.statusCode, vote.headers.location], [303, `/ideas/${idea}`], `vote with next=${JSON.stringify(next)}`)
  }
  const thread = await startThread(f.member, f.cats.open.id)
  const reply = await f.member.client.submit(`/t/${thread.id}/replies`, { body: 'A reply with a bad way back.', returnTo: '/\u4e2d\r\n' }, `/t/${thread.id}`)
  t.equal(reply.statusCode, 303, 'a comment form’s returnTo')
  t.match(reply.headers.location, /^\/t\//)
})

t.test('the app never sends a header it built from input that Node would refuse', async (t) => {
  const { app } = await build(t)
  // A route added by the test: any redirect, whatever it was built from, goes out encoded.
  app.get('/test-redirect', async (req, reply) => reply.redirect(`/x/${(req.query as { to: string }).to}`))
  const res = await app.inject({ url: `/test-redirect?to=${encodeURIComponent('\u4e2d\r\nSet-Cookie: a=1')}` })
  t.same([res.statusCode, res.headers.location], [302, '/x/%E4%B8%AD%0D%0ASet-Cookie:%20a=1'])
  t.notMatch(String(res.headers['set-cookie'] ?? ''), /a=1/, 'no header injected')
})

t.test('PostgreSQL data errors are bad input (400), never a server error', async (t) => {
  const { app, db } = await build(t)
  // Routes added by the test stand for a value a schema let through to the database.
  const statements = {
    text: sql`select 'abc'::bigint`,
    range: sql`select 99999999999::int`,
    nul: sql`select convert_from('\\x610062'::bytea, 'UTF8')`,
    date: sql`select '2026-13-45'::date`,
  }
  app.get('/api/v1/test-data-error/other', async () => (await sql`select 1 / 0`.execute(db)).rows)
  for (const [name, statement] of Object.entries(statements)) {
    app.get(`/api/v1/test-data-error/${name}`, async () => (await statement.execute(db)).rows)
    app.get(`/test-data-error/${name}`, async () => (await statement.execute(db)).rows)
  }
  for (const name of Object.keys(statements)) {
    const api = await app.inject({ url: `/api/v1/test-data-error/${name}` })
    t.equal(api.statusCode, 400, `API: ${name}`)
    t.same(Object.keys(api.json()).sort(), ['error', 'field'])
    t.equal((await app.inject({ url: `/test-data-error/${name}` })).statusCode, 400, `page: ${name}`)
  }
  t.equal((await app.inject({ url: '/api/v1/test-data-error/other' })).statusCode, 400, 'division by zero (22012) is a data error too')
})

t.test('hand-made page cursors of the right shape but impossible values are a 400 on cursor', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const threadCursors = [
    [true, '0000-01-01T00:00:00Z', 1],
    [false, '2026-02-30T00:00:00Z', 1],
    [false, '2026-01-01T00:00:00Z', 2 ** 53],
    [false, '2026-01-01T00:00:00Z', 0],
    [1, '2026-01-01T00:00:00Z', 1],
  ]
  for (const cursor of threadCursors) {
    const res = await f.member.client.api('GET', `/api/v1/categories/${f.cats.open.slug}/threads?cursor=${encodeCursor(cursor as never)}`)
    t.same([res.statusCode, res.data.field], [400, 'cursor'], JSON.stringify(cursor))
  }
  const boardCursors: [string, unknown[]][] = [
    ['top', [1.5, 1]],
    ['top', [1e300, 1]],
    ['top', [-1, 1]],
    ['trending', [1e300, 2 ** 53]],
    ['new', [1, -5]],
  ]
  for (const [sort, cursor] of boardCursors) {
    const res = await f.member.client.api('GET', `/api/v1/ideas?sort=${sort}&cursor=${encodeCursor(cursor as never)}`)
    t.same([res.statusCode, res.data.field], [400, 'cursor'], `${sort} ${JSON.stringify(cursor)}`)
  }
  const listCursors: [string, unknown[]][] = [
    ['latest', [true, '2026-02-30T00:00:00Z', 1]],
    ['top', [1.5, 1]],
    ['top', [1e300, 1]],
    ['new', ['0000-01-01T00:00:00Z', 1]],
    ['unread', ['2026-01-01T00:00:00Z', 2 ** 53]],
    ['new', [true, '2026-01-01T00:00:00Z', 1]],
  ]
  for (const [list, cursor] of listCursors) {
    const res = await f.member.client.api('GET', `/api/v1/threads?list=${list}&cursor=${encodeCursor(cursor as never)}`)
    t.same([res.statusCode, res.data.field], [400, 'cursor'], `reading list ${list} ${JSON.stringify(cursor)}`)
  }
  const fine = await f.member.client.api('GET', `/api/v1/ideas?sort=trending&cursor=${encodeCursor([0.25, 3])}`)
  t.equal(fine.statusCode, 200, 'a fractional trending score is a fine cursor')
})
