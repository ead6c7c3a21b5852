import t from 'tap'
import type { DomainEvent } from '../../src/core/events.js'
import { build } from '../helpers/app.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { persona } from '../helpers/personas.js'

t.test('a held reply: the author sees it awaiting review, nobody else does; on approval it appears and its notifications and events fire then', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const events: DomainEvent[] = []
  app.hearth.events.on('*', (e) => void events.push(e))
  const thread = await startThread(f.member, f.cats.members.id, 'Keyboards we love', 'Tell us about yours.')
  // Every member's first post waits for approval.
  await app.hearth.settings.set('spam_hold_first_posts', 1)
  await app.hearth.relay.drain()
  events.length = 0

  const secret = 'Zanzibarite switches are the quietest I ever typed on'
  const res = await f.newbie.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: `@${f.member.username} ${secret}` })
  t.equal(res.statusCode, 202, 'accepted, not published')
  t.equal(res.data.status, 'held')
  const heldId = res.data.heldId as number
  await app.hearth.relay.drain()
  t.notOk(events.some((e) => e.type === 'post.created' || e.type === 'notification.created'), 'no post event and no notification at hold time')
  t.equal((await db.selectFrom('notifications').select('id').where('user_id', '=', f.member.id).execute()).length, 0, 'the member is not told yet')

  // The author sees it, marked, on the thread page and on /pending; it is editable.
  const own = await f.newbie.client.get(thread.url)
  t.match(own.body, /Awaiting review/)
  t.match(own.body, /Zanzibarite/)
  t.match((await f.newbie.client.get('/pending')).body, /Zanzibarite/)
  const edited = await f.newbie.client.submit(`/pending/${heldId}`, { body: `@${f.member.username} ${secret}, and the Glorbs too` }, `/pending/${heldId}`)
  t.equal(edited.statusCode, 303, 'the author edits it while it waits')
  t.match((await f.newbie.client.get(`/pending/${heldId}`)).body, /Glorbs/)

  // Nobody else sees it anywhere: thread page and API, counts, search, latest, the held page itself.
  for (const who of [f.regular, f.categoryMod]) {
    t.notMatch((await who.client.get(thread.url)).body, /Zanzibarite/, 'not on the thread page')
    const api = await who.client.api('GET', `/api/v1/threads/${thread.id}`)
    t.equal(api.data.thread.replyCount, 0, 'not counted')
    t.notMatch(api.body, /Zanzibarite/)
    t.same((await who.client.api('GET', '/api/v1/search?q=Zanzibarite')).data.results, [], 'not in search')
  }
  t.equal((await f.regular.client.get(`/pending/${heldId}`)).statusCode, 404, 'its page is 404 for others')
  t.equal((await f.regular.client.api('GET', '/api/v1/mod/queue')).statusCode, 404, 'members have no queue')

  // The queue: the category's moderator sees it with how long it waited; another category's does not.
  const otherMod = await persona(app, db, { stem: 'othermod', trustLevel: 2 })
  await app.hearth.categories.appointModerator(f.admin.id, f.cats.open.id, otherMod.username)
  t.notOk((await otherMod.client.api('GET', '/api/v1/mod/queue')).data.items.some((i: { id: number }) => i.id === heldId), 'not in another category’s queue')
  const queue = await f.categoryMod.client.api('GET', '/api/v1/mod/queue')
  const item = queue.data.items.find((i: { id: number }) => i.id === heldId)
  t.ok(item, 'in the category moderator’s queue')
  t.match(item.waited, /minute/)
  t.match(item.reasons.join(' '), /first 1 posts/)
  t.match((await f.categoryMod.client.get('/mod/approvals')).body, /Waiting less than a minute/)
  t.equal((await otherMod.client.api('POST', `/api/v1/mod/queue/${heldId}`, { action: 'approve' })).statusCode, 403, 'another category’s moderator cannot approve')

  // Approval publishes it now, with its notification and events.
  events.length = 0
  const approved = await f.categoryMod.client.api('POST', `/api/v1/mod/queue/${heldId}`, { action: 'approve' })
  t.equal(approved.statusCode, 200)
  t.equal(approved.data.action, 'approved')
  await app.hearth.relay.drain()
  const created = events.find((e) => e.type === 'post.created')
  t.ok(created, 'post.created fires on approval')
  t.ok(events.some((e) => e.type === 'notification.created' && (e.data as { userId: number }).userId === f.member.id && (e.data as { kind: string }).kind === 'reply'), 'the thread’s author is told on approval')
  t.ok(events.some((e) => e.type === 'notification.created' && (e.data as { userId: number }).userId === f.newbie.id && (e.data as { kind: string }).kind === 'post.approved'), 'so is the author')
  const page = await f.regular.client.get(thread.url)
  t.match(page.body, /Glorbs/, 'everyone sees it now, as edited')
  t.equal((await f.regular.client.api('GET', `/api/v1/threads/${thread.id}`)).data.thread.replyCount, 1)
  const post = await db.selectFrom('posts').select(['created_at', 'author_id']).where('id', '=', (created!.data as { postId: number }).postId).executeTakeFirstOrThrow()
  t.equal(post.author_id, f.newbie.id, 'posted as its author')
  t.ok(Date.now() - post.created_at.getTime() < 60_000, 'as if posted now')
  const numbered = await db.selectFrom('posts').innerJoin('threads', 'threads.id', 'posts.thread_id').select(['posts.post_number', 'threads.last_post_number']).where('posts.id', '=', (created!.data as { postId: number }).postId).executeTakeFirstOrThrow()
  t.same([numbered.post_number, numbered.last_post_number], [2, 2], 'numbered when approved: #2, the thread counter with it')
  t.equal((await f.categoryMod.client.api('POST', `/api/v1/mod/queue/${heldId}`, { action: 'approve' })).statusCode, 409, 'approved once')
  const log = await db.selectFrom('moderation_log').select('action').where('action', '=', 'post.approve').execute()
  t.equal(log.length, 1, 'logged')

  // Their second post is no longer one of their first: published at once.
  t.ok(await replyTo(f.newbie, thread.id, 'Thanks for letting me in!'))
})

t.test('a held thread, rejected with a reason; approvers go through the guard (own posts, trust level 3)', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  await app.hearth.settings.set('spam_hold_category_slugs', 'general')
  const res = await f.newbie.client.api('POST', '/api/v1/threads', { categoryId: f.cats.open.id, title: 'Great offer inside', body: 'Limited time deal.' })
  t.equal(res.statusCode, 202)
  const heldId = res.data.heldId as number
  t.same((await f.regular.client.api('GET', '/api/v1/threads?list=latest')).data.threads, [], 'not in the latest list')
  t.notMatch((await f.regular.client.get('/c/general')).body, /Great offer/, 'not in the category')
  t.notMatch((await app.inject({ url: '/feeds/latest.atom' })).body, /Great offer/, 'not in the feed')
  t.match((await f.newbie.client.get(`/pending/${heldId}`)).body, /Awaiting review/)

  // A moderator's own post in a held category is theirs to publish; a TL3 member approves only when the owner allows it.
  const veteran = await persona(app, db, { stem: 'veteran', trustLevel: 3 })
  t.equal((await veteran.client.api('GET', '/api/v1/mod/queue')).statusCode, 404)
  await app.hearth.settings.set('spam_tl3_approves', true)
  t.ok((await veteran.client.api('GET', '/api/v1/mod/queue')).data.items.some((i: { id: number }) => i.id === heldId), 'TL3 sees it once allowed')
  const ownHeld = await veteran.client.api('POST', '/api/v1/threads', { categoryId: f.cats.open.id, title: 'My own thread here', body: 'Words.' })
  t.equal(ownHeld.statusCode, 202)
  t.equal((await veteran.client.api('POST', `/api/v1/mod/queue/${ownHeld.data.heldId}`, { action: 'approve' })).statusCode, 403, 'never one’s own post')

  const rejected = await veteran.client.api('POST', `/api/v1/mod/queue/${heldId}`, { action: 'reject', reason: 'Advertising is not allowed' })
  t.equal(rejected.statusCode, 200)
  const note = await db.selectFrom('notifications').select(['kind', 'payload']).where('user_id', '=', f.newbie.id).executeTakeFirstOrThrow()
  t.equal(note.kind, 'post.rejected')
  t.match(JSON.stringify(note.payload), /Advertising is not allowed/, 'the author is told why')
  const page = await f.newbie.client.get(`/pending/${heldId}`)
  t.match(page.body, /Not approved/)
  t.match(page.body, /Limited time deal/, 'their text is not lost')
  t.equal((await db.selectFrom('threads').select('id').where('title', '=', 'Great offer inside').execute()).length, 0, 'never published')
})

t.test('the score holds a brand-new account’s link spam; a clean post goes through', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const fresh = await persona(app, db, { stem: 'fresh', trustLevel: 0 })
  await db.updateTable('users').set({ email_verified_at: null }).where('id', '=', fresh.id).execute()
  const thread = await startThread(f.member, f.cats.open.id)
  t.equal((await fresh.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'Hello everyone, glad to be here.' })).statusCode, 201, 'a plain first reply')
  const spam = await fresh.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'Best prices: https://pills.example/buy' })
  t.equal(spam.statusCode, 202, 'a link to a domain new to the forum from a brand-new unconfirmed account waits')
  const items = (await f.admin.client.api('GET', '/api/v1/mod/queue')).data.items
  t.ok(items.some((i: { status: string }) => i.status === 'flagged'), 'the first reply was published and flagged for a look (brand-new, unconfirmed)')
  const held = items.find((i: { status: string }) => i.status === 'pending')
  t.match(held.reasons.join('; '), /domains new to the forum: pills\.example/)
  t.ok(held.score >= 60)
  // Staff are never screened.
  t.equal((await f.admin.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'Official: https://pills.example/buy' })).statusCode, 201)
})
