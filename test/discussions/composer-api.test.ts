import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

t.test('what the inline composer asks: the reply answers with its parent, a post fragment, a quote; each only where the post is visible', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const open = await startThread(f.admin, f.cats.open.id, 'An open thread', 'Line one\nline two')
  const lounge = await startThread(f.admin, f.cats.members.id, 'A members thread', 'Members only')
  const guest = new Client(app)

  const top = await f.member.client.api('POST', `/api/v1/threads/${open.id}/posts`, { body: 'A top-level reply' })
  t.equal(top.statusCode, 201)
  t.equal(top.data.parentId, open.postId, 'a reply without a parent answers the opening post, and says so')
  const nested = await f.member.client.api('POST', `/api/v1/threads/${open.id}/posts`, { body: 'A nested reply', parentId: top.data.id })
  t.equal(nested.data.parentId, top.data.id)

  const fragment = await f.member.client.get(`/p/${nested.data.id}/fragment`)
  t.equal(fragment.statusCode, 200)
  t.match(fragment.body, new RegExp(`^\\s*<article class="post[^"]*" id="p${nested.data.id}"`), 'the post alone, as the thread page shows it')
  t.notMatch(fragment.body, /<html|<header class="site-header"/, 'without the page around it')
  t.match(fragment.body, /href="\/p\/\d+\/edit">Edit</, 'with its author’s actions')
  t.match(fragment.body, new RegExp(`href="/t/${open.id}/reply/${nested.data.id}">Reply<`), 'and its own Reply link')
  t.equal((await guest.get(`/p/${lounge.postId}/fragment`)).statusCode, 404, 'a post the asker may not see is not found')

  const quote = await f.member.client.api('GET', `/api/v1/posts/${open.postId}/quote`)
  t.same(quote.data, { body: `> @${f.admin.username} wrote:\n> Line one\n> line two\n\n` })
  t.equal((await guest.api('GET', `/api/v1/posts/${open.postId}/quote`)).statusCode, 401, 'guests do not quote')
  const outsider = await f.newbie.client.api('GET', `/api/v1/posts/${lounge.postId}/quote`)
  t.equal(outsider.statusCode, 200, 'members quote what they see')
  await replyTo(f.admin, lounge.id, 'x')
  await app.hearth.discussions.delete(await app.hearth.categories.viewer((await db.selectFrom('users').selectAll().where('id', '=', f.admin.id).executeTakeFirstOrThrow()) as never), top.data.id)
  t.equal((await f.member.client.api('GET', `/api/v1/posts/${top.data.id}/quote`)).statusCode, 404, 'a deleted post is not quoted')
  t.equal((await f.member.client.get(`/p/${top.data.id}/fragment`)).statusCode, 404, 'nor shown')
})
