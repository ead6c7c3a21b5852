import t from 'tap'
import { QueryCounter } from '../helpers/query-counter.js'
import { build } from '../helpers/app.js'
import { Client, decoded } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

interface ApiPost { id: number; author: string; html: string; deleted: boolean; replies: ApiPost[]; likeCount: number; continues: boolean }
const flatten = (posts: ApiPost[]): ApiPost[] => posts.flatMap((p) => [p, ...flatten(p.replies)])

t.test('nested replies come back as a tree, siblings by time, deleted posts keep their children', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Tree test thread', 'root')
  const a = await replyTo(f.regular, thread.id, 'A')
  const b = await replyTo(f.admin, thread.id, 'B')
  const a1 = await replyTo(f.member, thread.id, 'A1', a)
  const a2 = await replyTo(f.admin, thread.id, 'A2', a)
  const a1x = await replyTo(f.regular, thread.id, 'A1x', a1)
  const b1 = await replyTo(f.member, thread.id, 'B1', b)

  const del = await f.regular.client.api('DELETE', `/api/v1/posts/${a}`)
  t.equal(del.statusCode, 204)
  const res = await f.member.client.api('GET', `/api/v1/threads/${thread.id}`)
  const [op] = res.data.posts as ApiPost[]
  t.same(op!.replies.map((p) => p.id), [a, b], 'top-level replies in time order')
  const [pa, pb] = op!.replies
  t.equal(pa!.deleted, true, 'the deleted post is a placeholder')
  t.equal(pa!.html, '', 'its text is gone')
  t.same(pa!.replies.map((p) => p.id), [a1, a2], 'and keeps its replies')
  t.same(pa!.replies[0]!.replies.map((p) => p.id), [a1x])
  t.same(pb!.replies.map((p) => p.id), [b1])
  const page = await f.member.client.get(thread.url)
  t.match(page.body, /\[deleted\]/)
  t.match(page.body, new RegExp(`id="p${a1x}"`), 'a reply under a deleted post still shows')
  t.equal((await db.selectFrom('threads').select('reply_count').where('id', '=', thread.id).executeTakeFirstOrThrow()).reply_count, 5)

  const cross = await startThread(f.member, f.cats.open.id, 'Another thread here')
  const wrongThread = await f.member.client.api('POST', `/api/v1/threads/${cross.id}/posts`, { body: 'x', parentId: a1 })
  t.equal(wrongThread.statusCode, 400)
  t.same(wrongThread.data, { error: 'You can only reply to a post in this thread', field: 'parentId' })

  const opDelete = await f.member.client.api('DELETE', `/api/v1/posts/${thread.postId}`)
  t.equal(opDelete.statusCode, 204)
  t.equal((await f.regular.client.get(thread.url)).statusCode, 404, 'deleting the opening post deletes the thread')
  t.equal((await f.admin.client.get(thread.url)).statusCode, 200, 'staff still see it')
})

t.test('deep threads continue on their own page; long threads page by branch; queries stay constant', async (t) => {
  const counter = new QueryCounter()
  const { app, db } = await build(t, { plugins: [counter] })
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Deep thread test', 'root')
  let parent: number | undefined
  const chain: number[] = []
  for (let i = 0; i < 9; i++) {
    parent = await replyTo(i % 2 ? f.member : f.regular, thread.id, `level ${i + 1}`, parent)
    chain.push(parent)
  }
  const main = await f.member.client.api('GET', `/api/v1/threads/${thread.id}`)
  const shown = flatten(main.data.posts)
  t.equal(shown.length, 7, 'root and six levels shown')
  t.equal(shown[6]!.continues, true, 'the sixth level says the thread continues')
  const html = await f.member.client.get(thread.url)
  t.match(html.body, new RegExp(`\\?post=${chain[5]}">Continue this thread \\(1 reply\\)`))
  const sub = await f.member.client.api('GET', `/api/v1/threads/${thread.id}?post=${chain[5]}`)
  t.same(flatten(sub.data.posts).map((p) => p.id), chain.slice(5), 'the continuation shows the rest')
  const deep = await f.member.client.get(`/p/${chain[8]}`)
  t.equal(deep.headers.location, `/t/${thread.id}/deep-thread-test?post=${chain[5]}#p${chain[8]}`, 'a deep post links into its continuation')

  // Query count of a thread page does not grow with the thread.
  const small = await startThread(f.member, f.cats.open.id, 'Small thread here', 'root')
  await replyTo(f.regular, small.id, 'one reply')
  // The fewest queries of a few views: a settings or identity cache refreshing mid-view (every
  // 5 s) adds ones that belong to no page size.
  const queriesFor = async (url: string) => {
    // The outbox consumers (notification fan-out for every reply) work on the same pool; on a
    // loaded machine they are still at it after the posting loop, so let them finish first.
    await app.hearth.relay.drain()
    await f.regular.client.get(url)
    const counts: number[] = []
    for (let i = 0; i < 5; i++) {
      counter.count = 0
      t.equal((await f.regular.client.get(url)).statusCode, 200)
      counts.push(counter.count)
    }
    return Math.min(...counts)
  }
  const smallQueries = await queriesFor(small.url)
  const big = await startThread(f.member, f.cats.open.id, 'Big thread here', 'root')
  const tops: number[] = []
  for (let i = 0; i < 25; i++) {
    const top = await replyTo(i % 2 ? f.regular : f.admin, big.id, `top ${i}`)
    tops.push(top)
    const child = await replyTo(f.member, big.id, `child of ${i}`, top)
    await replyTo(f.admin, big.id, `grandchild of ${i}`, child)
  }
  await f.regular.client.api('PUT', `/api/v1/posts/${tops[0]}/like`)
  t.equal(await queriesFor(big.url), smallQueries, `a 76-post thread page takes as many queries as a 2-post one (${smallQueries})`)

  const first = await f.regular.client.api('GET', `/api/v1/threads/${big.id}`)
  t.equal(first.data.posts[0].replies.length, 20, 'twenty branches per page')
  t.equal(flatten(first.data.posts).length, 1 + 20 * 3, 'each branch whole')
  t.equal(first.data.nextAfter, tops[19])
  const second = await f.regular.client.api('GET', `/api/v1/threads/${big.id}?after=${first.data.nextAfter}`)
  t.same(second.data.posts.map((p: ApiPost) => p.id), tops.slice(20), 'page two starts at the next branch')
  t.equal(second.data.nextAfter, null)
  const link = await f.regular.client.get(`/p/${tops[22]}`)
  t.equal(link.headers.location, `/t/${big.id}/big-thread-here?after=${tops[19]}#p${tops[22]}`, 'a post link finds its page')
})

t.test('category pages are keyset-paginated; malformed cursors are a 400', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const ids: number[] = []
  for (let i = 0; i < 65; i++) ids.push((await startThread(f.member, f.cats.open.id, `Thread number ${i}`)).id)
  const seen: number[] = []
  let cursor: string | null = null
  do {
    const res: { data: { threads: { id: number }[]; nextCursor: string | null } } = await f.member.client.api(
      'GET',
      `/api/v1/categories/general/threads${cursor ? `?cursor=${cursor}` : ''}`,
    )
    seen.push(...res.data.threads.map((th) => th.id))
    cursor = res.data.nextCursor
  } while (cursor)
  t.same(seen, [...ids].reverse(), 'every thread once, newest activity first')
  const bad = await f.member.client.api('GET', '/api/v1/categories/general/threads?cursor=not-a-cursor')
  t.equal(bad.statusCode, 400)
  t.equal(bad.data.field, 'cursor')
  t.equal((await f.member.client.get('/c/general?cursor=%7B%7D')).statusCode, 400)
  t.equal((await f.member.client.get('/c/nope')).statusCode, 404)
  t.equal((await f.member.client.get('/t/999999')).statusCode, 404)
  t.equal((await f.member.client.get('/t/abc')).statusCode, 404, 'a malformed id names nothing: not found, like a missing one')
  t.equal((await f.member.client.api('GET', '/api/v1/threads/abc')).statusCode, 404)
  t.equal((await f.member.client.api('GET', '/api/v1/threads/999999')).statusCode, 404)
  t.equal((await f.member.client.api('PUT', '/api/v1/posts/999999/like')).statusCode, 404)
})

t.test('bad input: titles and bodies, clear messages, nothing saved', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ categoryId: f.cats.open.id, title: 'Hey', body: 'x' }, 'title', /at least 5/],
    [{ categoryId: f.cats.open.id, title: 'x'.repeat(201), body: 'x' }, 'title', /at most 200/],
    [{ categoryId: f.cats.open.id, title: 'A fine title', body: '   ' }, 'body', /Write something/],
    [{ categoryId: f.cats.open.id, title: 'A fine title', body: 'x'.repeat(65_537) }, 'body', /at most 65,536 characters/],
    [{ categoryId: 'abc', title: 'A fine title', body: 'x' }, 'categoryId', /number/],
    [{ categoryId: 999999, title: 'A fine title', body: 'x' }, 'categoryId', /Choose a category/],
    [{ categoryId: f.cats.open.id, body: 'x' }, 'title', /title/],
  ]
  for (const [body, field, message] of cases) {
    const res = await f.member.client.api('POST', '/api/v1/threads', body)
    t.equal(res.statusCode, 400, `${field}: 400`)
    t.equal(res.data.field, field)
    t.match(res.data.error, message)
  }
  t.equal((await db.selectFrom('threads').select('id').execute()).length, 0, 'no thread saved')

  const form = await f.member.client.submit('/c/general/new', { title: 'Hey', body: 'my **draft** text' })
  t.equal(form.statusCode, 400)
  t.match(form.body, /Titles are at least 5 characters/)
  t.match(form.body, /my \*\*draft\*\* text<\/textarea>/, 'the draft is kept')

  await app.hearth.settings.update({ max_post_length: 100 })
  const thread = await startThread(f.member, f.cats.open.id)
  const long = await f.member.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'y'.repeat(101) })
  t.equal(long.statusCode, 400)
  t.match(long.data.error, /at most 100 characters/, 'limits come from community settings')

  const guestLike = await new Client(app).api('PUT', `/api/v1/posts/${thread.postId}/like`)
  t.equal(guestLike.statusCode, 401)
  const guestForm = await new Client(app).get(`/c/general/new`)
  t.equal(guestForm.statusCode, 302)
  t.match(String(guestForm.headers.location), /^\/login\?next=/)
})

t.test('replies and mentions notify the right people once', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.members.id, 'Who wants cake today', 'cake?')
  const reply = await replyTo(f.regular, thread.id, `yes! cc @${f.member.username} @${f.admin.username} @nobody_here`)
  const notes = await db.selectFrom('notifications').selectAll().orderBy('id').execute()
  t.same(
    notes.map((n) => [n.user_id, n.kind]),
    [[f.member.id, 'reply'], [f.admin.id, 'mention']],
    'the author gets one reply notification (not also a mention), the admin a mention',
  )
  t.equal(notes[0]!.url, `/t/${thread.id}/who-wants-cake-today#p${reply}`)

  const secret = await startThread(f.admin, f.cats.trusted.id, 'Trusted only thread', 'shh')
  await replyTo(f.admin, secret.id, `hey @${f.newbie.username} and @${f.regular.username}`)
  const mentions = await db.selectFrom('notifications').select('user_id').where('kind', '=', 'mention').where('payload', '@>', JSON.stringify({ threadId: secret.id }) as never).execute()
  t.same(mentions.map((m) => m.user_id), [f.regular.id], 'nobody is told about a thread they cannot see')
})

t.test('editing keeps revisions; the window and ownership are enforced', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Original title here', 'first version')
  const edit1 = await f.member.client.api('PATCH', `/api/v1/posts/${thread.postId}`, { body: 'second version', title: 'Better title here' })
  t.equal(edit1.statusCode, 200)
  await f.member.client.api('PATCH', `/api/v1/posts/${thread.postId}`, { body: 'third version' })
  const history = await new Client(app).api('GET', `/api/v1/posts/${thread.postId}/revisions`)
  t.equal(history.statusCode, 200, 'anyone who can see the post sees its history')
  t.equal(history.data.current.body, 'third version')
  t.same(history.data.revisions.map((r: { body: string }) => r.body), ['second version', 'first version'])
  const page = decoded((await new Client(app).get(`/p/${thread.postId}/revisions`)).body)
  t.match(page, /<del>first<\/del><ins>second<\/ins> version/, 'the history page shows what each edit changed')
  t.match(page, /Title changed from <del>“Original title here”<\/del> to <ins>“Better title here”<\/ins>/, 'and the title change')
  t.equal((await db.selectFrom('threads').select('title').where('id', '=', thread.id).executeTakeFirstOrThrow()).title, 'Better title here')

  const other = await f.regular.client.api('PATCH', `/api/v1/posts/${thread.postId}`, { body: 'vandalism' })
  t.equal(other.statusCode, 403)
  const otherForm = await f.regular.client.get(`/p/${thread.postId}/edit`)
  t.equal(otherForm.statusCode, 200)
  const posted = await f.regular.client.submit(`/p/${thread.postId}/edit`, { body: 'vandalism' })
  t.equal(posted.statusCode, 403)

  await db.updateTable('posts').set({ created_at: new Date(Date.now() - 2 * 86_400_000) }).where('id', '=', thread.postId).execute()
  const late = await f.member.client.api('PATCH', `/api/v1/posts/${thread.postId}`, { body: 'too late' })
  t.equal(late.statusCode, 403)
  t.match(late.data.error, /time to edit this post has passed/)
  const mod = await f.admin.client.api('PATCH', `/api/v1/posts/${thread.postId}`, { body: 'fixed by staff', reason: 'typo' })
  t.equal(mod.statusCode, 200, 'moderators edit any post, any time')
  const logged = await db.selectFrom('moderation_log').selectAll().where('action', '=', 'post.edit').executeTakeFirstOrThrow()
  t.equal(logged.reason, 'typo')
  await app.hearth.settings.update({ edit_window_minutes: 0 })
  t.equal((await f.member.client.api('PATCH', `/api/v1/posts/${thread.postId}`, { body: 'no limit now' })).statusCode, 200, 'the window is a setting')
})

t.test('200 members liking one post at once give exactly 200 likes; racing like/unlike stays consistent', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  const { persona } = await import('../helpers/personas.js')
  const fans = []
  for (let i = 0; i < 200; i++) fans.push(await persona(app, db, { stem: 'fan' }))
  const results = await Promise.all(fans.map((fan) => fan.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)))
  t.ok(results.every((r) => r.statusCode === 200), 'every like accepted')
  const again = await Promise.all(fans.slice(0, 50).map((fan) => fan.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)))
  t.ok(again.every((r) => r.statusCode === 200), 'liking twice is idempotent')
  const row = await db.selectFrom('posts').select('like_count').where('id', '=', thread.postId).executeTakeFirstOrThrow()
  t.equal(row.like_count, 200)
  const { n } = await db.selectFrom('post_likes').select((eb) => eb.fn.countAll<number>().as('n')).where('post_id', '=', thread.postId).executeTakeFirstOrThrow()
  t.equal(Number(n), 200)

  const racer = fans[0]!
  await Promise.all(Array.from({ length: 40 }, (_, i) => racer.client.api(i % 2 ? 'DELETE' : 'PUT', `/api/v1/posts/${thread.postId}/like`)))
  const likedNow = await db.selectFrom('post_likes').select('user_id').where('post_id', '=', thread.postId).where('user_id', '=', racer.id).execute()
  const after = await db.selectFrom('posts').select('like_count').where('id', '=', thread.postId).executeTakeFirstOrThrow()
  t.equal(after.like_count, 199 + likedNow.length, 'the count matches the like rows after a vote/unvote race')
  t.equal((await f.member.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)).statusCode, 403, 'no liking your own post')
})

t.test('reading a thread records stats and marks new posts', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  await replyTo(f.admin, thread.id, 'one')
  await f.regular.client.get(thread.url)
  const fresh = await replyTo(f.admin, thread.id, 'two')
  const page = await f.regular.client.get(thread.url)
  t.match(page.body, new RegExp(`class="post is-new" id="p${fresh}"`), 'posts since the last visit are marked new')
  t.notMatch(page.body, new RegExp(`class="post is-new" id="p${thread.postId}"`))
  await f.regular.client.api('POST', `/api/v1/threads/${thread.id}/reading`, { seconds: 45 })
  const stats = await db.selectFrom('user_daily_stats').selectAll().where('user_id', '=', f.regular.id).executeTakeFirstOrThrow()
  t.equal(stats.posts_read, 3, 'two posts, then one new one')
  t.equal(stats.topics_entered, 1, 'one topic entered today, however often')
  t.equal(stats.reading_seconds, 45)
  const bad = await f.regular.client.api('POST', `/api/v1/threads/${thread.id}/reading`, { seconds: 100000 })
  t.equal(bad.statusCode, 400)
})
