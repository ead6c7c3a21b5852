import t from 'tap'
import { build } from '../helpers/app.js'
import { forum, startThread } from '../helpers/forum.js'

t.test('owners edit community settings in /admin; they take effect; others get 404', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  t.equal((await f.member.client.get('/admin')).statusCode, 404)
  t.equal((await f.categoryMod.client.postForm('/admin/settings', { edit_window_minutes: '5' })).statusCode, 403, 'no CSRF token, no change')

  const fields = { edit_window_minutes: '30', min_title_length: '8', max_title_length: '120', max_post_length: '5000' }
  const bad = await f.admin.client.submit('/admin/settings', { ...fields, max_post_length: '10' }, '/admin')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /At least 100/)
  const saved = await f.admin.client.submit('/admin/settings', { ...fields, require_verified_email_to_post: 'on' }, '/admin')
  t.equal(saved.statusCode, 303)
  const values = await app.hearth.settings.all()
  t.match(values, { edit_window_minutes: 30, min_title_length: 8, max_post_length: 5000, require_verified_email_to_post: true })

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

t.test('every feature settings section registered in the registry appears in /admin and saves through its own form', async (t) => {
  const { settingsSections } = await import('../../src/features/registry.js')
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const page = await f.admin.client.get('/admin')
  t.equal(page.statusCode, 200)
  for (const section of settingsSections) {
    t.match(page.body, `<h2 id="${section.id}">${section.title}</h2>`, `${section.id}: the section is on the page`)
    t.match(page.body, `action="/admin/${section.id}-settings"`, `${section.id}: with its form`)
    for (const field of section.fields) t.match(page.body, `name="${field.name}"`, `${section.id}: field ${field.name}`)
  }
  t.match(page.body, /<option value="automatic" selected>Promote them automatically<\/option>/, 'a choice shows the stored value')
  const tokens = page.body.match(/name="_csrf" value="[^"]+"/g) ?? []
  t.ok(tokens.every((tok) => !tok.endsWith('value=""')), 'every section form carries the CSRF token')

  const bad = await f.admin.client.submit('/admin/moderation-settings', { flag_hide_threshold: '0', moderators_per_category: '3', promotion_mode: 'invitation', promotion_min_activity: '1', promotion_min_accuracy_percent: '1', moderator_grace_days: '1' }, '/admin')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /id="f-flag_hide_threshold-error"[^>]*>At least 1</, 'the bad field carries its message')
  const trust = await f.admin.client.submit('/admin/trust-settings', { tl1_posts_read: 'many' }, '/admin')
  t.equal(trust.statusCode, 400)
  t.match(trust.body, /Enter a number/)
  const saved = await f.admin.client.submit('/admin/moderation-settings', { flag_hide_threshold: '7', moderators_per_category: '3', promotion_mode: 'invitation', promotion_min_activity: '1', promotion_min_accuracy_percent: '1', moderator_grace_days: '1' }, '/admin')
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, '/admin?saved=moderation#moderation')
  t.match(await app.hearth.settings.all(), { flag_hide_threshold: 7, promotion_mode: 'invitation' })
  t.match((await f.admin.client.get('/admin')).body, /<option value="invitation" selected>/)
})
