import { sql } from 'kysely'
import t from 'tap'
import { build } from '../helpers/app.js'
import { Client, decoded } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

t.test('the search box finds members and ideas; filters by author, category and date; orders by relevance, newest or likes', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const guest = new Client(app)
  await db.updateTable('users').set({ display_name: 'Jane Gardener' }).where('id', '=', f.regular.id).execute()

  const old = await startThread(f.member, f.cats.open.id, 'Garden hoses compared', 'Which garden hose lasts? An old question.')
  await db.updateTable('posts').set({ created_at: sql`now() - interval '400 days'` }).where('id', '=', old.postId).execute()
  const recent = await startThread(f.regular, f.cats.open.id, 'My garden this spring', 'The garden is green again.')
  const liked = await replyTo(f.admin, recent.id, 'A garden needs patience; mine took years.')
  for (const who of [f.member, f.regular, f.newbie]) await who.client.api('PUT', `/api/v1/posts/${liked}/like`)
  await startThread(f.admin, f.cats.trusted.id, 'Secret garden plans', 'garden roadmap for the inner circle')
  const idea = await f.member.client.api('POST', '/api/v1/ideas', { title: 'A garden planner view', body: 'Plan the garden beds on a grid.' })
  t.equal(idea.statusCode, 201)

  // Everything: posts, with the ideas and members that match above them.
  const all = await guest.api('GET', '/api/v1/search?q=garden')
  t.equal(all.statusCode, 200)
  t.ok(all.data.results.length >= 3, 'posts are found')
  t.same(all.data.ideas.map((i: { title: string }) => i.title), ['A garden planner view'], 'ideas are found by title and text')
  t.equal(all.data.ideas[0].url, `/ideas/${idea.data.id}`)
  t.match(all.data.ideas[0].snippetHtml, /<mark>garden<\/mark>/, 'with the match highlighted')
  t.same(all.data.members.map((m: { username: string }) => m.username), [f.regular.username], 'a member is found by a word of the display name')
  const byName = await guest.api('GET', `/api/v1/search?q=${f.member.username.slice(0, 4)}&type=members`)
  t.ok(byName.data.members.some((m: { username: string }) => m.username === f.member.username), 'and by the start of a username')
  t.same(byName.data.results, [], 'a members search returns no posts')
  const exact = await guest.api('GET', `/api/v1/search?q=${f.member.username}&type=members`)
  t.equal(exact.data.members[0].username, f.member.username, 'the exact name comes first')

  // Filters.
  const byAuthor = await guest.api('GET', `/api/v1/search?q=garden&author=${f.admin.username}`)
  t.same(byAuthor.data.results.map((r: { postId: number }) => r.postId), [liked], 'author: only their posts the guest may see')
  const nobody = await guest.api('GET', '/api/v1/search?q=garden&author=nobody_at_all')
  t.same([nobody.data.results, nobody.data.ideas], [[], []], 'an unknown author finds nothing')
  const lastYear = await guest.api('GET', '/api/v1/search?q=garden&type=posts&period=year')
  t.notOk(lastYear.data.results.some((r: { postId: number }) => r.postId === old.postId), 'the last year leaves out a post from 400 days ago')
  t.ok(lastYear.data.results.some((r: { postId: number }) => r.postId === recent.postId))
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
  const before = await guest.api('GET', `/api/v1/search?q=garden&before=${day(-300)}`)
  t.same(before.data.results.map((r: { postId: number }) => r.postId), [old.postId], 'before a date')
  t.same(before.data.ideas, [], 'ideas obey the dates too')
  const between = await guest.api('GET', `/api/v1/search?q=garden&after=${day(-2)}&before=${day(1)}`)
  t.notOk(between.data.results.some((r: { postId: number }) => r.postId === old.postId), 'between two dates')
  const inCategory = await f.regular.client.api('GET', '/api/v1/search?q=garden&category=inner')
  t.ok(inCategory.data.results.length === 1 && inCategory.data.results[0].category.slug === 'inner', 'category')
  t.same(inCategory.data.ideas, [], 'ideas have no category: a category search leaves them out')

  // Orders.
  const newest = await guest.api('GET', '/api/v1/search?q=garden&sort=newest')
  const times = newest.data.results.map((r: { createdAt: string }) => new Date(r.createdAt).getTime())
  t.same(times, [...times].sort((a, b) => b - a), 'newest first')
  t.equal(newest.data.results[newest.data.results.length - 1].postId, old.postId)
  const likes = await guest.api('GET', '/api/v1/search?q=garden&sort=likes')
  t.equal(likes.data.results[0].postId, liked, 'most liked first')
  t.equal(likes.data.results[0].likes, 3)

  // Bad input: a message on the field, on the page and the API.
  const bad = await guest.api('GET', '/api/v1/search?q=garden&after=yesterday')
  t.equal(bad.statusCode, 400)
  t.equal(bad.data.field, 'after')
  const backwards = await guest.api('GET', `/api/v1/search?q=garden&after=${day(0)}&before=${day(-5)}`)
  t.equal(backwards.data.field, 'before')
  const badPage = await guest.get('/search?q=garden&after=yesterday')
  t.equal(badPage.statusCode, 200)
  t.match(badPage.body, /Give the “after” date as YYYY-MM-DD/, 'the page says what is wrong, by the field')
  t.match(badPage.body, /value="garden"/, 'and keeps what was typed')
  t.equal((await guest.api('GET', '/api/v1/search?q=garden&sort=random')).statusCode, 400)

  // The page: sections, kind tabs and filter links that keep the query.
  const page = await guest.get(`/search?q=garden&sort=newest`)
  t.match(page.body, /<h2>Members<\/h2>/)
  t.match(page.body, /<h2>Ideas<\/h2>/)
  t.match(page.body, /<h2>Posts<\/h2>/)
  t.match(page.body.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&'), /href="\/search\?q=garden&type=ideas&sort=newest"/, 'tabs keep the filters')
  const filtered = await guest.get(`/search?q=garden&author=${f.admin.username}`)
  t.notMatch(filtered.body, /<h2>Members<\/h2>/, 'members are left out of a filtered search')
  t.match(filtered.body, /Clear filters/)
  const none = await guest.get('/search?q=zzzqqq')
  t.match(decoded(none.body), /Nothing matched “zzzqqq”/, 'an empty result says so once')
})
