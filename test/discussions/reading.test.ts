import { sql } from 'kysely'
import t from 'tap'
import { build } from '../helpers/app.js'
import { Client, decoded } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { persona } from '../helpers/personas.js'

t.test('posts are numbered in thread order, exactly, however many reply at once', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Numbered posts', 'The first one.')
  const first = await replyTo(f.regular, thread.id, 'second')
  // Thirty replies at once, from three members, some to the first reply.
  const who = [f.member, f.regular, f.admin]
  const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => replyTo(who[i % 3]!, thread.id, `racing reply ${i}`, i % 2 ? first : undefined)))
  const rows = await db.selectFrom('posts').select(['id', 'post_number']).where('thread_id', '=', thread.id).orderBy('post_number').execute()
  t.same(rows.map((r) => r.post_number), Array.from({ length: 32 }, (_, i) => i + 1), 'numbers 1 to 32, none twice, none skipped')
  t.same(rows.map((r) => r.id), [...rows.map((r) => r.id)].sort((a, b) => a - b), 'numbers rise with the posts’ ids')
  t.equal(rows[0]!.id, thread.postId, '#1 is the opening post')
  const counter = await db.selectFrom('threads').select('last_post_number').where('id', '=', thread.id).executeTakeFirstOrThrow()
  t.equal(counter.last_post_number, 32, 'the thread knows its last number')
  t.equal(ids.length, 30)

  // Deleting a post keeps every number where it was.
  await f.regular.client.api('DELETE', `/api/v1/posts/${first}`)
  await replyTo(f.member, thread.id, 'after a deletion')
  const last = await db.selectFrom('posts').select('post_number').where('thread_id', '=', thread.id).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow()
  t.equal(last.post_number, 33, 'the next post is #33')

  // A post inserted by other code (an import) is numbered too.
  await sql`insert into posts (thread_id, author_id, body_md, body_html, depth, path, branch_id, parent_id)
    select ${thread.id}, ${f.admin.id}, 'imported', '<p>imported</p>', 1, path || '.999999999999', ${thread.postId}, ${thread.postId} from posts where id = ${thread.postId}`.execute(db)
  const imported = await db.selectFrom('posts').select('post_number').where('body_md', '=', 'imported').executeTakeFirstOrThrow()
  t.equal(imported.post_number, 34, 'an insert without a number takes the next one')

  const page = await new Client(app).get(thread.url)
  // Short on purpose: a long thread page carries one per post.
  t.match(page.body, new RegExp(`<a class="post-number" href="/t/${thread.id}\\?n=2">#2<`), 'each post shows its number, linkable')
  const short = await new Client(app).get(`/t/${thread.id}?n=3`)
  t.equal(short.statusCode, 302, 'the short number link works without the slug')
  t.match(short.headers.location, new RegExp(`#p${rows[2]!.id}$`))
  const api = await new Client(app).api('GET', `/api/v1/threads/${thread.id}`)
  t.equal(api.data.posts[0].number, 1, 'the API gives the numbers too')
  t.equal(api.data.thread.postCount, 34)

  // A number link lands on the post (a deleted one: the next that can be read).
  const jump = await new Client(app).get(`${thread.url}?n=5`)
  t.equal(jump.statusCode, 302)
  t.match(jump.headers.location, new RegExp(`#p${rows[4]!.id}$`))
  const deleted = await new Client(app).get(`${thread.url}?n=2`)
  t.match(deleted.headers.location, new RegExp(`#p${rows[2]!.id}$`), 'a deleted post’s number leads to the next post')
  const past = await new Client(app).get(`${thread.url}?n=999`)
  t.equal(past.statusCode, 302, 'past the end: the last post')
})

t.test('deep and continued replies say whom they answer', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'A deep conversation', 'Start.')
  let parent: number | undefined
  const chain: number[] = []
  for (let i = 0; i < 9; i++) {
    parent = await replyTo(i % 2 ? f.member : f.regular, thread.id, `level ${i + 1}`, parent)
    chain.push(parent)
  }
  const page = await new Client(app).get(thread.url)
  // Levels 5 and 6 are nested on the page; on a phone they line up flat, saying whom they answer.
  t.match(decoded(page.body), new RegExp(`class="in-reply-to flat-only"><a href="#p${chain[3]}">↩ in reply to @${f.member.username} #5<`), 'a flat reply names its parent')
  t.notMatch(decoded(page.body), new RegExp(`href="#p${chain[0]}">↩ in reply to`), 'shallow replies do not')
  // Below level 6 the branch continues on its own page, where the first post's parent is not shown.
  t.match(page.body, new RegExp(`\\?post=${chain[5]}`), 'the deep branch continues on its own page')
  const deeper = await new Client(app).get(`${thread.url}?post=${chain[5]}`)
  t.match(decoded(deeper.body), new RegExp(`class="in-reply-to"><a href="/p/${chain[4]}">↩ in reply to @${f.regular.username} #6<`), 'the continued post links to its parent on the other page')
})

t.test('views count once per viewer per window, in batches; robots do not count', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'A viewed thread', 'Look at me.')
  const views = async () => (await db.selectFrom('threads').select('view_count').where('id', '=', thread.id).executeTakeFirstOrThrow()).view_count
  const visit = (ip: string, ua = 'Mozilla/5.0') => app.inject({ method: 'GET', url: thread.url, remoteAddress: ip, headers: { 'user-agent': ua } })
  for (let i = 0; i < 3; i++) await visit('203.0.113.5')
  await visit('203.0.113.6')
  await visit('203.0.113.7', 'Googlebot/2.1 (+http://www.google.com/bot.html)')
  await f.regular.client.get(thread.url)
  await f.regular.client.get(thread.url)
  t.equal(await views(), 0, 'a view writes nothing by itself')
  await app.hearth.threadViews.flush()
  t.equal(await views(), 3, 'two addresses and one member: three views')
  await visit('203.0.113.5')
  await app.hearth.threadViews.flush()
  t.equal(await views(), 3, 'a second visit within the window adds nothing')
  t.equal((await app.inject({ method: 'GET', url: '/t/999999/nope', remoteAddress: '203.0.113.9' })).statusCode, 404)
  await app.hearth.threadViews.flush()

  const page = await new Client(app).get(thread.url)
  t.match(page.body.replace(/<[^>]+>/g, ''), /3 views · 0 replies · 1 participant/, 'the thread page shows views, replies and participants')
  const list = await new Client(app).api('GET', '/api/v1/threads?list=latest')
  t.equal(list.data.threads.find((th: { id: number }) => th.id === thread.id).viewCount, 3, 'lists give the view count')
  const category = await new Client(app).get(`/c/${f.cats.open.slug}`)
  t.match(category.body, /<th class="num">Views<\/th>/, 'category pages have a views column')
})

t.test('views are counted once across web processes sharing Redis', async (t) => {
  const { app, db, database, config } = await build(t, { redis: true })
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Two processes', 'Shared.')
  const other = await build(t, { redis: true, database, env: { REDIS_PREFIX: config.redisPrefix } })
  for (const a of [app, other.app]) {
    await a.inject({ method: 'GET', url: thread.url, remoteAddress: '198.51.100.1' })
    await a.inject({ method: 'GET', url: thread.url, remoteAddress: '198.51.100.2' })
  }
  await app.hearth.threadViews.flush()
  await other.app.hearth.threadViews.flush()
  const row = await db.selectFrom('threads').select('view_count').where('id', '=', thread.id).executeTakeFirstOrThrow()
  t.equal(row.view_count, 2, 'the same two addresses through two processes: two views')
})

t.test('top participants stay exact as members post, race and are moderated', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Who takes part', 'Opening.')
  const extra = await Promise.all(Array.from({ length: 6 }, (_, i) => persona(app, db, { stem: `voice${i}`, trustLevel: 1 })))
  await Promise.all([
    ...Array.from({ length: 8 }, (_, i) => replyTo(f.regular, thread.id, `regular ${i}`)),
    ...Array.from({ length: 4 }, (_, i) => replyTo(f.admin, thread.id, `admin ${i}`)),
    ...extra.map((p) => replyTo(p, thread.id, 'me too')),
  ])
  const doomed = await replyTo(f.newbie, thread.id, 'spam spam')
  const api = await new Client(app).api('GET', `/api/v1/threads/${thread.id}`)
  t.equal(api.data.thread.participantCount, 10, 'ten members took part')
  t.same(api.data.thread.participants.slice(0, 2).map((p: { username: string; posts: number }) => [p.username, p.posts]), [[f.regular.username, 8], [f.admin.username, 4]], 'most posts first')
  t.equal(api.data.thread.participants.length, 5, 'five are named')
  await f.admin.client.api('DELETE', `/api/v1/posts/${doomed}`)
  const after = await new Client(app).api('GET', `/api/v1/threads/${thread.id}`)
  t.equal(after.data.thread.participantCount, 9, 'a deleted post no longer counts its author')
  const exact = await sql<{ bad: number }>`
    select count(*)::int as bad from (
      select thread_id, author_id, count(*) filter (where deleted_at is null and hidden_at is null) as n from posts group by 1, 2
    ) p full join thread_participants tp on tp.thread_id = p.thread_id and tp.user_id = p.author_id
    where coalesce(p.n, 0) <> coalesce(tp.post_count, 0)`.execute(db)
  t.equal(exact.rows[0]!.bad, 0, 'every count matches the posts')
  const page = await new Client(app).get(thread.url)
  t.match(page.body, /aria-label="Top participants"/)
  t.match(page.body, /\+4 more/, 'the rest are counted')
})

t.test('where you left off: lists link to the first unread post, the thread page jumps there without JavaScript', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.admin, f.cats.open.id, 'A long read', 'Opening.')
  // 25 branches: the thread has two pages.
  const branches: number[] = []
  for (let i = 0; i < 25; i++) branches.push(await replyTo(f.admin, thread.id, `branch ${i}`))
  t.equal((await f.member.client.get(thread.url)).statusCode, 200, 'the member reads the first page')
  const halfway = await f.member.client.api('GET', '/api/v1/threads?list=unread')
  t.equal(halfway.data.threads.find((th: { id: number }) => th.id === thread.id).unread, 5, 'the second page’s five branches are still unread')
  t.equal((await f.member.client.get(`${thread.url}?after=${branches[19]}`)).statusCode, 200, 'and then the second')
  const home = await f.member.client.get('/')
  t.notMatch(home.body, /\d+ new<\/a>/, 'nothing new after reading both')
  // New posts: a reply deep in the first page, then a new branch on the second.
  const fresh = await replyTo(f.regular, thread.id, 'a late answer', branches[2])
  await replyTo(f.regular, thread.id, 'a new branch')
  const list = await f.member.client.api('GET', '/api/v1/threads?list=unread')
  const item = list.data.threads.find((th: { id: number }) => th.id === thread.id)
  t.equal(item.unread, 2, 'two posts are new')
  t.equal(item.resumeUrl, `${thread.url}?n=27`, 'the list links to the first unread post by number')
  const homePage = await f.member.client.get('/?list=unread')
  t.match(homePage.body.replaceAll('&#x3D;', '='), new RegExp(`href="${thread.url.replace(/[?]/g, '\\?')}\\?n=27">A long read</a> <a class="badge new-badge"[^>]*>2 new<`), 'the title and a badge link there')
  const guestList = await new Client(app).api('GET', '/api/v1/threads?list=latest')
  t.notOk('unread' in guestList.data.threads[0], 'guests have no markers')

  const jump = await f.member.client.get(`${thread.url}?n=27`)
  t.equal(jump.statusCode, 302)
  t.equal(jump.headers.location, `${thread.url}#p${fresh}`, 'the server finds the page that holds it')
  const page = await f.member.client.get(`${thread.url}?after=${branches[19]}`)
  t.match(page.body, /Jump to where you left off · 2 new posts/, 'the thread page offers to jump')
  t.match(page.body.replaceAll('&#x3D;', '='), new RegExp(`href="${thread.url}\\?n=27" data-resume`), 'to a post on another page, by number')
  const later = await replyTo(f.regular, thread.id, 'another late answer', branches[3])
  const first = await f.member.client.get(thread.url)
  t.match(first.body, new RegExp(`href="#p${later}" data-resume`), 'on the page that holds it, the link is an anchor')
  t.match(first.body, /Jump to where you left off · 1 new post</)
})

t.test('a post on a page cut short is found on its continuation', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.admin, f.cats.open.id, 'One enormous branch', 'Opening.')
  const branch = await replyTo(f.admin, thread.id, 'the branch')
  // 260 answers to the branch: more than one page holds.
  await sql`
    insert into posts (thread_id, author_id, body_md, body_html, depth, path, branch_id, parent_id)
    select ${thread.id}, ${f.member.id}, 'answer ' || g, '<p>answer ' || g || '</p>', 2, b.path || '.' || lpad((1000000 + g)::text, 12, '0'), ${branch}, ${branch}
    from posts b, generate_series(1, 260) g where b.id = ${branch}`.execute(db)
  const target = await db.selectFrom('posts').select(['id', 'post_number']).where('body_md', '=', 'answer 250').executeTakeFirstOrThrow()
  const jump = await new Client(app).get(`${thread.url}?n=${target.post_number}`)
  t.match(jump.headers.location, new RegExp(`\\?cont=\\d+#p${target.id}$`), 'the link names the continuation')
  const page = await new Client(app).get(jump.headers.location!.split('#')[0]!)
  t.match(page.body, new RegExp(`id="p${target.id}"`), 'and the continuation shows the post')
  t.match(decoded(page.body), new RegExp(`class="in-reply-to"><a href="/p/${branch}">↩ in reply to @${f.admin.username} #2<`), 'answers whose parent is on the previous page say so')
})
