import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, startThread } from '../helpers/forum.js'
import { restrictedPersonas } from '../helpers/personas.js'

t.test('permission matrix: persona × category × read / post / edit / search', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const guest = { username: 'guest', client: new Client(app) }
  // Trust level 2 each; the community does not require confirmed addresses here, so `unverified` acts as a regular.
  const limited = await restrictedPersonas(app, db)
  const people = { guest, newbie: f.newbie, member: f.member, regular: f.regular, categoryMod: f.categoryMod, admin: f.admin, ...limited }
  type Who = keyof typeof people
  // Suspended and silenced members write nothing; a suspended one reads what a guest reads.
  const blocked: Who[] = ['suspended', 'silenced']

  // Seed one thread per category, written by the admin, with a distinctive word to search for.
  const seeded = {
    open: await startThread(f.admin, f.cats.open.id, 'Public thread about marmalade', 'marmalade in the open'),
    members: await startThread(f.admin, f.cats.members.id, 'Members thread about marmalade', 'marmalade for members'),
    trusted: await startThread(f.admin, f.cats.trusted.id, 'Trusted thread about marmalade', 'marmalade for the trusted'),
  }

  // Who may see each category (and so read, post and search there).
  const sees: Record<keyof typeof seeded, Who[]> = {
    open: ['guest', 'newbie', 'member', 'regular', 'categoryMod', 'admin', 'suspended', 'silenced', 'unverified'],
    members: ['newbie', 'member', 'regular', 'categoryMod', 'admin', 'silenced', 'unverified'],
    trusted: ['regular', 'categoryMod', 'admin', 'silenced', 'unverified'],
  }

  for (const [catName, thread] of Object.entries(seeded) as [keyof typeof seeded, (typeof seeded)['open']][]) {
    const cat = f.cats[catName]
    for (const [who, p] of Object.entries(people) as [Who, (typeof people)[Who]][]) {
      const visible = sees[catName].includes(who)
      const label = `${who} × ${catName}`

      const categoryPage = await p.client.get(`/c/${cat.slug}`)
      t.equal(categoryPage.statusCode, visible ? 200 : 404, `${label}: category page`)
      const threadPage = await p.client.get(thread.url)
      t.equal(threadPage.statusCode, visible ? 200 : 404, `${label}: thread page`)
      if (!visible) t.notMatch(threadPage.body, /marmalade/, `${label}: the 404 leaks nothing`)
      const apiThread = await p.client.api('GET', `/api/v1/threads/${thread.id}`)
      t.equal(apiThread.statusCode, visible ? 200 : 404, `${label}: thread API`)
      const apiList = await p.client.api('GET', `/api/v1/categories/${cat.slug}/threads`)
      t.equal(apiList.statusCode, visible ? 200 : 404, `${label}: thread list API`)

      const listed = await p.client.api('GET', '/api/v1/categories')
      t.equal(listed.data.categories.some((c: { id: number }) => c.id === cat.id), visible, `${label}: listed in categories`)
      const found = await p.client.api('GET', '/api/v1/search?q=marmalade')
      t.equal(found.data.results.some((r: { threadId: number }) => r.threadId === thread.id), visible, `${label}: search`)
      const home = await p.client.get('/')
      t.equal(home.body.includes(`/t/${thread.id}/`), visible, `${label}: front page`)

      if (who === 'guest') {
        const reply = await p.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'hi' })
        t.equal(reply.statusCode, 401, `${label}: guests cannot reply`)
        continue
      }
      const reply = await p.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: `reply by ${who}` })
      t.equal(reply.statusCode, !visible ? 404 : blocked.includes(who) ? 403 : 201, `${label}: reply`)
      const start = await p.client.api('POST', '/api/v1/threads', { categoryId: cat.id, title: `New thread by ${who}`, body: 'hello' })
      t.equal(start.statusCode, !visible ? 400 : blocked.includes(who) ? 403 : 201, `${label}: start thread`)
      if (!visible) t.equal(start.data.field, 'categoryId', `${label}: named field, no leak`)

      const edit = await p.client.api('PATCH', `/api/v1/posts/${thread.postId}`, { body: `edited by ${who}` })
      const mayEdit = who === 'admin' || (who === 'categoryMod' && catName !== 'open')
      t.equal(edit.statusCode, !visible ? 404 : mayEdit ? 200 : 403, `${label}: edit someone else's post`)
    }
  }

  const feed = await new Client(app).get('/feeds/latest.atom')
  t.match(feed.body, /Public thread about marmalade/)
  t.notMatch(feed.body, /Members thread|Trusted thread/, 'feeds carry public content only')
  t.equal((await f.admin.client.get(`/feeds/c/${f.cats.members.slug}.atom`)).statusCode, 404, 'no feed for a private category, even for staff')
})

t.test('who may start threads, locked threads and moderation scope', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const staffOnly = await f.admin.client.api('POST', '/api/v1/categories', { name: 'Announcements', whoCanStart: 'staff' })
  const gated = await f.admin.client.api('POST', '/api/v1/categories', { name: 'Show and tell', minTrustToStart: 1 })
  t.equal((await f.member.client.api('POST', '/api/v1/threads', { categoryId: staffOnly.data.category.id, title: 'Not allowed here', body: 'x' })).statusCode, 403)
  t.equal((await f.admin.client.api('POST', '/api/v1/threads', { categoryId: staffOnly.data.category.id, title: 'Welcome everyone', body: 'x' })).statusCode, 201)
  t.equal((await f.newbie.client.api('POST', '/api/v1/threads', { categoryId: gated.data.category.id, title: 'My first thread', body: 'x' })).statusCode, 403, 'TL0 cannot start where TL1 is needed')
  t.equal((await f.member.client.api('POST', '/api/v1/threads', { categoryId: gated.data.category.id, title: 'My first thread', body: 'x' })).statusCode, 201)

  const thread = await startThread(f.member, f.cats.members.id)
  const lockOutside = await f.categoryMod.client.api('PATCH', `/api/v1/threads/${(await startThread(f.member, f.cats.open.id)).id}`, { locked: true })
  t.equal(lockOutside.statusCode, 403, 'a category moderator cannot lock outside their categories')
  const lock = await f.categoryMod.client.api('PATCH', `/api/v1/threads/${thread.id}`, { locked: true, reason: 'cooling off' })
  t.equal(lock.statusCode, 200)
  const refused = await f.regular.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'still?' })
  t.equal(refused.statusCode, 403)
  t.match(refused.data.error, /locked/)
  t.equal((await f.categoryMod.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'mods may' })).statusCode, 201)
  const log = await db.selectFrom('moderation_log').selectAll().where('action', '=', 'thread.lock').executeTakeFirstOrThrow()
  t.equal(log.actor_id, f.categoryMod.id)
  t.equal(log.reason, 'cooling off', 'moderator actions are logged with why')

  const move = await f.categoryMod.client.api('PATCH', `/api/v1/threads/${thread.id}`, { categoryId: f.cats.open.id })
  t.equal(move.statusCode, 400, 'cannot move into a category they do not moderate')
  t.equal(move.data.field, 'categoryId')
  t.equal((await f.categoryMod.client.api('PATCH', `/api/v1/threads/${thread.id}`, { categoryId: f.cats.trusted.id })).statusCode, 200)

  const pinned = await startThread(f.admin, f.cats.open.id, 'Read this first')
  await startThread(f.member, f.cats.open.id, 'A newer thread')
  await f.admin.client.api('PATCH', `/api/v1/threads/${pinned.id}`, { pinned: true })
  const list = await f.member.client.api('GET', `/api/v1/categories/${f.cats.open.slug}/threads`)
  t.equal(list.data.threads[0].title, 'Read this first', 'pinned threads come first')

  const suspendedUntil = new Date(Date.now() + 86_400_000)
  await db.updateTable('users').set({ suspended_until: suspendedUntil }).where('id', '=', f.regular.id).execute()
  const suspended = await f.regular.client.api('POST', `/api/v1/threads/${pinned.id}/posts`, { body: 'hello?' })
  t.equal(suspended.statusCode, 403)
  t.match(suspended.data.error, /suspended until/, 'a suspended member is refused with the end date')
})
