import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

t.test('search ranks, highlights safely, filters, and never shows what the searcher may not see', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const best = await startThread(f.member, f.cats.open.id, 'Dark mode for the mobile app', 'Please add dark mode. Dark mode everywhere, dark mode at night.')
  const weak = await startThread(f.regular, f.cats.open.id, 'Battery life', 'The app drains battery; maybe a dark theme would help.')
  const reply = await replyTo(f.regular, weak.id, 'I would love <script>alert("x")</script> dark mode too')
  await startThread(f.admin, f.cats.trusted.id, 'Secret dark mode plans', 'dark mode roadmap for the trusted')
  const removed = await replyTo(f.member, best.id, 'dark mode dark mode dark mode (deleted later)')
  await f.member.client.api('DELETE', `/api/v1/posts/${removed}`)

  const res = await new Client(app).api('GET', '/api/v1/search?q=dark%20mode')
  const ids = res.data.results.map((r: { postId: number }) => r.postId)
  t.equal(ids[0], best.postId, 'the thread about it ranks first')
  t.ok(ids.includes(reply), 'replies are found')
  t.notOk(ids.includes(removed), 'deleted posts are not')
  t.notOk(res.data.results.some((r: { title: string }) => /Secret/.test(r.title)), 'a guest does not find the trusted category')
  const trusted = await f.regular.client.api('GET', '/api/v1/search?q=dark%20mode')
  t.ok(trusted.data.results.some((r: { title: string }) => /Secret/.test(r.title)), 'a trusted member does')

  const snippet = res.data.results.find((r: { postId: number }) => r.postId === reply).snippetHtml
  t.match(snippet, /<mark>dark<\/mark> <mark>mode<\/mark>/, 'matches are highlighted')
  t.notMatch(snippet, /<script/, 'member text in snippets is escaped')
  t.match(snippet, /alert\(&quot;x&quot;\)/, "quotes escaped too")

  const byAuthor = await new Client(app).api('GET', `/api/v1/search?q=dark&author=${f.regular.username}`)
  t.ok(byAuthor.data.results.length > 0)
  t.ok(byAuthor.data.results.every((r: { author: string }) => r.author === f.regular.username), 'author filter')
  const inCategory = await f.regular.client.api('GET', '/api/v1/search?q=dark&category=inner')
  t.ok(inCategory.data.results.length > 0 && inCategory.data.results.every((r: { category: { slug: string } }) => r.category.slug === 'inner'), 'category filter')
  const guessing = await new Client(app).api('GET', '/api/v1/search?q=dark&category=inner')
  t.same(guessing.data.results, [], 'filtering by a hidden category finds nothing')

  const phrase = await new Client(app).api('GET', '/api/v1/search?q=%22dark%20theme%22%20-mode')
  t.same(phrase.data.results.map((r: { postId: number }) => r.postId), [weak.postId], 'web-search syntax: phrases and exclusions')
  const page = await new Client(app).get('/search?q=dark+mode')
  t.equal(page.statusCode, 200)
  t.match(page.body, /Dark mode for the mobile app/)
  const tooLong = await new Client(app).get(`/search?q=${'a'.repeat(201)}`)
  t.equal(tooLong.statusCode, 200)
  t.match(tooLong.body, /Keep the search under 200 characters/)
})
