import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { persona, restrict } from '../helpers/personas.js'

t.test('moderation routes × personas: every route checks scope on the server', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const globalMod = await persona(app, db, { stem: 'globalmod', role: 'moderator', trustLevel: 2 })
  const flagger = await persona(app, db, { stem: 'flagger', trustLevel: 2 })
  // Writes the flagged posts: nobody reviews flags on their own post, so no persona below may be their author.
  const author = await persona(app, db, { stem: 'author', trustLevel: 2 })
  // Appointed to the same categories as categoryMod, then suspended: a suspension takes every staff power away.
  const suspendedMod = await persona(app, db, { stem: 'suspmod', trustLevel: 2 })
  for (const cat of [f.cats.members, f.cats.trusted]) await app.hearth.categories.appointModerator(f.admin.id, cat.id, suspendedMod.username)
  await restrict(db, suspendedMod.id, 'suspended')
  const people = { guest: { client: new Client(app) }, newbie: f.newbie, member: f.member, regular: f.regular, categoryMod: f.categoryMod, suspendedMod, globalMod, admin: f.admin }
  type Who = keyof typeof people
  type Cat = keyof typeof f.cats

  const moderates: Record<Who, Cat[]> = {
    guest: [], newbie: [], member: [], regular: [],
    categoryMod: ['members', 'trusted'],
    suspendedMod: [],
    globalMod: ['open', 'members', 'trusted'],
    admin: ['open', 'members', 'trusted'],
  }
  const threads = {
    open: await startThread(f.admin, f.cats.open.id, 'Open thread', 'open'),
    members: await startThread(f.admin, f.cats.members.id, 'Members thread', 'members'),
    trusted: await startThread(f.admin, f.cats.trusted.id, 'Trusted thread', 'trusted'),
  }
  // One flagged post per persona and category, so each attempt meets a pending flag.
  const flags = new Map<string, { flagId: number; postId: number }>()
  for (const cat of Object.keys(threads) as Cat[]) {
    for (const who of Object.keys(people) as Who[]) {
      const postId = await replyTo(author, threads[cat].id, `Flag me: ${who} in ${cat}`)
      const res = await flagger.client.api('POST', `/api/v1/posts/${postId}/flags`, { reason: 'off_topic' })
      flags.set(`${who}:${cat}`, { flagId: res.data.id, postId })
    }
  }

  for (const [who, p] of Object.entries(people) as [Who, (typeof people)[Who]][]) {
    const isMod = moderates[who].length > 0
    const page = await p.client.get('/mod')
    if (who === 'guest') t.equal(page.statusCode, 302, 'guest: /mod sends to log in')
    else t.equal(page.statusCode, isMod ? 200 : 404, `${who}: /mod`)
    const api = await p.client.api('GET', '/api/v1/mod/flags')
    t.equal(api.statusCode, who === 'guest' ? 401 : isMod ? 200 : 404, `${who}: GET /api/v1/mod/flags`)
    if (isMod) {
      const seenCats = new Set(api.data.items.map((i: { categoryId: number }) => i.categoryId))
      t.same([...seenCats].sort(), moderates[who].map((c) => f.cats[c].id).sort(), `${who}: the queue holds only their categories`)
      for (const cat of Object.keys(threads) as Cat[]) {
        t.equal(page.body.includes(`Flag me: ${who} in ${cat}`), moderates[who].includes(cat), `${who}: /mod shows ${cat} items only when in scope`)
      }
      t.match(page.body, /data-live-channel="mod"/)
      t.match(page.body, /data-live-mod-queue/)
    }
    const log = await p.client.get('/mod/log')
    t.equal(log.statusCode, who === 'guest' ? 302 : 200, `${who}: /mod/log is public to members`)
    const admin = await p.client.get('/admin')
    t.equal(admin.statusCode, who === 'guest' ? 302 : who === 'admin' ? 200 : 404, `${who}: /admin`)

    for (const cat of Object.keys(threads) as Cat[]) {
      const { flagId, postId } = flags.get(`${who}:${cat}`)!
      const expected = who === 'guest' ? 401 : !isMod ? 404 : moderates[who].includes(cat) ? 200 : 403
      const viaApi = await p.client.api('POST', `/api/v1/mod/flags/${flagId}/resolve`, { action: 'agree' })
      t.equal(viaApi.statusCode, expected, `${who} × ${cat}: resolve through the API`)
      const state = await db.selectFrom('flags').select('status').where('id', '=', flagId).executeTakeFirstOrThrow()
      t.equal(state.status, expected === 200 ? 'agreed' : 'pending', `${who} × ${cat}: the flag changed only when allowed`)
      if (expected === 200) {
        const hidden = await db.selectFrom('posts').select('hidden_at').where('id', '=', postId).executeTakeFirstOrThrow()
        t.ok(hidden.hidden_at, `${who} × ${cat}: agreeing keeps the post hidden`)
      }
      if (who !== 'guest' && expected !== 200) {
        const viaForm = await p.client.postForm(`/mod/flags/${flagId}/resolve`, { _csrf: await p.client.csrfFrom('/'), action: 'agree' })
        t.equal(viaForm.statusCode, expected, `${who} × ${cat}: resolve through the form`)
      }
    }
  }
})

t.test('owners appoint and remove moderators and lock members in /admin; every change is logged', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const page = await f.admin.client.get(`/admin?member=${f.member.username}`)
  t.match(page.body, /Save member/)
  const saved = await f.admin.client.submit('/admin/members', { username: f.member.username, role: 'moderator', roleLocked: 'on', trustLevel: '3', trustLocked: 'on', reason: 'Long-time helper' }, `/admin?member=${f.member.username}`)
  t.equal(saved.statusCode, 303)
  const row = await db.selectFrom('users').select(['role', 'role_locked', 'trust_level', 'trust_locked']).where('id', '=', f.member.id).executeTakeFirstOrThrow()
  t.same(row, { role: 'moderator', role_locked: true, trust_level: 3, trust_locked: true })
  const bad = await f.admin.client.submit('/admin/members', { username: f.member.username, role: 'moderator', trustLevel: '7' }, `/admin?member=${f.member.username}`)
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /Trust levels are 0–4/, 'the field message is shown')
  const missing = await f.admin.client.get('/admin?member=nobody_here')
  t.match(missing.body, /No member called nobody_here/)

  const thresholds = await f.admin.client.submit('/admin/trust-settings', Object.fromEntries(
    Object.entries(await app.hearth.settings.all()).filter(([k]) => /^tl\d_/.test(k)).map(([k, v]) => [k, k === 'tl1_posts_read' ? '45' : String(v)]),
  ), '/admin')
  t.equal(thresholds.statusCode, 303)
  t.equal((await app.hearth.settings.all()).tl1_posts_read, 45, 'trust thresholds are editable')
  const modSettings = await f.admin.client.submit('/admin/moderation-settings', { flag_hide_threshold: '8', moderators_per_category: '4', promotion_mode: 'invitation', promotion_min_activity: '10', promotion_min_accuracy_percent: '70', moderator_grace_days: '7' }, '/admin')
  t.equal(modSettings.statusCode, 303)
  t.match(await app.hearth.settings.all(), { flag_hide_threshold: 8, promotion_mode: 'invitation', moderator_grace_days: 7 })

  const run = await f.admin.client.submit('/admin/run/trust', {}, '/admin')
  t.equal(run.statusCode, 503, 'without Redis the job cannot be queued')
  t.match(run.body, /background jobs are off because no REDIS_URL is configured/)

  const log = await f.member.client.get('/mod/log')
  t.match(log.body, new RegExp(`changed the role of <a href="/u/${f.member.username}">@${f.member.username}</a> from member to moderator`))
  t.match(log.body, /changed the trust level of .* from trust level 1 to 3/)
  t.match(log.body, /Long-time helper/)
  t.match(log.body, /appointed .* as a moderator of/, 'the forum\'s appointments are there too')
})
