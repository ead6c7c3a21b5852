import t from 'tap'
import { build } from '../helpers/app.js'
import { forum } from '../helpers/forum.js'
import { PASSWORD } from '../helpers/personas.js'

// The documented defaults (README, "Spam defence"): 10 sign-ups an hour and 20 a day per IP
// address, 30 an hour per /24 or /64 subnet. Tests otherwise run with generous limits.
const DEFAULT_LIMITS = { RATE_LIMIT_SIGNUP: '10', RATE_LIMIT_SIGNUP_DAY: '20', RATE_LIMIT_SIGNUP_SUBNET: '30' }
const SPAM = 'Cheap watches and pills at https://pills.example/buy and https://watches.example now, best prices, fast shipping, order today without waiting'

t.test('a flood: 1,000 sign-ups from one address, then link spam; the limits stop it and members see none of it', async (t) => {
  const { app, db } = await build(t, { env: DEFAULT_LIMITS })
  const f = await forum(app, db)
  const statuses = new Map<number, number>()
  const cookies: string[] = []
  for (let i = 0; i < 1_000; i++) {
    const res = await app.inject({
      method: 'POST', url: '/api/v1/auth/signup', remoteAddress: '203.0.113.66',
      payload: { username: `flood${i}`, email: `flood${i}@spam-${i}.example`, password: PASSWORD },
    })
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    if (res.statusCode === 201) cookies.push(res.cookies.map((c) => `${c.name}=${c.value}`).join('; '))
  }
  t.equal(statuses.get(201), 10, 'ten accounts an hour from one address')
  t.equal(statuses.get(429), 990, 'the rest are refused')
  t.equal((await db.selectFrom('users').select('id').where('username', 'like', 'flood%').execute()).length, 10)

  // Each account that got in posts link spam, several times, as fast as it can.
  const outcomes = new Map<number, number>()
  for (const cookie of cookies) {
    for (let n = 0; n < 3; n++) {
      const res = await app.inject({
        method: 'POST', url: '/api/v1/threads', remoteAddress: '203.0.113.66', headers: { cookie, 'content-type': 'application/json', origin: app.hearth.config.baseUrl },
        payload: { categoryId: f.cats.open.id, title: `Best deals ${n}`, body: `${SPAM} ${n}` },
      })
      outcomes.set(res.statusCode, (outcomes.get(res.statusCode) ?? 0) + 1)
    }
  }
  t.comment(`spam posts: ${JSON.stringify(Object.fromEntries(outcomes))} (202 held, 400 refused)`)
  t.notOk(outcomes.get(201), 'not one spam post was published')
  t.ok((outcomes.get(202) ?? 0) > 0, 'they wait for approval (held)…')
  t.equal((outcomes.get(202) ?? 0) + (outcomes.get(400) ?? 0) + (outcomes.get(403) ?? 0), 30, '…or are refused outright')

  // What a member sees: the latest list, the category, thread pages, search, the feed.
  const latest = await f.member.client.api('GET', '/api/v1/threads?list=latest')
  t.notOk(latest.data.threads.some((th: { title: string }) => /Best deals/.test(th.title)), 'not in the latest list')
  t.notMatch((await f.member.client.get('/')).body, /Best deals/, 'not on the home page')
  t.notMatch((await f.member.client.get('/c/general')).body, /Best deals/, 'not in the category')
  t.same((await f.member.client.api('GET', '/api/v1/search?q=watches')).data.results, [], 'not in search')
  t.notMatch((await app.inject({ url: '/feeds/latest.atom' })).body, /pills\.example/, 'not in the feed')
  t.equal((await db.selectFrom('threads').select('id').where('title', 'like', 'Best deals%').execute()).length, 0, 'no thread page exists for any of it')
  const held = await db.selectFrom('held_posts').select('id').where('status', '=', 'pending').execute()
  for (const h of held.slice(0, 3)) t.equal((await f.member.client.get(`/pending/${h.id}`)).statusCode, 404, 'a held post’s page is 404 to members')
})
