import { sql } from 'kysely'
import t from 'tap'
import { build } from '../helpers/app.js'
import { members } from '../helpers/members.js'
import { personas } from '../helpers/personas.js'

t.test('proposing: bad input keeps what was typed; similar ideas shown before saving; post anyway', async (t) => {
  const { app, db } = await build(t)
  const { regular, guest } = await personas(app, db)
  const count = async () => Number((await db.selectFrom('ideas').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

  const asGuest = await guest.get('/ideas/new')
  t.equal(asGuest.statusCode, 302, 'guests are sent to log in')
  t.match(asGuest.headers.location, /^\/login\?next=/)
  t.equal((await guest.api('POST', '/api/v1/ideas', { title: 'Some idea here', body: 'A body long enough' })).statusCode, 401)

  const bad = await regular.client.submit('/ideas', { title: 'Hey', body: 'A description that is fine', tags: 'ok, bad tag!' }, '/ideas/new')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /Titles are at least 5 characters/)
  t.match(bad.body, /value="ok, bad tag!"/, 'tags kept')
  t.match(bad.body, /A description that is fine<\/textarea>/, 'description kept')
  const api = await regular.client.api('POST', '/api/v1/ideas', { title: 'Valid title', body: 'short' })
  t.same([api.statusCode, api.data.field], [400, 'body'])
  t.equal(await count(), 0, 'nothing saved')

  const first = await regular.client.submit('/ideas', { title: 'Export my data as CSV', body: 'I want to **export** all my posts as a CSV file.', tags: 'Export, data' }, '/ideas/new')
  t.equal(first.statusCode, 303, 'with nothing similar the idea is saved at once')
  const firstId = Number(/\/ideas\/(\d+)/.exec(first.headers.location as string)![1])
  const stored = await db.selectFrom('ideas').selectAll().where('id', '=', firstId).executeTakeFirstOrThrow()
  t.same(stored.tags, ['export', 'data'], 'tags normalised')
  t.match(stored.body_html, /<strong>export<\/strong>/, 'markdown rendered and stored')
  t.ok(await db.selectFrom('thread_notification_levels as l').innerJoin('ideas as i', 'i.thread_id', 'l.thread_id').select('l.user_id').where('i.id', '=', firstId).where('l.user_id', '=', regular.id).where('l.level', '=', 'watching').executeTakeFirst(), 'the author follows their idea')

  const similar = await regular.client.api('GET', `/api/v1/ideas/similar?q=${encodeURIComponent('data export to spreadsheet')}`)
  t.equal(similar.data.items.length, 1)
  t.equal(similar.data.items[0].id, firstId, 'any overlapping word finds it (OR semantics, stemmed)')
  t.same((await regular.client.api('GET', '/api/v1/ideas/similar?q=')).data.items, [])

  const check = await regular.client.submit('/ideas', { title: 'CSV export of posts', body: 'Let me download my posts as a spreadsheet export.' }, '/ideas/new')
  t.equal(check.statusCode, 200, 'a similar idea stops the first submit')
  t.match(check.body, /Is it one of these\?/)
  t.match(check.body, /Export my data as CSV/)
  t.match(check.body, /name="confirm" value="1"/)
  t.match(check.body, /Post anyway/)
  t.equal(await count(), 1, 'nothing saved by the check step')
  const anyway = await regular.client.submit('/ideas', { title: 'CSV export of posts', body: 'Let me download my posts as a spreadsheet export.', confirm: '1' }, '/ideas/new')
  t.equal(anyway.statusCode, 303)
  t.equal(await count(), 2)
  const page = await regular.client.get(anyway.headers.location as string)
  t.match(page.body, /Your idea is posted/)
  t.match(page.body, /<section id="comments"/, 'a marked place for the discussion')
  t.match(page.body, /data-live-channel="idea:\d+"/)

  const many = await Promise.all(
    Array.from({ length: 8 }, (_, i) => regular.client.api('POST', '/api/v1/ideas', { title: `Export variant ${i}`, body: 'Export things in another format.' })),
  )
  t.ok(many.every((r) => r.statusCode === 201))
  t.equal((await regular.client.api('GET', '/api/v1/ideas/similar?q=export')).data.items.length, 5, 'at most 5 similar ideas')
})

t.test('the board: top, trending, new; status and tag filters; keyset pages without gaps or repeats', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular } = await personas(app, db)
  const ids: number[] = []
  for (let i = 0; i < 70; i++) {
    const res = await regular.client.api('POST', '/api/v1/ideas', { title: `Board idea number ${i}`, body: 'Something to vote on.', tags: i % 10 === 0 ? ['mobile'] : [] })
    ids.push(res.data.id)
  }
  // The author's own votes, cast with each idea, are taken back: the crowd alone sets the order.
  for (const id of ids) t.equal((await regular.client.api('DELETE', `/api/v1/ideas/${id}/vote`)).data.votes, 0)
  const crowd = await members(app, db, 5)
  // Idea ids[5] gets 5 votes, ids[6] 4, …: a clear top order.
  for (let k = 0; k < 5; k++) await Promise.all(crowd.slice(0, 5 - k).map((m) => m.client.api('PUT', `/api/v1/ideas/${ids[5 + k]}/vote`)))
  // Old votes for ids[0] (outside the trending window) and fresh ones for ids[1].
  await db.insertInto('idea_votes').values(crowd.map((m) => ({ idea_id: ids[0]!, user_id: m.id, created_at: sql<Date>`now() - interval '30 days'` as unknown as Date }))).execute()
  await db.updateTable('ideas').set({ vote_count: 5 }).where('id', '=', ids[0]!).execute()
  await admin.client.api('POST', `/api/v1/ideas/${ids[3]}/status`, { status: 'planned', note: 'Yes' })

  const top = await regular.client.api('GET', '/api/v1/ideas?sort=top')
  t.same(top.data.items.slice(0, 6).map((i: { id: number }) => i.id), [ids[5], ids[0], ids[6], ids[7], ids[8], ids[9]], 'top: most votes first, newest on ties')
  t.equal(top.data.items.length, 30)
  const walked: number[] = []
  let cursor: string | null = null
  do {
    const page: { data: { items: { id: number }[]; nextCursor: string | null } } = await regular.client.api('GET', `/api/v1/ideas?sort=top${cursor ? `&cursor=${cursor}` : ''}`)
    walked.push(...page.data.items.map((i) => i.id))
    cursor = page.data.nextCursor
  } while (cursor)
  t.equal(walked.length, 70)
  t.equal(new Set(walked).size, 70, 'keyset pages: every idea once')

  await app.hearth.ideas.refreshTrending()
  const trending = await regular.client.api('GET', '/api/v1/ideas?sort=trending')
  t.same(trending.data.items.slice(0, 5).map((i: { id: number }) => i.id), [ids[5], ids[6], ids[7], ids[8], ids[9]], 'trending counts only recent votes')
  t.notOk(trending.data.items.slice(0, 5).some((i: { id: number }) => i.id === ids[0]), 'old votes do not trend')
  t.equal((await db.selectFrom('ideas').select('trending_score').where('id', '=', ids[0]!).executeTakeFirstOrThrow()).trending_score, 0)

  const newest = await regular.client.api('GET', '/api/v1/ideas?sort=new')
  t.equal(newest.data.items[0].id, ids[69])
  const planned = await regular.client.api('GET', '/api/v1/ideas?status=planned')
  t.same(planned.data.items.map((i: { id: number }) => i.id), [ids[3]])
  const tagged = await regular.client.api('GET', '/api/v1/ideas?tag=mobile&sort=new')
  t.same(tagged.data.items.map((i: { id: number }) => i.id), [ids[60], ids[50], ids[40], ids[30], ids[20], ids[10], ids[0]])

  const badSort = await regular.client.api('GET', '/api/v1/ideas?sort=hot')
  t.same([badSort.statusCode, badSort.data.field], [400, 'sort'])
  const badCursor = await regular.client.api('GET', '/api/v1/ideas?cursor=garbage')
  t.same([badCursor.statusCode, badCursor.data.field], [400, 'cursor'])

  const html = await crowd[0]!.client.get('/ideas')
  t.match(html.body, /data-live-channel="ideas"/)
  t.match(html.body, new RegExp(`data-vote-count-for="${ids[5]}">5<`))
  t.match(html.body, /aria-pressed="true"/, 'the member sees their own votes')
  t.match(html.body, /rel="next"/)
  const filtered = await regular.client.get('/ideas?status=planned&sort=new')
  t.match(filtered.body, /Board idea number 3</)
  t.notMatch(filtered.body, /Board idea number 4</)
  t.equal((await regular.client.get('/ideas/abc')).statusCode, 404)
  t.equal((await regular.client.get('/ideas/424242')).statusCode, 404)
})
