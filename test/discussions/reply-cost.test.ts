import t from 'tap'
import type { SessionUser } from '../../src/core/auth/sessions.js'
import { preparedShapes } from '../../src/core/db.js'
import { build } from '../helpers/app.js'
import { forum, startThread } from '../helpers/forum.js'
import { QueryCounter } from '../helpers/query-counter.js'

t.test('a reply reads the thread and what the spam check needs in one statement; refusals keep their order', async (t) => {
  const counter = new QueryCounter()
  const { app, db } = await build(t, { plugins: [counter] })
  const f = await forum(app, db)
  const thread = await startThread(f.regular, f.cats.open.id, 'What a reply costs', 'The opening post.')
  const reply = (who: typeof f.member, threadId: number, body: string) => who.client.api('POST', `/api/v1/threads/${threadId}/posts`, { body })
  // The member's session is checked (and its "last seen" stamped) once first.
  t.equal((await reply(f.member, thread.id, 'A first reply, published, to settle the session')).statusCode, 201)
  await app.hearth.relay.drain()

  // Held (every member's first posts wait): the session, the thread with the spam check's facts, the held row.
  await app.hearth.settings.set('spam_hold_first_posts', 5)
  await app.hearth.settings.all()
  counter.roundTrips = 0
  const held = await reply(f.member, thread.id, 'A reply that waits for approval, as the first posts of members do here')
  t.equal(held.statusCode, 202)
  t.equal(counter.roundTrips, 3, `held: the session, the thread with the facts, the held post (${counter.roundTrips})`)
  await app.hearth.settings.set('spam_hold_first_posts', 0)
  await app.hearth.settings.all()

  // Published: the same reads, then the publishing transaction.
  counter.roundTrips = 0
  t.equal((await reply(f.member, thread.id, 'Another reply of the member, published at once')).statusCode, 201)
  const published = counter.roundTrips
  // (Too short a text for a fingerprint: nothing for the spam check to record.)
  t.equal(published, 4, `published: the session, the thread with the facts, the post with its counters, its notifications and events (${published})`)
  await app.hearth.relay.drain()

  // Refusals come in the order they always did: no thread first, then the guard, then the text.
  t.equal((await reply(f.member, 999_999, '')).statusCode, 404, 'an empty reply to no thread: 404')
  t.equal((await f.admin.client.api('PATCH', `/api/v1/threads/${thread.id}`, { locked: true })).statusCode, 200)
  const locked = await reply(f.member, thread.id, '')
  t.equal(locked.statusCode, 403, 'an empty reply to a locked thread: the guard refuses first')
  t.equal((await f.admin.client.api('PATCH', `/api/v1/threads/${thread.id}`, { locked: false })).statusCode, 200)
  const empty = await reply(f.member, thread.id, '   ')
  t.equal(empty.statusCode, 400, 'an empty reply to an open thread: the text is refused')
  t.match(empty.body, /Write something first/)

  // The gate uses what was read along only when it was read for this very draft.
  const user = (await db.selectFrom('users').selectAll().where('id', '=', f.member.id).executeTakeFirstOrThrow()) as unknown as SessionUser
  const viewer = await app.hearth.categories.viewer(user)
  const draft = { kind: 'reply' as const, categoryId: f.cats.open.id, threadId: thread.id, parentId: null, title: null, body: 'A calm reply about keyboards and switches that nobody else wrote', html: '<p>A calm reply</p>', meta: {} }
  const other = await app.hearth.spam.readAlong(viewer, { ...draft, body: 'Some other text entirely, with enough words to have a fingerprint' })
  t.ok(other, 'a member is screened: there is something to read along')
  const bogus = { recent: 20, since_last: 1, agreed_flags: 3, rejected: 3, published: 0, new_domains: [], known_spam: 1, by_others: 10, by_author: 10 }
  const screened = await app.hearth.spam.screen(viewer, draft, { read: other!, value: bogus })
  t.equal(screened.outcome, 'publish', `a value read for another draft is not used (${screened.reasons.join('; ')})`)
  const mine = await app.hearth.spam.readAlong(viewer, draft)
  await t.rejects(app.hearth.spam.screen(viewer, draft, { read: mine!, value: bogus }), { message: /spam filter refused/ }, 'one read for this draft is')
  t.equal(await app.hearth.spam.readAlong(await app.hearth.categories.viewer((await db.selectFrom('users').selectAll().where('id', '=', f.admin.id).executeTakeFirstOrThrow()) as unknown as SessionUser), draft), null, 'staff are not screened: nothing to read')

  // With a fingerprint, a link and a mention: who is mentioned is read before the post's statement
  // takes the thread's row lock, and the fingerprint and link domain are written by that statement,
  // so after it only the notifications' statement runs before the commit (concurrent replies to the
  // thread wait for that lock).
  // (A member of trust level 2, whose session is settled first, linking to a domain already seen
  // here: nothing the spam check would flag for a moderator, which writes more.)
  await db.insertInto('link_domains').values({ domain: 'keyboards.example', posts: 5 }).execute()
  t.equal((await reply(f.regular, thread.id, 'A reply of the regular, to settle the session')).statusCode, 201)
  await app.hearth.relay.drain()
  counter.roundTrips = 0
  counter.statements = []
  const rich = await reply(f.regular, thread.id, `@${f.admin.username} have a look at https://keyboards.example/switches before you choose your next board, it compares them all`)
  t.equal(rich.statusCode, 201)
  const post = counter.statements.findIndex((s) => s.startsWith('with parent as'))
  t.ok(post > 0, `the post's statement ran (${counter.statements.join(' | ')})`)
  t.equal(counter.statements.length - post - 1, 1, `after it, one statement: the notifications and events (${counter.statements.slice(post + 1).join(' | ')})`)
  const stored = await db.selectFrom('post_fingerprints').innerJoin('posts', 'posts.id', 'post_fingerprints.post_id').select('posts.body_md').orderBy('post_fingerprints.id', 'desc').limit(1).executeTakeFirst()
  t.match(stored?.body_md, /keyboards\.example/, 'the fingerprint was written with the post')
  const domain = await db.selectFrom('link_domains').select('posts').where('domain', '=', 'keyboards.example').executeTakeFirst()
  t.equal(domain?.posts, 6, 'and its link domain counted')
  const mention = await db.selectFrom('notifications').select('kind').where('user_id', '=', f.admin.id).where('kind', '=', 'mention').executeTakeFirst()
  t.ok(mention, 'the member mentioned is notified')
  await app.hearth.relay.drain()

  // A reply through an API token: the token check, the thread with the facts, the held row.
  const { token } = await app.hearth.sessions.createApiToken(f.member.id, 'reply-cost')
  await app.hearth.settings.set('spam_hold_first_posts', 50)
  await app.hearth.settings.all()
  const viaToken = () => app.inject({ method: 'POST', url: `/api/v1/threads/${thread.id}/posts`, headers: { authorization: `Bearer ${token}` }, payload: { body: 'A reply from a script, with its own words about the thread' } })
  t.equal((await viaToken()).statusCode, 202, 'the first use stamps the token')
  await app.hearth.relay.drain()
  counter.roundTrips = 0
  t.equal((await viaToken()).statusCode, 202)
  t.equal(counter.roundTrips, 3, `through a token: the token, the thread with the facts, the held post (${counter.roundTrips})`)
  // Each of those statements is built once and then only bound (a value baked into one would build it on every reply).
  const shapes = preparedShapes()
  for (const shape of ['session-lookup:false', 'api-token-lookup', 'visible-thread+spam-facts']) {
    t.equal(shapes.get(shape), true, `${shape}: a template, built once`)
  }
  t.notOk([...shapes].some(([, template]) => !template), `no statement shape met here is built every time (${[...shapes].filter(([, x]) => !x).map(([s]) => s).join(', ')})`)
})
