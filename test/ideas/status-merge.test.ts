import t from 'tap'
import { decoded } from '../helpers/client.js'
import type { DomainEvent } from '../../src/core/events.js'
import { build } from '../helpers/app.js'
import { members } from '../helpers/members.js'
import { persona, personas } from '../helpers/personas.js'

t.test('status moves: staff only, a public note, history, one notification per voter or follower, a live event', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular, newMember } = await personas(app, db)
  const mod = await persona(app, db, { stem: 'mod', role: 'moderator', trustLevel: 3 })
  const idea = await regular.client.api('POST', '/api/v1/ideas', { title: 'Offline mode for the app', body: 'Keep working on the train.' })
  const id = idea.data.id as number
  const voters = await members(app, db, 30)
  await Promise.all(voters.map((v) => v.client.api('PUT', `/api/v1/ideas/${id}/vote`)))
  // A voter who also follows, and a follower who did not vote: each hears once.
  await voters[0]!.client.api('PUT', `/api/v1/ideas/${id}/subscription`)
  t.equal((await newMember.client.api('PUT', `/api/v1/ideas/${id}/subscription`)).data.subscribed, true)
  const events: DomainEvent<'idea.status'>[] = []
  app.hearth.events.on('idea.status', (e) => void events.push(e))

  const byMember = await newMember.client.api('POST', `/api/v1/ideas/${id}/status`, { status: 'planned', note: 'I think so' })
  t.equal(byMember.statusCode, 403, 'a member cannot move statuses')
  const noNote = await mod.client.api('POST', `/api/v1/ideas/${id}/status`, { status: 'planned', note: '  ' })
  t.equal(noNote.statusCode, 400)
  t.equal(noNote.data.field, 'note', 'the note is required')
  const badStatus = await mod.client.api('POST', `/api/v1/ideas/${id}/status`, { status: 'shipped', note: 'x' })
  t.equal(badStatus.data.field, 'status')

  const moved = await mod.client.api('POST', `/api/v1/ideas/${id}/status`, { status: 'planned', note: 'On the **Q3** plan.' })
  t.equal(moved.statusCode, 200)
  t.equal(moved.data.statusLabel, 'Planned')
  const notes = await db.selectFrom('notifications').select(['user_id', 'kind', 'url']).where('kind', '=', 'idea.status').execute()
  const expected = [...voters.map((v) => v.id), regular.id, newMember.id].sort((a, b) => a - b)
  t.same(notes.map((n) => n.user_id).sort((a, b) => a - b), expected, 'every voter and follower notified exactly once')
  t.ok(notes.every((n) => n.url === `/ideas/${id}`))
  const inbox = await voters[1]!.client.api('GET', '/api/v1/notifications')
  t.match(inbox.data.items[0].text, /Offline mode for the app" is now planned: On the Q3 plan/, 'the member reads what changed')
  await app.hearth.relay.drain()
  t.same(events.map((e) => [e.type, e.channels, e.data.status, e.data.statusLabel]), [['idea.status', ['ideas', `idea:${id}`], 'planned', 'Planned']])

  const same = await admin.client.api('POST', `/api/v1/ideas/${id}/status`, { status: 'planned', note: 'again' })
  t.equal(same.statusCode, 400, 'moving to the same status is refused')
  await admin.client.api('POST', `/api/v1/ideas/${id}/status`, { status: 'in_progress', note: 'Started building.' })

  const page = await regular.client.get(`/ideas/${id}`)
  t.match(decoded(page.body), /Open → Planned/)
  t.match(page.body, /<strong>Q3<\/strong>/, 'the note is rendered markdown')
  t.match(decoded(page.body), /Planned → In progress/)
  t.match(page.body, new RegExp(`data-idea-status-for="${id}">In progress<`))
  t.notMatch(page.body, /Change status/, 'members do not see the staff tools')
  t.match((await mod.client.get(`/ideas/${id}`)).body, /Change status/, 'moderators do')

  const formNoNote = await mod.client.submit(`/ideas/${id}/status`, { status: 'done', note: '' }, `/ideas/${id}`)
  t.equal(formNoNote.statusCode, 400)
  t.match(formNoNote.body, /Write a public note explaining the move/, 'the staff form explains the missing note')
  // The page's comment box is not the form that failed: it keeps no error of the staff form's.
  const commentBox = formNoNote.body.slice(formNoNote.body.indexOf('id="f-body"'), formNoNote.body.indexOf('</textarea>', formNoNote.body.indexOf('id="f-body"')))
  t.ok(commentBox.length > 0, 'the page has its comment box')
  t.notMatch(commentBox, /aria-invalid/, 'the comment box is not marked invalid')
  t.notMatch(formNoNote.body, /id="f-body-error"/, 'and shows no error of its own')
  const formDone = await mod.client.submit(`/ideas/${id}/status`, { status: 'done', note: 'Shipped in **2.4**: works offline.' }, `/ideas/${id}`)
  t.equal(formDone.statusCode, 303)

  const log = await db.selectFrom('moderation_log').selectAll().where('action', '=', 'idea.status').orderBy('id').execute()
  t.equal(log.length, 3, 'every move is in the moderation log')
  t.same([log[0]!.actor_id, log[0]!.reason, log[0]!.details], [mod.id, 'On the **Q3** plan.', { from: 'open', to: 'planned' }])

  const roadmap = await regular.client.get('/roadmap')
  t.match(roadmap.body, /Recently done[\s\S]*Offline mode for the app/, 'done ideas are on the roadmap')
  const changelog = await regular.client.get('/changelog')
  t.match(changelog.body, /Offline mode for the app[\s\S]*Shipped in <strong>2.4<\/strong>/, 'the changelog shows the release note')
  const feed = await regular.client.get('/feeds/changelog.atom')
  t.match(feed.headers['content-type'], /application\/atom\+xml/)
  t.match(feed.body, /^<\?xml version="1.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">/)
  t.match(feed.body, /<entry>\s*<title>Offline mode for the app<\/title>/)
  t.match(feed.body, /<content type="html">&lt;p&gt;Shipped in &lt;strong&gt;2.4&lt;\/strong&gt;: works offline.&lt;\/p&gt;/, 'release note HTML is escaped')
})

t.test('roadmap columns and a changelog feed that escapes hostile titles', async (t) => {
  const { app, db } = await build(t)
  const { admin } = await personas(app, db)
  const make = async (title: string, status?: string) => {
    const id = (await admin.client.api('POST', '/api/v1/ideas', { title, body: 'Some description here.' })).data.id as number
    if (status) await admin.client.api('POST', `/api/v1/ideas/${id}/status`, { status, note: `Now ${status}` })
    return id
  }
  await make('Planned thing one', 'planned')
  await make('Being built right now', 'in_progress')
  await make('Still only open')
  await make('Tom & Jerry <script>alert(1)</script> "quotes"', 'done')
  const roadmap = await admin.client.get('/roadmap')
  t.match(roadmap.body, /Planned<\/h2>[\s\S]*Planned thing one[\s\S]*In progress<\/h2>[\s\S]*Being built right now[\s\S]*Recently done<\/h2>[\s\S]*Tom &amp; Jerry/)
  t.notMatch(roadmap.body, /Still only open/, 'open ideas are not on the roadmap')
  const feed = await admin.client.get('/feeds/changelog.atom')
  t.match(feed.body, /<title>Tom &amp; Jerry &lt;script&gt;alert\(1\)&lt;\/script&gt; &quot;quotes&quot;<\/title>/)
  t.notMatch(feed.body, /<script>/)
  t.equal((feed.body.match(/<entry>/g) ?? []).length, 1, 'only done ideas are in the feed')
})

t.test('merging duplicates: voters unioned, the old page kept with a banner, followers told, bad merges refused', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular, newMember } = await personas(app, db)
  const a = (await regular.client.api('POST', '/api/v1/ideas', { title: 'Dark theme please', body: 'My eyes hurt at night.' })).data.id as number
  const b = (await regular.client.api('POST', '/api/v1/ideas', { title: 'Night mode', body: 'A darker colour scheme.' })).data.id as number
  const c = (await regular.client.api('POST', '/api/v1/ideas', { title: 'Black background option', body: 'For OLED screens.' })).data.id as number
  const crowd = await members(app, db, 12)
  // 0–7 vote for A, 4–11 vote for B: 4 overlap, 12 distinct voters.
  await Promise.all(crowd.slice(0, 8).map((m) => m.client.api('PUT', `/api/v1/ideas/${a}/vote`)))
  await Promise.all(crowd.slice(4, 12).map((m) => m.client.api('PUT', `/api/v1/ideas/${b}/vote`)))

  t.equal((await newMember.client.api('POST', `/api/v1/ideas/${a}/merge`, { intoId: b })).statusCode, 403, 'members cannot merge')
  const self = await admin.client.api('POST', `/api/v1/ideas/${a}/merge`, { intoId: a })
  t.equal(self.statusCode, 400)
  t.match(self.data.error, /into itself/)

  const merged = await admin.client.api('POST', `/api/v1/ideas/${a}/merge`, { intoId: b, note: 'Same request' })
  t.equal(merged.statusCode, 200)
  // The author's own votes, cast when proposing, are among them.
  t.equal(merged.data.votes, 13, 'a member who voted for both counts once')
  const rows = await db.selectFrom('idea_votes').select('user_id').where('idea_id', '=', b).execute()
  t.same(rows.map((r) => r.user_id).sort((x, y) => x - y), [...crowd.map((m) => m.id), regular.id].sort((x, y) => x - y), 'exactly the union of voters')
  t.equal((await db.selectFrom('ideas').select('vote_count').where('id', '=', b).executeTakeFirstOrThrow()).vote_count, 13)

  const notes = await db.selectFrom('notifications').select('user_id').where('kind', '=', 'idea.merged').execute()
  const told = [...crowd.slice(0, 8).map((m) => m.id), regular.id].sort((x, y) => x - y)
  t.same(notes.map((n) => n.user_id).sort((x, y) => x - y), told, "A's voters and followers (its author) are each notified once")

  const old = await regular.client.get(`/ideas/${a}`)
  t.equal(old.statusCode, 200, 'the merged idea keeps its page')
  t.match(old.body, /My eyes hurt at night/, 'with its own text')
  t.match(old.body, new RegExp(`<strong>Merged into <a href="/ideas/${b}">Night mode</a></strong>`), 'and a banner linking to the target')
  t.match(old.body, /13 votes · Open/, 'the banner says where the votes are')
  t.notMatch(old.body, new RegExp(`action="/ideas/${a}/(vote|unvote)"`), 'no vote button of its own')
  t.notMatch(old.body, /id="moderate"/, 'nor staff tools: it is settled')
  const api = await regular.client.api('GET', `/api/v1/ideas/${a}`)
  t.equal(api.statusCode, 200)
  t.same([api.data.title, api.data.mergedInto.id, api.data.mergedInto.title, api.data.votes], ['Dark theme please', b, 'Night mode', 0], 'the API answers the same')
  const target = await regular.client.get(`/ideas/${b}?merged_from=${a}`)
  t.match(target.body, new RegExp(`Idea #${a} was merged into this one`), 'the target says so')
  const roadmapBefore = await regular.client.get('/roadmap')
  t.notMatch(roadmapBefore.body, /Dark theme please/, 'nor on the roadmap')
  const board = await regular.client.api('GET', '/api/v1/ideas?sort=new')
  t.notOk(board.data.items.some((i: { id: number }) => i.id === a), 'merged ideas leave the board')

  const again = await admin.client.api('POST', `/api/v1/ideas/${a}/merge`, { intoId: c })
  t.equal(again.statusCode, 400, 'an idea merged already cannot be merged again')
  const intoMerged = await admin.client.api('POST', `/api/v1/ideas/${c}/merge`, { intoId: a })
  t.equal(intoMerged.statusCode, 400)
  t.match(intoMerged.data.error, new RegExp(`merged into #${b}`), 'merging into an idea merged elsewhere is refused and says where it went')
  t.equal((await admin.client.api('POST', `/api/v1/ideas/${c}/merge`, { intoId: 999999 })).statusCode, 400)

  // Merging B (which holds A) into C keeps A pointing at a live idea.
  await admin.client.api('POST', `/api/v1/ideas/${b}/merge`, { intoId: c })
  const chain = await db.selectFrom('ideas').select(['id', 'merged_into_id']).where('id', 'in', [a, b]).orderBy('id').execute()
  t.same(chain.map((r) => r.merged_into_id), [c, c], 'earlier merges follow to the new target')
  t.equal((await db.selectFrom('moderation_log').select('id').where('action', '=', 'idea.merge').execute()).length, 2)
})

t.test('votes racing a merge all end up counted once on the target', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular } = await personas(app, db)
  const a = (await regular.client.api('POST', '/api/v1/ideas', { title: 'Bulk edit tags', body: 'Change tags on many threads.' })).data.id as number
  const b = (await regular.client.api('POST', '/api/v1/ideas', { title: 'Mass tag editing', body: 'Edit tags in bulk.' })).data.id as number
  const crowd = await members(app, db, 120)
  await Promise.all(crowd.slice(0, 40).map((m) => m.client.api('PUT', `/api/v1/ideas/${b}/vote`)))
  const [merge, ...votes] = await Promise.all([
    admin.client.api('POST', `/api/v1/ideas/${a}/merge`, { intoId: b }),
    ...crowd.map((m) => m.client.api('PUT', `/api/v1/ideas/${a}/vote`)),
  ])
  t.equal(merge!.statusCode, 200)
  t.ok(votes.every((v) => v.statusCode === 200), 'every vote answered')
  t.ok(votes.every((v) => v.data.ideaId === a || v.data.ideaId === b))
  const onA = await db.selectFrom('idea_votes').select('user_id').where('idea_id', '=', a).execute()
  t.same(onA, [], 'no vote is left behind on the merged idea')
  const onB = await db.selectFrom('idea_votes').select('user_id').where('idea_id', '=', b).execute()
  t.equal(onB.length, 121, 'all 120 members and the author counted once')
  t.equal((await db.selectFrom('ideas').select('vote_count').where('id', '=', b).executeTakeFirstOrThrow()).vote_count, 121, 'the counter agrees')
})
