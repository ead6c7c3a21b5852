import t from 'tap'
import { SESSION_COOKIE } from '../../src/core/auth/cookies.js'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { QueryCounter } from '../helpers/query-counter.js'

t.test('a thread page costs a guest one query and a member one too (the session is looked up with the page), whatever the thread size', async (t) => {
  const counter = new QueryCounter()
  const { app, db } = await build(t, { plugins: [counter] })
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'What a page costs', 'root')
  for (let i = 0; i < 5; i++) await replyTo(i % 2 ? f.admin : f.member, thread.id, `reply ${i}`)
  await f.regular.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)
  await app.hearth.notifications.notify([{ userId: f.regular.id, kind: 'reply', text: 'hello', url: thread.url }])
  // The relay's background work (live fan-out, watchers) is not the page's cost.
  await app.hearth.relay.drain()

  const guest = new Client(app)
  counter.roundTrips = 0
  t.equal((await guest.get(thread.url)).statusCode, 200)
  t.equal(counter.roundTrips, 1, 'guest: the thread with its category and the posts, one statement')

  // The first visit records reading; a revisit with nothing new reads only.
  counter.roundTrips = 0
  let page = await f.regular.client.get(thread.url)
  t.equal(page.statusCode, 200)
  t.equal(counter.roundTrips, 2, 'member, first visit: the session with the thread and posts, then the read marker')
  counter.roundTrips = 0
  page = await f.regular.client.get(thread.url)
  t.equal(counter.roundTrips, 1, 'member, nothing new: session (moderation scope, unread count), thread and posts in one statement')
  t.match(page.body, /data-unread>1</, 'the unread count still reaches the header')
  t.match(page.body, /name="like" value="0"/, 'likes by the member are still marked')

  // A category moderator's scope comes with the session: the thread in their category shows the tools.
  const inner = await startThread(f.admin, f.cats.trusted.id, 'Trusted talk here', 'root')
  await f.categoryMod.client.get(inner.url)
  await app.hearth.relay.drain()
  counter.roundTrips = 0
  const modPage = await f.categoryMod.client.get(inner.url)
  t.match(modPage.body, /Moderation/, 'the moderator sees the tools')
  t.ok(counter.roundTrips <= 2, `a moderator's page takes ${counter.roundTrips} queries (the move targets are one more)`)

  // Adding the member's reply makes the next visit record it again.
  await replyTo(f.member, thread.id, 'one more')
  const row = await db.selectFrom('thread_reads').select('last_read_post_id').where('user_id', '=', f.regular.id).executeTakeFirstOrThrow()
  await f.regular.client.get(thread.url)
  const after = await db.selectFrom('thread_reads').select('last_read_post_id').where('user_id', '=', f.regular.id).executeTakeFirstOrThrow()
  t.ok(after.last_read_post_id > row.last_read_post_id, 'a new post moves the read marker')
})

t.test('the session check only reads; the sliding refresh and the activity stamp cost one statement when due', async (t) => {
  const counter = new QueryCounter()
  const { app, db } = await build(t, { plugins: [counter] })
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Session refresh thread', 'root')
  await f.regular.client.get(thread.url)
  await app.hearth.relay.drain()
  counter.roundTrips = 0
  await f.regular.client.get(thread.url)
  const steady = counter.roundTrips

  // Half the lifetime gone and not seen for an hour: the next page extends both, in one more statement.
  const soon = new Date(Date.now() + 2 * 86_400_000)
  const longAgo = new Date(Date.now() - 60 * 60 * 1000)
  await db.updateTable('sessions').set({ expires_at: soon, last_seen_at: longAgo }).where('user_id', '=', f.regular.id).execute()
  await db.updateTable('users').set({ last_seen_at: longAgo }).where('id', '=', f.regular.id).execute()
  counter.roundTrips = 0
  const page = await f.regular.client.get(thread.url)
  t.equal(counter.roundTrips, steady + 1, `one statement for the refresh (${steady} queries otherwise)`)
  const cookie = page.cookies.find((c) => c.name === SESSION_COOKIE)
  t.ok(cookie && new Date(cookie.expires!).getTime() > Date.now() + 20 * 86_400_000, 'the cookie is extended')
  const session = await db.selectFrom('sessions').select(['expires_at', 'last_seen_at']).where('user_id', '=', f.regular.id).executeTakeFirstOrThrow()
  t.ok(session.expires_at.getTime() > Date.now() + 20 * 86_400_000, 'the session is extended')
  t.ok(session.last_seen_at > longAgo, 'the session is stamped')
  const user = await db.selectFrom('users').select('last_seen_at').where('id', '=', f.regular.id).executeTakeFirstOrThrow()
  t.ok(user.last_seen_at! > longAgo, "the member's activity is stamped")
  counter.roundTrips = 0
  await f.regular.client.get(thread.url)
  t.equal(counter.roundTrips, steady, 'the next page writes nothing again')

  // Pages racing while the refresh is due: all are the member's, the session is extended once.
  await db.updateTable('sessions').set({ expires_at: soon, last_seen_at: longAgo }).where('user_id', '=', f.regular.id).execute()
  const raced = await Promise.all(Array.from({ length: 6 }, () => f.regular.client.get(thread.url)))
  t.same(raced.map((r) => [r.statusCode, /Log out/.test(r.body)]), raced.map(() => [200, true]), 'every racing page is the member\'s')
  const extended = await db.selectFrom('sessions').select(['expires_at']).where('user_id', '=', f.regular.id).executeTakeFirstOrThrow()
  t.ok(extended.expires_at.getTime() > Date.now() + 20 * 86_400_000, 'the raced session is extended')
  const visits = await db.selectFrom('activity_log').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', f.regular.id).where('kind', '=', 'visit').executeTakeFirstOrThrow()
  t.equal(Number(visits.n), 1, 'one visit for the day, however many refreshes raced')

  // The right session id with a wrong secret is refused and touches nothing.
  await db.updateTable('sessions').set({ expires_at: soon, last_seen_at: longAgo }).where('user_id', '=', f.regular.id).execute()
  const id = f.regular.client.cookies.get(SESSION_COOKIE)!.split('.')[0]!
  const forged = await app.inject({ method: 'GET', url: thread.url, headers: { cookie: `${SESSION_COOKIE}=${id}.${'a'.repeat(32)}` } })
  t.notMatch(forged.body, /Log out/, 'a forged secret is a guest')
  const untouched = await db.selectFrom('sessions').select(['expires_at', 'last_seen_at']).where('user_id', '=', f.regular.id).executeTakeFirstOrThrow()
  t.same([untouched.expires_at.getTime(), untouched.last_seen_at.getTime()], [soon.getTime(), longAgo.getTime()], 'a forged secret extends nothing')
})

t.test('a continued branch costs a fixed number of queries too, with whom its first posts answer', async (t) => {
  const counter = new QueryCounter()
  const { app, db } = await build(t, { plugins: [counter] })
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'A deep branch', 'root')
  let parent: number | undefined
  const chain: number[] = []
  for (let i = 0; i < 8; i++) chain.push((parent = await replyTo(i % 2 ? f.admin : f.member, thread.id, `level ${i + 1}`, parent)))
  // The relay's background work (live fan-out, watchers) is not the page's cost.
  await app.hearth.relay.drain()
  const guest = new Client(app)
  const url = `${thread.url}?post=${chain[5]}`
  counter.roundTrips = 0
  const small = await guest.get(url)
  t.match(small.body, /in reply to @/)
  const few = counter.roundTrips
  for (let i = 0; i < 10; i++) await replyTo(f.admin, thread.id, `more ${i}`, chain[6 + (i % 2)])
  await app.hearth.relay.drain()
  counter.roundTrips = 0
  t.equal((await guest.get(url)).statusCode, 200)
  t.equal(counter.roundTrips, few, `the same ${few} queries (thread, root, posts, the parents shown as "in reply to") with more replies`)
  t.ok(few <= 3)
})

t.test('a page that looks its session up itself settles it as the session check would: expired, 404, errors, members-only', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const open = await startThread(f.member, f.cats.open.id, 'Session in the page', 'root')
  const inner = await startThread(f.member, f.cats.members.id, 'Members only talk', 'root')
  await f.regular.client.api('PUT', `/api/v1/posts/${open.postId}/like`)

  const page = await f.regular.client.get(open.url)
  t.match(page.body, /Log out/, "the member's page")
  t.match(page.body, /name="like" value="0"/, 'their like is marked')
  t.equal((await f.regular.client.get(inner.url)).statusCode, 200, 'a members-only thread is theirs to read')
  t.equal((await new Client(app).get(inner.url)).statusCode, 404, "and not a guest's")
  // The CSRF token is made when a page prints it: a guest's thread page has no form, so no cookie and no signing.
  t.notOk((await app.inject({ method: 'GET', url: open.url })).cookies.some((c) => c.name === 'hearth_csrf'), "a guest's thread page sets no CSRF cookie")
  t.ok((await app.inject({ method: 'GET', url: '/login' })).cookies.some((c) => c.name === 'hearth_csrf'), 'a page with a form does')

  // A missing thread and a refused query are error pages with the member's header.
  const missing = await f.regular.client.get('/t/987654321')
  t.equal(missing.statusCode, 404)
  t.match(missing.body, /Log out/, "the 404 page knows who is asking")
  const bad = await f.regular.client.get(`${open.url}?after=abc`)
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /Log out/, 'so does the error page')
  const byNumber = await f.regular.client.get(`/t/${open.id}?n=1`)
  t.equal(byNumber.statusCode, 302, 'a post by number redirects')

  // An expired session reads as a guest: none of its member's marks, the cookie cleared, the row gone.
  const token = f.regular.client.cookies.get(SESSION_COOKIE)!
  await db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', f.regular.id).execute()
  const expired = await f.regular.client.get(open.url)
  t.equal(expired.statusCode, 200)
  t.notMatch(expired.body, /Log out/, 'an expired session is a guest')
  t.notMatch(expired.body, /name="like"/, "and sees none of its member's likes")
  t.ok(expired.cookies.some((c) => c.name === SESSION_COOKIE && c.value === ''), 'its cookie is cleared')
  const left = await db.selectFrom('sessions').select('id').where('user_id', '=', f.regular.id).execute()
  t.equal(left.length, 0, 'the expired session is deleted')
  t.equal((await app.inject({ method: 'GET', url: inner.url, headers: { cookie: `${SESSION_COOKIE}=${token}` } })).statusCode, 404,
    'and a members-only thread is a 404 for it')
})
