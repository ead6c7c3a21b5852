import t from 'tap'
import { build } from '../helpers/app.js'
import { forum, startThread } from '../helpers/forum.js'

const MARKDOWN = '**Dark** mode for the _whole_ app: see [the mockups](https://example.test/m) and `theme.css`.\n\n# Why\n\n> quoted'
// What raw markdown looks like when it shows through.
const RAW = /\*\*|`|\]\(|^#|&gt; quoted|\b_whole_\b/m

t.test('member text shows as plain text or rendered HTML, never as raw markdown', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  await startThread(f.member, f.cats.open.id, 'Dark mode please', MARKDOWN)

  const search = await f.member.client.api('GET', '/api/v1/search?q=mockups')
  t.equal(search.statusCode, 200)
  const snippet: string = search.data.results[0].snippetHtml
  t.match(snippet, /<mark>mockups<\/mark>/, 'the match is highlighted')
  t.notMatch(snippet, RAW, 'search snippets are plain text')
  const page = await f.member.client.get('/search?q=mockups')
  t.notMatch(page.body.match(/<p class="snippet">([\s\S]*?)<\/p>/)?.[1] ?? '', RAW, 'and so is the search page')

  const profile = await f.member.client.get(`/u/${f.member.username}`)
  const excerpt = profile.body.match(/<ul class="recent-posts">([\s\S]*?)<\/ul>/)?.[1] ?? ''
  t.match(excerpt, /Dark mode for the whole app/, 'the profile shows an excerpt')
  t.notMatch(excerpt, RAW, 'profile excerpts are plain text')

  const feed = await f.member.client.get('/feeds/latest.atom')
  const summary = feed.body.match(/<summary type="text">([\s\S]*?)<\/summary>/)?.[1] ?? ''
  t.match(summary, /Dark mode for the whole app/)
  t.notMatch(summary, RAW, 'Atom summaries are plain text')

  await db.updateTable('users').set({ bio: 'I build **keyboards**.\n\nSee [my site](https://example.test).' }).where('id', '=', f.member.id).execute()
  const withBio = await f.member.client.get(`/u/${f.member.username}`)
  const bio = withBio.body.match(/<div class="bio[^"]*">([\s\S]*?)<\/div>/)?.[1] ?? ''
  t.match(bio, /<strong>keyboards<\/strong>/, 'the bio is rendered')
  t.match(bio, /<a href="https:\/\/example.test"[^>]*rel="nofollow ugc[^"]*"[^>]*>my site<\/a>/, 'its links are sanitised member links')
  t.notMatch(bio, /\*\*|\]\(/, 'with no raw markdown')
  await db.updateTable('users').set({ bio: '<script>alert(1)</script>' }).where('id', '=', f.member.id).execute()
  t.notMatch((await f.member.client.get(`/u/${f.member.username}`)).body, /<script>alert/, 'and no live HTML')

  const idea = await f.member.client.api('POST', '/api/v1/ideas', { title: 'Dark mode for the app', body: 'Please add a dark theme.' })
  const moved = await f.admin.client.api('POST', `/api/v1/ideas/${idea.data.id}/status`, { status: 'planned', note: '**Soon**: see the [roadmap](/roadmap) and `v2`.' })
  t.equal(moved.statusCode, 200, moved.body)
  const log = await f.member.client.get('/mod/log')
  const why = log.body.match(/<span class="mod-log-why">([\s\S]*?)<\/span>/)?.[1] ?? ''
  t.equal(why, 'Why: Soon: see the roadmap and v2.', 'the moderation log shows the reason as plain text')
})
