import t from 'tap'
import { build } from '../helpers/app.js'
import { forum, startThread } from '../helpers/forum.js'

t.test('owners edit community settings in /admin; they take effect; others get 404', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  t.equal((await f.member.client.get('/admin')).statusCode, 404)
  t.equal((await f.categoryMod.client.postForm('/admin/settings', { edit_window_minutes: '5' })).statusCode, 403, 'no CSRF token, no change')

  const fields = { edit_window_minutes: '30', min_title_length: '8', max_title_length: '120', max_post_length: '5000', guidelines: 'Be **kind**.' }
  const bad = await f.admin.client.submit('/admin/settings', { ...fields, max_post_length: '10' }, '/admin')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /At least 100/)
  const saved = await f.admin.client.submit('/admin/settings', { ...fields, require_verified_email_to_post: 'on' }, '/admin')
  t.equal(saved.statusCode, 303)
  const values = await app.hearth.settings.all()
  t.match(values, { edit_window_minutes: 30, min_title_length: 8, max_post_length: 5000, require_verified_email_to_post: true, guidelines: 'Be **kind**.' })

  const short = await f.member.client.api('POST', '/api/v1/threads', { categoryId: f.cats.open.id, title: 'Too short', body: 'x' })
  t.equal(short.statusCode, 201, 'a nine-character title passes an eight-character minimum')
  t.equal((await f.member.client.api('POST', '/api/v1/threads', { categoryId: f.cats.open.id, title: 'Shorter', body: 'x' })).data.field, 'title')

  await db.updateTable('users').set({ email_verified_at: null }).where('id', '=', f.regular.id).execute()
  const thread = await startThread(f.member, f.cats.open.id, 'Verified members only')
  const unverified = await f.regular.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'hello' })
  t.equal(unverified.statusCode, 403)
  t.match(unverified.data.error, /Confirm your email address before posting/)

  const off = await f.admin.client.submit('/admin/settings', fields, '/admin')
  t.equal(off.statusCode, 303)
  t.equal((await app.hearth.settings.all()).require_verified_email_to_post, false, 'an unticked box turns it off')
})
