import t from 'tap'
import { build } from '../helpers/app.js'
import { Client, decoded } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { PASSWORD } from '../helpers/personas.js'

t.test('owners edit a category: rename, new slug (the old address redirects), colour, order; logged', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const guest = new Client(app)
  const thread = await startThread(f.member, f.cats.open.id, 'Where do I start?')

  t.equal((await f.member.client.get(`/admin/categories/${f.cats.open.id}`)).statusCode, 404, 'members never see the editor')
  t.equal((await f.member.client.api('PATCH', `/api/v1/categories/${f.cats.open.id}`, { name: 'Mine now' })).statusCode, 404)

  const page = await f.admin.client.get(`/admin/categories/${f.cats.open.id}`)
  t.equal(page.statusCode, 200)
  t.match(page.body, /value="General"/)
  const bad = await f.admin.client.submit(`/admin/categories/${f.cats.open.id}`, { name: 'Town square', slug: 'Town Square!', visibility: 'public', whoCanStart: 'members', color: 'red' }, `/admin/categories/${f.cats.open.id}`)
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /Use lowercase letters, digits and single dashes/)
  t.match(bad.body, /value="Town square"/, 'the form keeps what was typed')

  const saved = await f.admin.client.submit(`/admin/categories/${f.cats.open.id}`, {
    name: 'Town square', slug: 'town-square', description: 'Say hello', visibility: 'public', whoCanStart: 'members', minTrustLevel: '0', minTrustToStart: '0', color: '#2563EB', position: '3', parentId: '',
  }, `/admin/categories/${f.cats.open.id}`)
  t.equal(saved.statusCode, 303, saved.body)
  const now = await guest.get('/c/town-square')
  t.equal(now.statusCode, 200)
  t.match(now.body, /Town square/)
  t.match(now.body, /Where do I start\?/, 'its threads came along')
  const old = await guest.get('/c/general')
  t.equal(old.statusCode, 301, 'the old slug redirects')
  t.equal(old.headers.location, '/c/town-square')
  t.equal((await guest.get('/feeds/c/general.atom')).headers.location, '/feeds/c/town-square.atom')
  t.equal((await guest.get(thread.url)).statusCode, 200)

  const theme = await guest.get('/theme.css')
  t.match(theme.body, new RegExp(`\\.cat-${f.cats.open.id} \\{ --cat: #2563eb; \\}`), 'the colour reaches the stylesheet, lowercased')
  const order = await app.hearth.categories.all()
  t.equal(order.filter((c) => c.parent_id === null).findIndex((c) => c.slug === 'town-square'), 2, 'moved to third place among the top-level categories')

  // A partial edit over the API keeps everything else.
  const api = await f.admin.client.api('PATCH', `/api/v1/categories/${f.cats.open.id}`, { description: 'Say hello, ask anything' })
  t.equal(api.statusCode, 200)
  t.match(api.data.category, { name: 'Town square', slug: 'town-square', color: '#2563eb', description: 'Say hello, ask anything' })
  const clash = await f.admin.client.api('PATCH', `/api/v1/categories/${f.cats.open.id}`, { slug: 'lounge' })
  t.equal(clash.statusCode, 409)
  t.equal(clash.data.field, 'slug')
  const self = await f.admin.client.api('PATCH', `/api/v1/categories/${f.cats.members.id}`, { parentId: f.cats.members.id })
  t.equal(self.data.field, 'parentId')

  // The old slug given to another category is that category's now, not a redirect.
  const reuse = await f.admin.client.api('PATCH', `/api/v1/categories/${f.cats.trusted.id}`, { slug: 'general' })
  t.equal(reuse.statusCode, 200)
  const member = await f.regular.client.get('/c/general')
  t.equal(member.statusCode, 200, 'the live slug wins over the old redirect')
  t.match(member.body, /Inner circle/)

  const log = await db.selectFrom('moderation_log').select(['action', 'details']).where('action', '=', 'category.update').orderBy('id').execute()
  t.ok(log.length >= 3)
  t.match(log[0]!.details, { name: { from: 'General', to: 'Town square' }, slug: { from: 'general', to: 'town-square' } })
})

t.test('a private category\'s old slug does not leak to those who cannot see it', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  await f.admin.client.api('PATCH', `/api/v1/categories/${f.cats.members.id}`, { slug: 'backroom' })
  t.equal((await new Client(app).get('/c/lounge')).statusCode, 404, 'a guest gets 404, as for a category that never was')
  t.equal((await f.member.client.get('/c/lounge')).headers.location, '/c/backroom', 'a member is redirected')
})

t.test('deleting a category moves its threads, keeps every count, and redirects its address', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const doomed = (await f.admin.client.api('POST', '/api/v1/categories', { name: 'Off topic', slug: 'off-topic' })).data.category
  const threads = []
  for (const title of ['Weekend plans', 'Favourite keyboards']) {
    const thread = await startThread(f.member, doomed.id, title)
    await replyTo(f.regular, thread.id, 'A reply')
    await replyTo(f.admin, thread.id, 'Another reply')
    threads.push(thread)
  }
  await app.hearth.categories.appointModerator(f.admin.id, doomed.id, f.regular.username)
  const counts = async (categoryId: number) =>
    db.selectFrom('threads').select((eb) => [eb.fn.countAll<string>().as('threads'), eb.fn.sum<string>('reply_count').as('replies')]).where('category_id', '=', categoryId).executeTakeFirstOrThrow()
  const before = await counts(f.cats.open.id)

  const refused = await f.admin.client.api('DELETE', `/api/v1/categories/${doomed.id}`, { moveTo: doomed.id })
  t.equal(refused.statusCode, 400)
  t.equal(refused.data.field, 'moveTo')
  const ideas = await db.selectFrom('categories').select('id').where('slug', '=', 'idea-discussions').executeTakeFirstOrThrow()
  t.equal((await f.admin.client.api('DELETE', `/api/v1/categories/${ideas.id}`, { moveTo: f.cats.open.id })).statusCode, 400, 'the idea discussions category stays')
  t.equal((await f.member.client.api('DELETE', `/api/v1/categories/${doomed.id}`, { moveTo: f.cats.open.id })).statusCode, 404)

  const page = await f.admin.client.get(`/admin/categories/${doomed.id}`)
  t.match(page.body, /Move its threads to/)
  const noTarget = await f.admin.client.submit(`/admin/categories/${doomed.id}/delete`, { moveTo: '' }, `/admin/categories/${doomed.id}`)
  t.equal(noTarget.statusCode, 400)
  t.match(noTarget.body, /Choose the category its threads move to/)
  const done = await f.admin.client.submit(`/admin/categories/${doomed.id}/delete`, { moveTo: String(f.cats.open.id) }, `/admin/categories/${doomed.id}`)
  t.equal(done.statusCode, 303)
  const admin = await f.admin.client.get(done.headers.location as string)
  t.match(admin.body, /Category deleted; 2 thread\(s\) moved to General/)

  t.equal(await db.selectFrom('categories').select('id').where('id', '=', doomed.id).executeTakeFirst(), undefined)
  const after = await counts(f.cats.open.id)
  t.equal(Number(after.threads), Number(before.threads) + 2, 'both threads moved')
  t.equal(Number(after.replies ?? 0), Number(before.replies ?? 0) + 4, 'reply counts came along')
  t.equal((await new Client(app).get('/c/off-topic')).headers.location, '/c/general', 'the old address leads where the threads went')
  t.equal((await new Client(app).get(threads[0]!.url)).statusCode, 200)
  const mods = await db.selectFrom('category_moderators').select('user_id').where('category_id', '=', doomed.id).execute()
  t.same(mods, [], 'its moderators no longer moderate it')
  const entry = await db.selectFrom('moderation_log').select(['details', 'category_id']).where('action', '=', 'category.delete').executeTakeFirstOrThrow()
  t.match(entry, { category_id: f.cats.open.id, details: { name: 'Off topic', threads: 2 } })
  const log = await f.admin.client.get('/mod/log')
  t.match(log.body, /deleted a category and moved its threads to/)
})

t.test('a parent with sub-categories cannot be deleted or nested', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const child = (await f.admin.client.api('POST', '/api/v1/categories', { name: 'Announcements', parentId: f.cats.open.id })).data.category
  const del = await f.admin.client.api('DELETE', `/api/v1/categories/${f.cats.open.id}`, { moveTo: f.cats.members.id })
  t.equal(del.statusCode, 400)
  t.match(del.data.error, /sub-categories first: Announcements/)
  const nest = await f.admin.client.api('PATCH', `/api/v1/categories/${f.cats.open.id}`, { parentId: f.cats.members.id })
  t.match(nest.data.error, /sub-categories of its own/)
  t.equal((await f.admin.client.api('PATCH', `/api/v1/categories/${child.id}`, { parentId: null })).statusCode, 200, 'a sub-category can become top-level')
})

t.test('community settings: name, tagline, accent and guidelines show on every page and /about; env is the fallback', async (t) => {
  const { app, db } = await build(t, { env: { COMMUNITY_NAME: 'From the environment' } })
  const f = await forum(app, db)
  const guest = new Client(app)
  t.match((await guest.get('/')).body, /<title>Home · From the environment<\/title>/, 'the environment names it until an owner does')
  t.equal((await f.member.client.api('PATCH', '/api/v1/community', { community_name: 'Mine' })).statusCode, 404)

  const form = {
    community_name: 'Acme Makers', tagline: 'Where Acme users help each other', logo_url: '/static/logo.svg', favicon_url: '/uploads/icon.png',
    accent_color: '#0F766E', guidelines: '## Be kind\n\nNo **spam**. <script>alert(1)</script>', about: 'Run by the *Acme* team.', contact: 'hello@acme.example',
  }
  const bad = await f.admin.client.submit('/admin/community', { ...form, accent_color: 'teal', logo_url: '//evil.example/x.png' }, '/admin')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /Use a colour like #2563eb/)
  t.match(bad.body, /Give a path on this site/)
  t.match(bad.body, /value="Acme Makers"/, 'typed values stay')
  const saved = await f.admin.client.submit('/admin/community', form, '/admin')
  t.equal(saved.statusCode, 303, saved.body)

  const home = await guest.get('/')
  t.match(home.body, /<title>Home · Acme Makers<\/title>/, 'the stored name wins over the environment')
  t.match(home.body, /<img class="brand-logo" src="\/static\/logo.svg"/)
  t.match(home.body, /<link rel="icon" href="\/uploads\/icon.png">/)
  const themeHref = /href="(\/theme\.css\?v=[0-9a-f]+)"/.exec(home.body)?.[1]
  t.ok(themeHref, 'pages link the theme with a version')
  t.notMatch(home.body, /style=/, 'no inline styles')
  const theme = await guest.get(themeHref!)
  t.equal(theme.headers['content-type'], 'text/css; charset=utf-8')
  t.match(theme.headers['cache-control'], /immutable/)
  t.match(theme.body, /--accent: #0f766e;/)
  t.match((await guest.get('/theme.css?v=old')).headers['cache-control'], /max-age=60/, 'an old version is not cached for good')

  const about = await guest.get('/about')
  t.equal(about.statusCode, 200)
  t.match(about.body, /About Acme Makers/)
  t.match(about.body, /Where Acme users help each other/)
  t.match(about.body, /<h2>Be kind<\/h2>/)
  t.match(about.body, /<strong>spam<\/strong>/)
  t.notMatch(about.body, /<script>alert/, 'markdown is sanitised')
  t.match(about.body, /Run by the <em>Acme<\/em> team/)
  t.match(about.body, /href="mailto:hello@acme.example"/)
  t.match(about.body, new RegExp(`/u/${f.admin.username}`), 'admins are listed')
  t.notMatch(about.body, /Members lounge/, 'a guest does not see the names of categories they cannot see')
  t.match(about.body, /data-stat="Members"><th scope="row">Members<\/th><td>5<\/td><td>5<\/td><td>5<\/td>/)
  const memberAbout = await f.member.client.get('/about')
  t.match(memberAbout.body, new RegExp(`${f.categoryMod.username}</a> <small class="muted">in <a href="/c/lounge">Members lounge</a>`), 'category moderators with their scope, for members')
  t.match(home.body, /href="\/about"/, 'linked from every page')

  const json = await guest.get('/api/v1/about')
  t.match(JSON.parse(json.body), { name: 'Acme Makers', accentColor: '#0f766e', stats: [{ label: 'Members', total: 5 }] })
  const entry = await db.selectFrom('moderation_log').select('details').where('action', '=', 'settings.community').executeTakeFirstOrThrow()
  t.ok((entry.details as { changed: string[] }).changed.includes('accent_color'), 'logged with what changed')
  t.equal((await app.hearth.settings.all()).guidelines, '## Be kind\n\nNo **spam**. <script>alert(1)</script>', 'the welcome mail reads the same guidelines')
})

t.test('the first admin lands on the checklist, which ticks itself off and goes away', async (t) => {
  const { app } = await build(t)
  const owner = new Client(app)
  // A person takes a few seconds over the sign-up form; this test submits at once (test/spam/signup.test.ts covers the timing).
  await app.hearth.settings.set('spam_signup_min_seconds', 0)
  const signup = await owner.submit('/signup', { username: 'founder', email: 'founder@example.test', password: PASSWORD })
  t.equal(signup.statusCode, 303)
  t.equal(signup.headers.location, '/admin?welcome=1#checklist', 'the first account goes to the setup checklist, not its profile')
  const step = (body: string, id: string) => new RegExp(`data-step="${id}" data-done="(true|false)"`).exec(body)?.[1]
  let page = await owner.get('/admin?welcome=1')
  t.match(decoded(page.body), /you are this community’s first admin/)
  t.match(page.body, /0 of 4 done/)
  t.same(['name', 'categories', 'invite', 'mail'].map((id) => step(page.body, id)), ['false', 'false', 'false', 'false'])

  await owner.submit('/admin/community', { community_name: 'Founders', guidelines: 'Be kind.' }, '/admin')
  await owner.submit('/admin/categories', { name: 'General', visibility: 'public', whoCanStart: 'members' }, '/admin')
  const second = new Client(app)
  const joined = await second.submit('/signup', { username: 'second', email: 'second@example.test', password: PASSWORD })
  t.match(joined.headers.location, /^\/u\/second/, 'later members land on their profile')
  page = await owner.get('/admin')
  t.same(['name', 'categories', 'invite', 'mail'].map((id) => step(page.body, id)), ['true', 'true', 'true', 'false'])
  t.match(page.body, /3 of 4 done/)
  t.match(page.body, /Set SMTP_URL/, 'mail is detected from the configuration')

  const dismissed = await owner.submit('/admin/checklist/dismiss', {}, '/admin')
  t.equal(dismissed.statusCode, 303)
  t.notMatch((await owner.get('/admin')).body, /Getting started/, 'dismissed, it stays away')
})

t.test('the checklist is gone once every step is done', async (t) => {
  const { app, db } = await build(t, { env: { SMTP_URL: 'smtp://127.0.0.1:2525', REDIS_URL: 'redis://127.0.0.1:6379' } })
  const f = await forum(app, db)
  t.match((await f.admin.client.get('/admin')).body, /Getting started/)
  await app.hearth.settings.set('community_name', 'Done')
  t.notMatch((await f.admin.client.get('/admin')).body, /Getting started/)
})
