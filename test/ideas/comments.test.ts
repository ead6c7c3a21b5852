import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { persona } from '../helpers/personas.js'

t.test("an idea's comments are a thread of the discussion engine, with nested replies", async (t) => {
  const { app, db } = await build(t)
  const author = await persona(app, db, { stem: 'author', trustLevel: 1 })
  const fan = await persona(app, db, { stem: 'fan', trustLevel: 1 })
  const proposed = await author.client.api('POST', '/api/v1/ideas', { title: 'Offline mode for the app', body: 'Let me work on a plane.' })
  t.equal(proposed.statusCode, 201)
  const ideaId = proposed.data.id as number
  const idea = await db.selectFrom('ideas').select(['thread_id']).where('id', '=', ideaId).executeTakeFirstOrThrow()
  t.ok(idea.thread_id, 'proposing an idea opens its comment thread')

  const comment = await fan.client.submit(`/t/${idea.thread_id}/replies`, { body: 'Yes please, **offline** would be great', returnTo: `/ideas/${ideaId}` }, `/ideas/${ideaId}`)
  t.equal(comment.statusCode, 303)
  t.match(String(comment.headers.location), new RegExp(`^/ideas/${ideaId}#p\\d+$`), 'commenting returns to the idea')
  const commentId = Number(String(comment.headers.location).split('#p')[1])
  const reply = await author.client.api('POST', `/api/v1/threads/${idea.thread_id}/posts`, { body: 'Noted, thanks!', parentId: commentId })
  t.equal(reply.statusCode, 201, 'replies nest under comments')

  const page = await new Client(app).get(`/ideas/${ideaId}`)
  t.match(page.body, /Yes please, <strong>offline<\/strong> would be great/)
  t.match(page.body, /Noted, thanks!/)
  t.match(page.body, /Log in to comment/)
  const notes = await db.selectFrom('notifications').select(['user_id', 'kind']).where('user_id', '=', fan.id).execute()
  t.same(notes, [{ user_id: fan.id, kind: 'reply' }], 'the commenter hears about the reply')
  const thread = await new Client(app).get(`/t/${idea.thread_id}`)
  t.match(thread.body, new RegExp(`href="/ideas/${ideaId}">see the idea`), 'the thread page points back to the idea')
  const offsite = await fan.client.submit(`/t/${idea.thread_id}/replies`, { body: 'again', returnTo: '//evil.example' }, `/ideas/${ideaId}`)
  t.notMatch(String(offsite.headers.location), /evil/, 'returnTo never leaves the site')
})
