import t from 'tap'
import { build } from '../helpers/app.js'
import { serve } from '../helpers/browser.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { LiveClient } from '../helpers/live.js'

t.test('a deleted post is 404 on its edit page, as a reply parent and as a quote', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  const gone = await replyTo(f.regular, thread.id, 'words that were taken back')
  t.equal((await f.regular.client.api('DELETE', `/api/v1/posts/${gone}`)).statusCode, 204)

  for (const [who, client] of [['another member', f.member.client], ['its author', f.regular.client], ['an admin', f.admin.client]] as const) {
    const edit = await client.get(`/p/${gone}/edit`)
    t.equal(edit.statusCode, 404, `${who}: the edit page of a deleted post is not found`)
    t.notMatch(edit.body, /taken back/)
  }
  const quote = await f.member.client.get(`/t/${thread.id}/reply/${gone}?quote=1`)
  t.equal(quote.statusCode, 404)
  t.notMatch(quote.body, /taken back/)

  // A reply form that comes back with an error must not show a parent deleted meanwhile.
  const back = await f.member.client.submit(`/t/${thread.id}/replies`, { body: '', parentId: String(gone) }, thread.url)
  t.equal(back.statusCode, 404)
  t.notMatch(back.body, /taken back/)
  // Nor a parent from another thread.
  const elsewhere = await startThread(f.admin, f.cats.open.id, 'Another thread here', 'other words')
  const wrongThread = await f.member.client.submit(`/t/${thread.id}/replies`, { body: '', parentId: String(elsewhere.postId) }, thread.url)
  t.equal(wrongThread.statusCode, 404)
})

t.test('live edit frames carry ids only, and nothing about a hidden post', async (t) => {
  const built = await build(t)
  const { app, db } = built
  const f = await forum(app, db)
  const base = await serve(built)
  const thread = await startThread(f.member, f.cats.open.id)
  const postId = await replyTo(f.member, thread.id, 'first version')
  const guest = await LiveClient.connect(base)
  t.teardown(() => guest.socket.close())
  t.equal((await guest.subscribe(`thread:${thread.id}`)).type, 'subscribed')

  t.equal((await f.member.client.api('PATCH', `/api/v1/posts/${postId}`, { body: 'second version '.repeat(500) })).statusCode, 200)
  const edited = await guest.next((fr) => fr.event === 'post.edited')
  t.same(Object.keys(edited).sort(), ['channel', 'event', 'id', 'postId', 'threadId', 'type'], 'no HTML in the frame')
  t.ok(JSON.stringify(edited).length < 200, 'the frame is small whatever the post')

  // Hidden by flags: its author may edit it once to ask for review; nobody is told live.
  await db.updateTable('posts').set({ hidden_at: new Date() }).where('id', '=', postId).execute()
  t.equal((await f.member.client.api('PATCH', `/api/v1/posts/${postId}`, { body: 'my fixed version, please review' })).statusCode, 200)
  const other = await replyTo(f.regular, thread.id, 'a visible reply')
  const next = await guest.next((fr) => fr.type === 'event')
  t.equal(next.event, 'post.created', 'the next frame is the visible reply; the hidden edit was never sent')
  t.equal(next.postId, other)
})

t.test('feeds leave out deleted opening posts', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Soon gone thread', 'opening words to delete')
  // A deleted opening post whose thread row was left behind (older data) must not leak either.
  await db.updateTable('posts').set({ deleted_at: new Date() }).where('id', '=', thread.postId).execute()
  const feed = await app.inject({ url: '/feeds/latest.atom' })
  t.equal(feed.statusCode, 200)
  t.notMatch(feed.body, /opening words to delete/)
})
