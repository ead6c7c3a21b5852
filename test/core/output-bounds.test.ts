import t from 'tap'
import { MAX_MENTION_LINKS, MAX_RENDERED_BYTES, renderMarkdown } from '../../src/core/markdown.js'
import { PAGE_HTML_BYTES } from '../../src/features/discussions/service.js'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

t.test('mention expansion and a post’s rendered size are capped', async (t) => {
  const mentions = '@someone '.repeat(7_000)
  const rendered = renderMarkdown(mentions)
  t.ok(rendered.html.length < mentions.length * 1.2, `65 KB of mentions renders to ${rendered.html.length} bytes, not ~900 KB`)
  t.equal(rendered.html.match(/class="mention"/g)?.length, MAX_MENTION_LINKS, 'only the first mentions become links')
  const many = renderMarkdown(Array.from({ length: 100 }, (_, i) => `@member${i}`).join(' '))
  t.equal(many.mentions.length, MAX_MENTION_LINKS, 'and only they notify')

  const bomb = renderMarkdown('- \n'.repeat(21_000))
  t.ok(Buffer.byteLength(bomb.html) <= MAX_RENDERED_BYTES, 'a list of empty items stays under the cap')
  t.match(bomb.html, /too long to show in full/, 'and says it was shortened')
  t.equal(renderMarkdown('just *a* short post').html, '<p>just <em>a</em> short post</p>\n', 'ordinary posts are untouched')
})

t.test('a long thread is paged by size: no page carries much more than the budget, every post is reachable', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  // Sixteen near-identical heavy posts in a minute look like a flood to the spam score; this
  // test is about page size, so holding is off (101 is above any score).
  await app.hearth.settings.set('spam_hold_score', 101)
  await app.hearth.settings.set('spam_reject_score', 101)
  const thread = await startThread(f.member, f.cats.open.id)
  const heavy = `${'| a | b | c | d |\n|---|---|---|---|\n'}${'| x | y | z | w |\n'.repeat(3_500)}`
  const ids: number[] = []
  for (let i = 0; i < 16; i++) ids.push(await replyTo(i % 2 ? f.regular : f.admin, thread.id, `${heavy}\n\nmarker-${i}`))
  const perPost = (await db.selectFrom('posts').select('body_html').where('id', '=', ids[0]!).executeTakeFirstOrThrow()).body_html.length
  t.ok(perPost * ids.length > PAGE_HTML_BYTES * 1.5, 'the thread holds well over one page budget')

  const seen = new Set<number>()
  let url: string | null = thread.url
  let pages = 0
  while (url && pages < 20) {
    const page = await new Client(app).get(url)
    t.equal(page.statusCode, 200)
    t.ok(page.body.length < PAGE_HTML_BYTES + perPost + 200_000, `page ${pages + 1} is ${page.body.length} bytes`)
    for (const m of page.body.matchAll(/id="p(\d+)"/g)) seen.add(Number(m[1]))
    const next = /<a href="([^"]+)" rel="next">/.exec(page.body)
    // As a browser reads the attribute.
    url = next ? next[1]!.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&') : null
    pages++
  }
  t.ok(pages > 1, `the thread is split over ${pages} pages`)
  for (const id of ids) t.ok(seen.has(id), `reply ${id} is on some page`)

  const api = await f.member.client.api('GET', `/api/v1/threads/${thread.id}`)
  t.ok(api.data.nextCont, 'the API says where the page continues')
  const rest = await f.member.client.api('GET', `/api/v1/threads/${thread.id}?cont=${api.data.nextCont}`)
  t.equal(rest.statusCode, 200)
  t.ok(rest.data.posts.length > 0)
})

t.test('the guest cache is bounded by total bytes, oldest first', async (t) => {
  const { app, db } = await build(t, { env: { GUEST_CACHE_SECONDS: '60', GUEST_CACHE_MAX_MB: '1' } })
  const f = await forum(app, db)
  await app.hearth.settings.set('spam_hold_score', 101)
  await app.hearth.settings.set('spam_reject_score', 101)
  const big = `${'| a | b |\n|---|---|\n'}${'| some words | more words |\n'.repeat(2_200)}`
  const threads = []
  for (let i = 0; i < 14; i++) threads.push(await startThread(f.member, f.cats.open.id, `Big thread number ${i}`, big))
  for (const thread of threads) t.equal((await new Client(app).get(thread.url)).statusCode, 200)
  const stats = app.guestCacheStats?.()
  t.ok(stats, 'the cache reports its size')
  t.ok(stats!.bytes <= 1024 * 1024, `it holds ${stats!.bytes} bytes, within 1 MB`)
  t.ok(stats!.entries >= 1 && stats!.entries < threads.length, `${stats!.entries} of ${threads.length} pages kept`)
  const newest = await new Client(app).get(threads[threads.length - 1]!.url)
  t.equal(newest.headers['x-hearth-cache'], 'hit', 'the newest page is still cached')
  const oldest = await new Client(app).get(threads[0]!.url)
  t.equal(oldest.headers['x-hearth-cache'], undefined, 'the oldest was evicted')
})
