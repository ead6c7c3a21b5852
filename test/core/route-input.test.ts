import t from 'tap'
import { build } from '../helpers/app.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

// Routes declare zod schemas for their params, query strings and bodies; one error handler
// turns a refusal into the public error shape. These are the answers a client sees.

t.test('a bad body or query string on the API is 400 {error, field}, nothing more', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)

  const reading = await f.member.client.api('POST', `/api/v1/threads/${thread.id}/reading`, { seconds: 'lots' })
  t.equal(reading.statusCode, 400)
  t.same(Object.keys(reading.data).sort(), ['error', 'field'], 'no stack, no Fastify error fields')
  t.equal(reading.data.field, 'seconds')

  const limits = await f.admin.client.api('PUT', '/api/v1/ideas/vote-limits', { limits: { 1: -3 } })
  t.equal(limits.statusCode, 400)
  t.equal(limits.data.field, 'limits.1', 'a nested field is named by its path')

  const before = await f.member.client.api('GET', '/api/v1/notifications?before=abc')
  t.same([before.statusCode, before.data], [400, { error: 'Bad page cursor', field: 'before' }])

  const notJson = await f.member.client.api('POST', `/api/v1/threads/${thread.id}/reading`, [1, 2])
  t.equal(notJson.statusCode, 400)
  t.same(Object.keys(notJson.data).sort(), ['error', 'field'])

  const page = await f.member.client.get('/ideas?sort=sideways')
  t.equal(page.statusCode, 400, 'a page answers the 400 page')
  t.match(page.body, /Sort by top, trending or new/)
})

t.test('a malformed id in the path is not found, on pages and the API', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  for (const url of ['/t/abc', '/t/0/slug', '/p/1.5/edit', `/t/${thread.id}/reply/abc`, '/p/abc/flag', '/notifications/abc', '/ideas/abc', '/beta/-1']) {
    t.equal((await f.member.client.get(url)).statusCode, 404, url)
  }
  for (const url of ['/api/v1/threads/abc', '/api/v1/posts/abc/revisions', '/api/v1/ideas/abc', '/api/v1/beta/abc']) {
    const res = await f.member.client.api('GET', url)
    t.same([res.statusCode, res.data], [404, { error: 'Not found' }], url)
  }
  t.equal((await f.admin.client.submit('/admin/categories/abc/move', { direction: 'up' }, '/admin')).statusCode, 404)
})

t.test('NUL bytes in a path are bad input (400) naming the parameter, not a database error', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  for (const url of ['/c/gen%00eral', '/u/me%00mber', '/feeds/c/gen%00eral.atom']) {
    t.equal((await f.member.client.get(url)).statusCode, 400, url)
  }
  const api = await f.member.client.api('GET', '/api/v1/categories/gen%00eral/threads')
  t.same([api.statusCode, api.data], [400, { error: 'Text cannot contain NUL characters', field: 'slug' }])
})

t.test('NUL bytes and lone surrogates in text are bad input (400) naming the field, not a server error', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  const nul = [
    [await f.member.client.api('POST', '/api/v1/threads', { categoryId: f.cats.open.id, title: 'A title with \u0000 in it', body: 'x' }), 'title'],
    [await f.member.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'a\u0000b' }), 'body'],
    [await f.member.client.api('POST', '/api/v1/ideas', { title: 'An idea with \u0000 inside', body: 'A long enough description.' }), 'title'],
    [await f.member.client.api('GET', '/api/v1/search?q=%00'), 'q'],
  ] as const
  for (const [res, field] of nul) t.same([res.statusCode, res.data], [400, { error: 'Text cannot contain NUL characters', field }])
  t.equal((await f.member.client.get('/search?q=%00')).statusCode, 400, 'the search page too')
  t.equal((await f.member.client.submit('/c/general/new', { title: 'A title with \u0000 in it', body: 'x' }, '/c/general/new')).statusCode, 400, 'and a form')
  const lone = await f.member.client.api('POST', '/api/v1/threads', { categoryId: f.cats.open.id, title: 'Lone \ud800 surrogate', body: 'x\udc00y' })
  t.same([lone.statusCode, lone.data], [400, { error: 'Text cannot contain a broken character (an unpaired surrogate)', field: 'title' }])
  const pair = await f.member.client.api('POST', '/api/v1/threads', { categoryId: f.cats.open.id, title: 'An emoji \ud83d\ude00 is a pair', body: 'fine' })
  t.equal(pair.statusCode, 201, 'a surrogate pair is an ordinary character')
})

t.test('forms still re-render with each field’s message and what was typed', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const res = await f.member.client.submit('/c/general/new', { title: 'Hi', body: 'What I typed, kept' }, '/c/general/new')
  t.equal(res.statusCode, 400)
  t.match(res.body, /What I typed, kept/)
  t.match(res.body, /class="error" role="alert"/)
})

t.test('the reply page quotes the post it answers, with its author', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  const post = await replyTo(f.regular, thread.id, 'first line\nsecond line')
  const page = await f.member.client.get(`/t/${thread.id}/reply/${post}?quote=1`)
  t.equal(page.statusCode, 200)
  const textarea = (html: string) => /<textarea[^>]*>([^<]*)<\/textarea>/.exec(html)?.[1]
  // Exactly the quote: an indented line would turn the quote into a Markdown code block.
  t.equal(textarea(page.body), `&gt; @${f.regular.username} wrote:\n&gt; first line\n&gt; second line\n\n`)
  const other = await startThread(f.member, f.cats.open.id, 'Another thread entirely')
  t.equal((await f.member.client.get(`/t/${other.id}/reply/${post}`)).statusCode, 404, 'a post of another thread')

  const edit = await f.regular.client.get(`/p/${post}/edit`)
  t.equal(textarea(edit.body), 'first line\nsecond line', 'editing a post starts from its text as written')
})
