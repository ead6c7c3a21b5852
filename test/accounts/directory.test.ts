import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { persona, restrict } from '../helpers/personas.js'

t.test('member directory: sorts, search, keyset pages, hidden members, page and API alike', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  // Posts: regular 3, member 2, admin 1 (+ the thread starts); likes: member's posts get 2.
  const thread = await startThread(f.admin, f.cats.open.id, 'Directory thread', 'Hello')
  const r1 = await replyTo(f.regular, thread.id, 'one')
  await replyTo(f.regular, thread.id, 'two')
  await replyTo(f.regular, thread.id, 'three')
  const m1 = await replyTo(f.member, thread.id, 'first')
  const m2 = await replyTo(f.member, thread.id, 'second')
  await f.regular.client.api('PUT', `/api/v1/posts/${m1}/like`)
  await f.admin.client.api('PUT', `/api/v1/posts/${m2}/like`)
  await f.member.client.api('PUT', `/api/v1/posts/${r1}/like`)
  const suspended = await persona(app, db, { stem: 'hidden', trustLevel: 1 })
  await restrict(db, suspended.id, 'suspended')
  const leaver = await persona(app, db, { stem: 'gone' })
  await app.hearth.leaving.deleteNow(leaver.id, 'anonymize')

  const guest = new Client(app)
  const names = async (client: Client, query: string) => ((await client.api('GET', `/api/v1/members?${query}`)).data.members as { username: string }[]).map((m) => m.username)

  const byPosts = await guest.api('GET', '/api/v1/members?sort=posts')
  t.equal(byPosts.statusCode, 200)
  t.same(byPosts.data.members.slice(0, 2).map((m: { username: string }) => m.username), [f.regular.username, f.member.username], 'most active first')
  t.match(byPosts.data.members[0], { posts: 3, likesReceived: 1, trustLevel: 2 })
  t.notOk('email' in byPosts.data.members[0], 'no addresses')
  t.same((await names(guest, 'sort=likes')).slice(0, 2), [f.member.username, f.regular.username], 'most liked first')
  t.equal((await names(guest, 'sort=newest'))[0], f.categoryMod.username, 'newest visible member first')
  const byName = await names(guest, 'sort=name')
  t.same(byName, [...byName].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())), 'by name, case-insensitively')
  t.same(await names(guest, `q=${f.regular.username.slice(0, 9).toUpperCase()}`), [f.regular.username], 'search by part of a name')

  for (const [who, client] of [['guest', guest], ['member', f.member.client]] as const) {
    const all = await names(client, 'sort=name')
    t.notOk(all.includes(suspended.username), `${who}: suspended members are not listed`)
    t.notOk(all.some((n) => n.startsWith('deleted-')), `${who}: deleted members are not listed`)
  }
  const staffView = await f.admin.client.api('GET', '/api/v1/members?sort=name')
  t.ok(staffView.data.members.some((m: { username: string; suspended?: boolean }) => m.username === suspended.username && m.suspended), 'staff see suspended members, marked')
  t.ok(staffView.data.members.some((m: { deleted?: boolean }) => m.deleted), 'and deleted ones, marked')

  // More than a page: keyset pages cover everyone exactly once, for every sort.
  for (let i = 0; i < 32; i++) await persona(app, db, { stem: 'crowd' })
  for (const sort of ['posts', 'likes', 'newest', 'name']) {
    const seen: string[] = []
    let cursor = ''
    for (let page = 0; page < 5; page++) {
      const res = await guest.api('GET', `/api/v1/members?sort=${sort}${cursor ? `&cursor=${cursor}` : ''}`)
      seen.push(...res.data.members.map((m: { username: string }) => m.username))
      if (!res.data.nextCursor) break
      cursor = res.data.nextCursor
    }
    t.equal(seen.length, 5 + 32, `${sort}: every visible member once`)
    t.equal(new Set(seen).size, seen.length, `${sort}: no repeats`)
  }
  const bad = await guest.api('GET', '/api/v1/members?cursor=not-a-cursor')
  t.equal(bad.statusCode, 400)
  t.equal(bad.data.field, 'cursor')

  // The page works without JavaScript: links for sorts and the next page, a GET search form.
  const page = await guest.get('/u?sort=likes')
  t.equal(page.statusCode, 200)
  t.match(page.body, /<form method="get" action="\/u"/)
  t.match(page.body, /aria-current="page">Most liked/)
  t.match(page.body, /rel="next"/)
  const next = /href="([^"]+)" rel="next"/.exec(page.body)![1]!.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=')
  t.match(next, /^\/u\?sort=likes&cursor=/)
  const second = await guest.get(next)
  t.equal(second.statusCode, 200)
  t.match(second.body, /First page/)
  const none = await guest.get('/u?q=nobody-like-this')
  t.match(none.body, /No member matches/)
})
