import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, startThread } from '../helpers/forum.js'
import { PASSWORD, persona } from '../helpers/personas.js'

t.test('a required verified address is enforced by the guard for posting', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  const unverified = await persona(app, db, { stem: 'unverified', trustLevel: 1 })
  await db.updateTable('users').set({ email_verified_at: null }).where('id', '=', unverified.id).execute()
  t.equal((await unverified.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'Before' })).statusCode, 201, 'off by default')
  await app.hearth.settings.set('require_verified_email_to_post', true)
  const refused = await unverified.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'After' })
  t.equal(refused.statusCode, 403)
  t.match(refused.data.error, /Confirm your email address/)
  t.equal((await unverified.client.api('POST', '/api/v1/threads', { categoryId: f.cats.open.id, title: 'A new thread', body: 'x' })).statusCode, 403, 'threads too')
})
