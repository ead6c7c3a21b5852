import { sql } from 'kysely'
import { decoded } from '../helpers/client.js'
import t from 'tap'
import { build } from '../helpers/app.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { type Persona, persona } from '../helpers/personas.js'
import type { Db } from '../../src/core/db.js'

interface ApiNotification { id: number; kind: string; text: string; url: string; read: boolean; count: number }

async function unread(p: Persona): Promise<ApiNotification[]> {
  const res = await p.client.api('GET', '/api/v1/notifications')
  return (res.data.items as ApiNotification[]).filter((n) => !n.read)
}

async function kinds(db: Db, userId: number) {
  return db.selectFrom('notifications').select(['kind', 'count', 'payload', 'read_at']).where('user_id', '=', userId).orderBy('id').execute()
}

t.test('levels: creator watches, replier tracks, watchers hear every post, muted hears nothing', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Levels under test')
  const level = await f.member.client.api('GET', `/api/v1/threads/${thread.id}/notification-level`)
  t.match(level.data, { level: 'watching', from: 'thread', reason: 'created' }, 'who starts a thread watches it')

  await replyTo(f.regular, thread.id, 'A first reply from a regular')
  t.match((await f.regular.client.api('GET', `/api/v1/threads/${thread.id}/notification-level`)).data, { level: 'tracking', reason: 'replied' }, 'who replies tracks it')

  // A third member watches the thread through the API; the admin watches the whole category.
  const watcher = await persona(app, db, { stem: 'watcher', trustLevel: 1 })
  const set = await watcher.client.api('PUT', `/api/v1/threads/${thread.id}/notification-level`, { level: 'watching' })
  t.same(set.data, { threadId: thread.id, level: 'watching' })
  t.equal((await f.admin.client.api('PUT', `/api/v1/categories/${f.cats.open.id}/notification-level`, { level: 'watching' })).statusCode, 200)
  const bad = await watcher.client.api('PUT', `/api/v1/threads/${thread.id}/notification-level`, { level: 'loud' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.data.field, 'level')

  await f.regular.client.get(thread.url)
  await f.newbie.client.get(thread.url)
  await f.newbie.client.api('PUT', `/api/v1/threads/${thread.id}/notification-level`, { level: 'tracking' })
  await replyTo(f.newbie, thread.id, 'A reply from a new member')
  await app.hearth.relay.drain()
  t.match((await f.regular.client.get('/')).body, /class="badge unread-count"[^>]*>1 unread</, 'a tracked thread shows its unread count in Latest')
  t.notMatch((await f.admin.client.get('/')).body, /unread-count/, 'a thread one never opened has no count')
  t.notMatch((await f.newbie.client.get('/')).body, /unread-count/, 'one’s own posts are not unread')
  t.match(await unread(watcher), [{ kind: 'posted', text: /posted in “Levels under test”/ }], 'a watcher hears about a new post')
  t.match(await unread(f.admin), [{ kind: 'posted' }], 'so does a watcher of the category')
  t.match(await unread(f.member), [{ kind: 'reply', count: 2, text: '2 new replies in “Levels under test”' }], 'the creator, who watches, has the reply to their post and the new post in one')
  t.same(await unread(f.regular), [], 'a tracker hears nothing about posts that are not replies to them')

  // Watching collapses: three more posts make one "N new replies" row per watcher.
  await replyTo(f.newbie, thread.id, 'Another reply')
  await replyTo(f.categoryMod, thread.id, 'Yet another reply')
  await app.hearth.relay.drain()
  const grouped = await unread(watcher)
  t.equal(grouped.length, 1, 'replies in one thread collapse while unread')
  t.match(grouped[0], { count: 3, text: '3 new replies in “Levels under test”' })
  const first = (await db.selectFrom('notifications').select('url').where('id', '=', grouped[0]!.id).executeTakeFirstOrThrow()).url
  t.match(first, new RegExp(`/t/${thread.id}/.*#p\\d+`), 'it links to the first unread post')

  // Muting the thread: nothing more, even a direct reply.
  t.equal((await f.member.client.api('PUT', `/api/v1/threads/${thread.id}/notification-level`, { level: 'muted' })).statusCode, 200)
  const before = (await kinds(db, f.member.id)).length
  await replyTo(f.regular, thread.id, 'Replying to the opening post', thread.postId)
  await replyTo(f.regular, thread.id, `Hey @${f.member.username}, a mention`)
  await app.hearth.relay.drain()
  t.equal((await kinds(db, f.member.id)).length, before, 'a muted thread tells nothing: no reply, no mention, no watching')

  // A muted category: out of Latest, no notifications; a thread with its own level keeps it.
  const quiet = await startThread(f.admin, f.cats.open.id, 'Another thread in general')
  await watcher.client.api('PUT', `/api/v1/categories/${f.cats.open.id}/notification-level`, { level: 'muted' })
  const latest = await watcher.client.get('/')
  t.notMatch(latest.body, /Another thread in general/, 'threads of a muted category leave Latest')
  t.match(latest.body, /Levels under test/, 'a thread watched on its own stays')
  t.match((await f.regular.client.get('/')).body, /Another thread in general/, 'other members still see it')
  await watcher.client.api('PUT', `/api/v1/threads/${quiet.id}/notification-level`, { level: 'muted' })
  await watcher.client.api('PUT', `/api/v1/categories/${f.cats.open.id}/notification-level`, { level: 'normal' })
  t.notMatch((await watcher.client.get('/')).body, /Another thread in general/, 'a muted thread leaves Latest')

  // What the member set, listed for review.
  const mine = await watcher.client.api('GET', '/api/v1/me/notification-levels')
  t.match(mine.data.threads, [{ threadId: quiet.id, level: 'muted' }, { threadId: thread.id, level: 'watching' }])
  t.same(mine.data.categories, [], 'normal is not stored')
  const page = await watcher.client.get('/settings/notifications')
  t.equal(page.statusCode, 200)
  t.match(page.body, /Levels under test/)

  // Pages: the thread control is a form that works without JavaScript.
  const threadPage = await watcher.client.get(thread.url)
  t.match(threadPage.body, new RegExp(`action="/t/${thread.id}/notification-level"`))
  t.match(threadPage.body, /<option value="watching" selected>/)
  const form = await watcher.client.submit(`/t/${thread.id}/notification-level`, { level: 'tracking' }, thread.url)
  t.equal(form.statusCode, 303)
  t.match(form.headers.location, /\?level=saved$/)
  t.match((await watcher.client.get(thread.url)).body, /<option value="tracking" selected>/)
  t.equal((await app.inject({ method: 'GET', url: thread.url })).body.includes('notification-level'), false, 'guests see no control')

  // Private spaces stay private: a level on a thread one cannot see is a 404.
  const hidden = await startThread(f.regular, f.cats.trusted.id, 'Trusted members only thread')
  t.equal((await f.member.client.api('PUT', `/api/v1/threads/${hidden.id}/notification-level`, { level: 'watching' })).statusCode, 404)
  t.equal((await f.member.client.api('PUT', `/api/v1/categories/${f.cats.trusted.id}/notification-level`, { level: 'watching' })).statusCode, 404)
  t.equal((await app.inject({ method: 'PUT', url: `/api/v1/threads/${thread.id}/notification-level`, payload: { level: 'watching' } })).statusCode, 401)
})

t.test('a watcher who can no longer see the category hears nothing; a redelivered event notifies once', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.regular, f.cats.trusted.id, 'Trusted watchers thread')
  await f.member.client.api('PUT', `/api/v1/threads/${thread.id}/notification-level`, { level: 'watching' })
  const watcher = await persona(app, db, { stem: 'watcher', trustLevel: 2 })
  await watcher.client.api('PUT', `/api/v1/threads/${thread.id}/notification-level`, { level: 'watching' })
  await db.updateTable('users').set({ trust_level: 1 }).where('id', '=', watcher.id).execute()
  await replyTo(f.admin, thread.id, 'A reply the demoted watcher may not read')
  await app.hearth.relay.drain()
  t.same(await unread(watcher), [], 'no notification about a thread one cannot see')

  const event = await db.selectFrom('outbox').select(['id', 'payload']).where('type', '=', 'post.notify').orderBy('id', 'desc').executeTakeFirstOrThrow()
  const creator = await unread(f.regular)
  t.equal(creator.length, 1, 'the creator was told once')
  // The relay hands an event over again (a crash after the fan-out): nothing doubles.
  await db.transaction().execute((trx) => app.hearth.notifications.fanOutPost(trx, event.id, event.payload as never))
  const again = await unread(f.regular)
  t.equal(again.length, 1)
  t.equal(again[0]!.count, 1, 'the fan-out ledger keeps it exactly once')
})

t.test('likes group into one notification per post, stay exact under a race, and can be switched off', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Likeable thread')
  const fans: Persona[] = []
  for (let i = 0; i < 12; i++) fans.push(await persona(app, db, { stem: 'fan', trustLevel: 1 }))

  await fans[0]!.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)
  let n = await unread(f.member)
  t.match(n, [{ kind: 'like', count: 1, text: `${fans[0]!.username} liked your post in “Likeable thread”` }])

  // Eleven more at once: one row, the exact count.
  const results = await Promise.all(fans.slice(1).map((fan) => fan.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)))
  t.ok(results.every((r) => r.statusCode === 200))
  n = await unread(f.member)
  t.equal(n.length, 1, 'concurrent likes make one notification')
  t.equal(n[0]!.count, 12)
  t.match(n[0]!.text, / and 11 others liked your post in “Likeable thread”$/)
  const created = await db.selectFrom('outbox').select('type').where('type', 'in', ['notification.created', 'notification.updated']).where(sql<boolean>`channels @> array[${`user:${f.member.id}`}]::text[]`).execute()
  t.equal(created.filter((e) => e.type === 'notification.created').length, 1, 'the badge counts it once')

  // Unlikes race likes: the count always equals the likes it counts.
  await Promise.all(fans.slice(0, 8).map((fan, i) => fan.client.api(i % 2 ? 'DELETE' : 'PUT', `/api/v1/posts/${thread.postId}/like`)))
  await Promise.all(fans.slice(4, 10).map((fan) => fan.client.api('DELETE', `/api/v1/posts/${thread.postId}/like`)))
  const likes = await db.selectFrom('post_likes').select('user_id').where('post_id', '=', thread.postId).execute()
  n = await unread(f.member)
  t.equal(n[0]!.count, likes.length, 'unliking leaves the right count')
  t.match(n[0]!.text, likes.length > 2 ? new RegExp(` and ${likes.length - 1} others liked`) : / liked/)

  // Every like taken back: the unread notification goes.
  await Promise.all(fans.map((fan) => fan.client.api('DELETE', `/api/v1/posts/${thread.postId}/like`)))
  t.same(await unread(f.member), [], 'no likes, no like notification')

  // After reading, the next like starts a new notification; off means none at all.
  await fans[0]!.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)
  await f.member.client.api('POST', '/api/v1/notifications/read', {})
  await fans[1]!.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)
  t.match(await unread(f.member), [{ count: 1, text: `${fans[1]!.username} liked your post in “Likeable thread”` }])
  await fans[0]!.client.api('DELETE', `/api/v1/posts/${thread.postId}/like`)
  t.equal((await unread(f.member))[0]!.count, 1, 'unliking a like counted in a read notification leaves the new one alone')
  await f.member.client.api('POST', '/api/v1/notifications/read', {})
  t.same((await f.member.client.api('PATCH', '/api/v1/me/notification-settings', { likes: false })).data, { likeNotifications: false })
  await fans[2]!.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)
  t.same(await unread(f.member), [], 'likes switched off tell nothing')
  const form = await f.member.client.submit('/settings/notifications/likes', { likes: 'on' }, '/settings/notifications')
  t.equal(form.statusCode, 303)
  await fans[3]!.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)
  t.equal((await unread(f.member)).length, 1, 'and back on')
})

t.test('muting a member: collapsed posts, no notifications from them, staff cannot be muted', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'A thread with a pest')
  const pest = await persona(app, db, { stem: 'pest', trustLevel: 1 })

  const muted = await f.member.client.api('PUT', `/api/v1/me/mutes/${pest.username}`)
  t.same(muted.data, { username: pest.username, muted: true })
  t.same((await f.member.client.api('GET', '/api/v1/me/mutes')).data.mutes.map((m: { username: string }) => m.username), [pest.username])
  t.equal((await f.member.client.api('PUT', `/api/v1/me/mutes/${f.member.username}`)).statusCode, 403, 'not oneself')
  const staff = await f.member.client.api('PUT', `/api/v1/me/mutes/${f.admin.username}`)
  t.equal(staff.statusCode, 403, 'staff cannot be muted')
  t.match(staff.data.error, /Moderators and admins cannot be muted/)
  t.equal((await f.member.client.api('PUT', '/api/v1/me/mutes/nobody-at-all')).statusCode, 400)

  const post = await replyTo(pest, thread.id, `Listen @${f.member.username}!`, thread.postId)
  await pest.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)
  await app.hearth.relay.drain()
  t.same(await kinds(db, f.member.id), [], 'no reply, mention, like or watching notification from a muted member')

  const page = await f.member.client.get(thread.url)
  t.match(decoded(page.body), new RegExp(`id="p${post}"[\\s\\S]*?<details class="muted-post"><summary>Post by a muted member — show</summary>`), 'their post is collapsed')
  t.notMatch((await f.regular.client.get(thread.url)).body, /muted-post/, 'for nobody else')

  // Moderation notices are not muteable: the pest becomes a moderator only later, and flags are staff business anyway.
  const notice = await app.hearth.notifications.notify([{ userId: f.member.id, kind: 'flag.hidden', text: 'Your post was hidden', url: '/', actorId: pest.id }])
  t.equal(notice.length, 1, 'a moderation notice arrives whoever caused it')

  const form = await f.member.client.submit(`/settings/mutes/${pest.username}/delete`, {}, '/settings/notifications')
  t.equal(form.statusCode, 303)
  await replyTo(pest, thread.id, 'Now you hear me', thread.postId)
  t.match(await unread(f.member), [{ kind: 'reply' }, { kind: 'flag.hidden' }], 'after unmuting, replies arrive again')
  const settingsForm = await f.member.client.submit('/settings/mutes', { username: 'nobody-at-all' }, '/settings/notifications')
  t.equal(settingsForm.statusCode, 400)
  t.match(settingsForm.body, /There is no member called nobody-at-all/)
})

t.test('following an idea is watching its comment thread', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const idea = await f.regular.client.api('POST', '/api/v1/ideas', { title: 'Dark mode for the forum', body: 'Please add a dark mode.' })
  t.equal(idea.statusCode, 201)
  const ideaId = idea.data.id as number
  const follow = await f.member.client.api('PUT', `/api/v1/ideas/${ideaId}/subscription`)
  t.equal(follow.statusCode, 200)
  const { thread_id: threadId } = await db.selectFrom('ideas').select('thread_id').where('id', '=', ideaId).executeTakeFirstOrThrow()
  t.match((await f.member.client.api('GET', `/api/v1/threads/${threadId}/notification-level`)).data, { level: 'watching', reason: 'idea' })
  await replyTo(f.newbie, threadId!, 'A comment on the idea')
  await app.hearth.relay.drain()
  t.match(await unread(f.member), [{ kind: 'posted' }], 'a follower hears about comments')
  await f.member.client.api('DELETE', `/api/v1/ideas/${ideaId}/subscription`)
  t.match((await f.member.client.api('GET', `/api/v1/threads/${threadId}/notification-level`)).data, { level: 'normal' }, 'unfollowing sets the thread back to normal')
})

