import type { LightMyRequestResponse, RouteOptions } from 'fastify'
import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { PASSWORD, type Persona } from '../helpers/personas.js'

// Walks every route the app registers (listed by Fastify as they are added, so a new
// route is covered without anyone remembering to add it here) and sends hostile values
// in each path parameter, query key and body field, as a guest, a member and an admin.
// Whatever comes in, the answer is never a 5xx, never a stack trace, and the API answers a
// 4xx with exactly {error} or {error, field}. It prints how many routes and requests it covered.
//
// Values are not crossed with each other, so the walk stays within a minute on a small machine:
// a declared query or body key gets every value, a path parameter a rotating dozen, and the
// keys a route may read without declaring them (forms are parsed in the service) all get a
// value at once, a different one in each request, so every key meets every value.
//
// Skipped: `/live` (a websocket: test/live covers its frames and refusals) and the HEAD
// twins Fastify adds for each GET (the same handler as the GET, without a body).

const MB = 'x'.repeat(1024 * 1024)
const deep = (n: number, open: string, close: string, leaf = '1') => open.repeat(n) + leaf + close.repeat(n)

/** Values for a path segment or a query value, as they travel on the wire (percent-encoded). */
const WIRE = [
  '%00', 'a%00b', '%ED%A0%80', 'x%ED%B0%80y', '%C0%80', '%FF', `${'x'.repeat(300)}`, MB,
  '-1', '0', '9007199254740993', '99999999999999999999999999', '1e308', '1.5', 'abc', '0x10', '%201', 'NaN', 'Infinity',
  '__proto__', 'constructor', 'prototype', '%0d%0aSet-Cookie:%20x=1', '%09', '..%2F..%2Fetc', '%E2%80%AE', 'true', 'null', '[]',
  '/%0d%0ax', '/%E4%B8%AD', '/%09/evil.example/x', '/%5Cevil.example', 'javascript:alert(1)',
]

/** Values for a JSON body field (a form sends the string of each). */
const VALUES: unknown[] = [
  '\u0000', 'a\u0000b', '\ud800', 'x\udc00y', MB, '', ' ',
  -1, 0, 2 ** 53 + 2, 1e308, 1.5, 'abc', '-1', '1e3', '0x10',
  true, false, null, [], [1, 2], ['\u0000'], {}, { a: 1 }, { __proto__: null, toString: 'x' },
  '__proto__', 'constructor', '/\t/evil.example/x', '\r\nSet-Cookie: x=1', '//evil.example', 'https://evil.example', '\u2028\u00ff\u4e2d',
  '/x\r\nSet-Cookie: x=1', '/\u4e2d', '/\\evil.example', '/%0d%0a',
]

/** Whole JSON bodies sent to every route that takes a body. */
const BODIES: string[] = [
  deep(10_000, '[', ']'),
  deep(10_000, '{"a":', '}'),
  '{"__proto__":{"isAdmin":true},"body":"x"}',
  '{"constructor":{"prototype":{"isAdmin":true}}}',
  JSON.stringify({ body: MB, title: MB }),
  '[]', '"text"', '42', 'null', '{"a":', '\u0000', '{"a":"\\ud800"}', '{"a\\u0000b":1}',
]

/** Hostile cookies, as a Cookie header carries them. */
const COOKIES = ['hearth_session=%00', 'hearth_session=a.b%00c', 'hearth_csrf=%ED%A0%80', `hearth_session=${'x'.repeat(64 * 1024)}`, 'hearth_session=s%3A%00.sig', '__proto__=1']

/** A stack trace line, which no answer may show. */
const STACK = /\n\s+at .+:\d+:\d+\)?\n/

/** Keys tried in every query string and body besides those a route declares. */
const COMMON_QUERY = ['cursor', 'before', 'after', 'page', 'next', 'returnTo', 'q', 'id']
const COMMON_BODY = [
  'id', 'title', 'body', 'parentId', 'categoryId', 'name', 'slug', 'next', 'returnTo', 'reason', 'login', 'password', 'email',
  'username', 'ids', 'limits', 'intoId', 'status', 'action', 'days', 'seconds', 'userId', 'capacity', 'answers', 'decision', '__proto__',
]

type Who = 'guest' | 'member' | 'admin'

t.test('every route refuses hostile input with a 4xx, never a 5xx', async (t) => {
  const started = Date.now()
  const routes: RouteOptions[] = []
  // With Redis, as in production: rate limits count there and admin job buttons enqueue (without it they answer 503 by design).
  const { app, db } = await build(t, { redis: true, onRoute: (route) => routes.push(route), env: { RATE_LIMIT_POST: '1000000', RATE_LIMIT_LOGIN: '1000000', RATE_LIMIT_SIGNUP: '1000000' } })
  const f = await forum(app, db)

  // Real rows, so that hostile values in one field reach code behind the lookups of the others.
  const thread = await startThread(f.member, f.cats.open.id)
  const post = await replyTo(f.regular, thread.id, 'A reply to flag and quote.')
  const idea = (await f.member.client.api('POST', '/api/v1/ideas', { title: 'Offline mode for the app', body: 'Let me read without a connection.' })).data.id as number
  const program = (await f.admin.client.api('POST', '/api/v1/beta', { title: 'Desktop beta', capacity: 5 })).data.id as number
  const flag = await f.regular.client.api('POST', `/api/v1/posts/${thread.postId}/flags`, { reason: 'spam' })
  const flagId = (flag.data?.id ?? 1) as number
  const valid: Record<string, string> = {
    t: String(thread.id), p: String(post), ideas: String(idea), beta: String(program), notifications: '1', mod: String(flagId),
    categories: String(f.cats.open.id), members: String(f.member.id), threads: String(thread.id), posts: String(post), c: f.cats.open.slug,
    u: f.member.username, feeds: `${f.cats.open.slug}.atom`, jobs: 'mail', run: 'trust',
    // The spammer action suspends whom it names: the newbie, never a persona the walk logs in as.
    spammer: String(f.newbie.id),
  }
  // A plausible value for each common field, so that one hostile field reaches the code behind the others' checks.
  const plausible: Record<string, unknown> = {
    title: 'An ordinary title for a thread', body: 'An ordinary body of text, long enough to pass.', parentId: post, categoryId: f.cats.open.id,
    name: 'Ordinary name', slug: 'ordinary', next: '/', returnTo: `/ideas/${idea}`, reason: 'spam', email: 'someone@example.test',
    username: f.newbie.username, userId: f.newbie.id, ids: [1], intoId: idea, status: 'planned', action: 'pin', days: 7, seconds: 30,
    capacity: 5, decision: 'accept', q: 'thread', id: 1, direction: 'up', note: 'A note', login: 'nobody',
  }
  const validParam = (url: string, name: string): string => {
    // Not a persona's own id: an admin route (the spammer action, a suspension) would lock the persona out.
    if (name === 'userId') return String(f.newbie.id)
    if (name === 'postId') return String(post)
    if (name === 'slug' && url.startsWith('/t/')) return 'a-thread'
    const segments = url.split('/').filter((s) => s && !s.startsWith(':') && s !== 'api' && s !== 'v1' && s !== 'admin')
    return valid[segments.at(-1) ?? ''] ?? valid[segments[0] ?? ''] ?? '1'
  }

  const personas: Record<Who, { persona: Persona | null; client: Client; csrf: string }> = {
    guest: { persona: null, client: new Client(app), csrf: '' },
    member: { persona: f.member, client: f.member.client, csrf: '' },
    admin: { persona: f.admin, client: f.admin.client, csrf: '' },
  }
  for (const p of Object.values(personas)) p.csrf = await p.client.csrfFrom(p.persona ? '/settings' : '/login')

  // A hostile request may log a persona out (POST /logout) or revoke its sessions: log back in.
  async function ensureSession(who: Who) {
    const p = personas[who]
    if (!p.persona || p.client.cookies.has('hearth_session')) return
    const res = await p.client.api('POST', '/api/v1/auth/login', { login: p.persona.username, password: PASSWORD })
    if (res.statusCode !== 200) throw new Error(`re-login of ${who} failed: ${res.statusCode} ${res.body}`)
    p.csrf = await p.client.csrfFrom('/settings')
  }

  const failures: string[] = []
  let requests = 0
  let serverErrors = 0
  async function send(who: Who, method: string, url: string, body?: { json: string } | { form: Record<string, string> }, what = '', cookie = '') {
    await ensureSession(who)
    const p = personas[who]
    const api = url.startsWith('/api/')
    const headers: Record<string, string> = { cookie: [p.client.cookieHeader, cookie].filter(Boolean).join('; ') }
    let payload: string | undefined
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json'
      payload = body.json
    } else if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      payload = new URLSearchParams({ _csrf: p.csrf, ...body.form }).toString()
    }
    if (!api && method !== 'GET' && !payload) headers['x-csrf-token'] = p.csrf
    let res: LightMyRequestResponse
    try {
      res = await app.inject({ method: method as 'GET', url, headers, payload })
    } catch (err) {
      failures.push(`${who} ${method} ${url.slice(0, 120)} ${what}: inject threw ${(err as Error).message}`)
      return
    }
    requests += 1
    for (const c of res.cookies) {
      if (c.name !== 'hearth_session') continue
      if (c.value === '' || (c.expires && new Date(c.expires).getTime() <= Date.now())) p.client.cookies.delete(c.name)
      else p.client.cookies.set(c.name, c.value)
    }
    const json = api && res.statusCode >= 400 ? safeJson(res.body) : undefined
    const problem =
      res.statusCode >= 500 ? `${res.statusCode} ${res.body.slice(0, 160)}`
      : api && res.statusCode >= 400 && (typeof json?.error !== 'string' || Object.keys(json).some((k) => k !== 'error' && k !== 'field'))
        ? `${res.statusCode} not {error, field?}: ${res.body.slice(0, 160)}`
      : STACK.test(res.body) ? `${res.statusCode} shows a stack trace`
      : null
    if (res.statusCode >= 500) serverErrors += 1
    if (problem) failures.push(`${who} ${method} ${url.slice(0, 120)} ${what.slice(0, 80)}: ${problem}`)
  }

  const list = routes.filter((r) => !(r as { websocket?: boolean }).websocket)
  const skipped = [...new Set(routes.filter((r) => (r as { websocket?: boolean }).websocket).map((r) => r.url))]
  const walked = new Set<string>()
  // Independent rotations (values, logged-in personas, plausible-or-empty bodies), so that none is tied to another.
  const turns = { value: 0, who: 0, base: 0 }
  const loggedIn = (): Who => (turns.who++ % 2 === 0 ? 'member' : 'admin')
  const sample = <T>(values: readonly T[], n: number): T[] => Array.from({ length: n }, () => values[turns.value++ % values.length]!)
  // Many keys at once, each with its own value: key i of request j gets value i + j, so over the
  // requests every key meets every value without a request per key and value.
  // The megabyte is left out: with it in one key, the whole request would only ever be too large.
  const combined = <T>(keys: readonly string[], all: readonly T[], j: number) => {
    const values = all.filter((v) => v !== MB)
    return Object.fromEntries(keys.map((k, i) => [k, values[(turns.value + i * 5 + j) % values.length]!]))
  }

  for (const route of list) {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue
      walked.add(`${method} ${route.url}`)
      const names = [...route.url.matchAll(/:(\w+)|\*/g)].map((m) => m[1] ?? '*')
      const fill = (hostile: Record<string, string> = {}) =>
        route.url.replace(/:(\w+)|\*/g, (_m, name: string | undefined) => hostile[name ?? '*'] ?? encodeURIComponent(validParam(route.url, name ?? '*')))
      const takesBody = method !== 'GET' && method !== 'DELETE'
      const api = route.url.startsWith('/api/')
      const declaredQuery = keysOf(route.schema?.querystring)
      const declaredBody = takesBody ? keysOf(route.schema?.body) : []
      const commonQuery = COMMON_QUERY.filter((k) => !declaredQuery.includes(k))
      const commonBody = takesBody ? COMMON_BODY.filter((k) => !declaredBody.includes(k)) : []
      const validBody = Object.fromEntries([...declaredBody, ...commonBody].filter((k) => k in plausible).map((k) => [k, plausible[k]]))
      // Half the time the other fields are plausible (the success path), half the time absent (the error path).
      const base = () => (turns.base++ % 2 === 0 ? validBody : {})
      const bodyOf = (fields: Record<string, unknown>) =>
        api ? { json: jsonOf(fields) } : { form: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, formString(v)])) }
      const emptyBody = takesBody ? bodyOf({}) : undefined
      const query = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `${k}=${v}`).join('&')

      // The route's own fields: each path parameter gets a dozen values, each declared query and
      // body key every value, as the logged-in personas in turn; a guest tries a few of each.
      for (const name of names) {
        for (const v of sample(WIRE, 12)) await send(loggedIn(), method, fill({ [name]: v }), emptyBody, `param ${name}`)
        for (const v of sample(WIRE, 3)) await send('guest', method, fill({ [name]: v }), emptyBody, `param ${name}`)
      }
      for (const key of declaredQuery) {
        for (const v of WIRE) await send(loggedIn(), method, `${fill()}?${key}=${v}`, emptyBody, `query ${key}`)
        for (const v of sample(WIRE, 4)) await send('guest', method, `${fill()}?${key}=${v}`, emptyBody, `query ${key}`)
      }
      for (const key of declaredBody) {
        for (const v of VALUES) await send(loggedIn(), method, fill(), bodyOf({ ...base(), [key]: v }), `body ${key}=${describe(v)}`)
        for (const v of sample(VALUES, 4)) await send('guest', method, fill(), bodyOf({ ...base(), [key]: v }), `body ${key}=${describe(v)}`)
      }
      // Keys the route may read without declaring them (forms are parsed in the service): all at once.
      for (let j = 0; j < 10; j++) {
        const who = j < 8 ? loggedIn() : 'guest'
        await send(who, method, `${fill()}?${query(combined(commonQuery, WIRE, j))}`, emptyBody, `query ${query(combined(commonQuery, WIRE, j)).slice(0, 80)}`)
      }
      for (let j = 0; takesBody && j < 24; j++) {
        const who = j < 20 ? loggedIn() : 'guest'
        const fields = { ...base(), ...combined(commonBody, VALUES, j) }
        // A third of the keys keep their plausible value, so one bad field is not always hidden behind another.
        for (const [i, k] of commonBody.entries()) if ((i + j) % 3 === 0 && Object.hasOwn(validBody, k)) fields[k] = validBody[k]
        await send(who, method, fill(), bodyOf(fields), `body ${jsonOf(fields).slice(0, 100)}`)
      }
      await send(loggedIn(), method, `${fill()}?${[...declaredQuery, ...commonQuery].slice(0, 3).map((k) => `${k}=1&${k}=%00`).join('&')}`, emptyBody, 'repeated query keys')
      // Cookies the browser sends back: a session or CSRF cookie holding NUL, a surrogate, or 64 KB.
      for (const cookie of sample(COOKIES, 2)) await send(loggedIn(), method, fill(), emptyBody, `cookie ${cookie.slice(0, 40)}`, cookie)
      for (const body of BODIES) await send(loggedIn(), method, fill(), { json: body }, `body ${body.slice(0, 40)}`)
      turns.value += 1
    }
  }

  t.comment(`walked ${walked.size} routes (skipped: HEAD twins of GETs and the websocket ${skipped.join(', ')}) with ${requests} requests in ${((Date.now() - started) / 1000).toFixed(1)} s: ${serverErrors} answered 5xx, ${failures.length} failed a check`)
  for (const failure of failures.slice(0, 100)) t.comment(failure.replace(/\s+/g, ' '))
  t.equal(failures.length, 0, 'no 5xx, and {error} on every API refusal')
  t.ok(walked.size > 100, 'the walk found the routes')
})

// The field names a zod object schema declares (through .default() and .optional() wrappers).
function keysOf(schema: unknown): string[] {
  let s = schema as { shape?: Record<string, unknown>; _zod?: { def?: { innerType?: unknown; in?: unknown } } } | undefined
  for (let i = 0; s && i < 5; i++) {
    if (s.shape) return Object.keys(s.shape)
    s = (s._zod?.def?.innerType ?? s._zod?.def?.in) as typeof s
  }
  return []
}

// A JSON body as a hand-written one would be: a `__proto__` key becomes an own key, not a prototype.
function jsonOf(fields: Record<string, unknown>): string {
  return `{${Object.entries(fields).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`
}

function describe(v: unknown): string {
  return (JSON.stringify(v) ?? String(v)).slice(0, 40)
}

function formString(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? ''
}

function safeJson(body: string): { error?: unknown } | undefined {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}
