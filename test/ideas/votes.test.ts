import t from 'tap'
import { build } from '../helpers/app.js'
import { members } from '../helpers/members.js'
import { persona, personas } from '../helpers/personas.js'

async function storedVotes(db: import('../../src/core/db.js').Db, ideaId: number) {
  const rows = await db.selectFrom('idea_votes').select((eb) => eb.fn.countAll<number>().as('n')).where('idea_id', '=', ideaId).executeTakeFirstOrThrow()
  const idea = await db.selectFrom('ideas').select('vote_count').where('id', '=', ideaId).executeTakeFirstOrThrow()
  return { rows: Number(rows.n), counter: idea.vote_count }
}

t.test('200 members voting on one idea at the same moment: exactly 200 more than the author’s own vote, and every answer is a true count', async (t) => {
  const { app, db } = await build(t)
  const author = await persona(app, db, { stem: 'author' })
  const idea = await author.client.api('POST', '/api/v1/ideas', { title: 'Dark mode for the mobile app', body: 'Reading at night hurts the eyes.' })
  t.equal(idea.statusCode, 201)
  t.equal(idea.data.votes, 1, 'the author’s own vote is cast with the idea')
  t.equal(idea.data.voted, true)
  const crowd = await members(app, db, 200)
  const events: number[] = []
  app.hearth.events.on('idea.voted', (e) => void events.push(e.data.votes as number))

  const answers = await Promise.all(crowd.map((m) => m.client.api('PUT', `/api/v1/ideas/${idea.data.id}/vote`)))
  t.same(new Set(answers.map((a) => a.statusCode)), new Set([200]), 'every vote accepted')
  const counts = answers.map((a) => a.data.votes as number).sort((a, b) => a - b)
  t.same(counts, Array.from({ length: 200 }, (_, i) => i + 2), 'each voter saw a distinct, exact running total')
  t.same(await storedVotes(db, idea.data.id), { rows: 201, counter: 201 })
  await app.hearth.relay.drain()
  t.equal(events.length, 200, 'one live event per counted vote')

  const again = await Promise.all(crowd.slice(0, 50).map((m) => m.client.api('PUT', `/api/v1/ideas/${idea.data.id}/vote`)))
  t.same(new Set(again.map((a) => a.data.votes)), new Set([201]), 'voting again is idempotent and returns the total')
  const shown = await author.client.api('GET', `/api/v1/ideas/${idea.data.id}`)
  t.equal(shown.data.votes, 201, 'the API shows the exact count')
  t.equal(shown.data.voters.length, 200, 'who voted is visible (the first 200)')
  t.equal(shown.data.moreVoters, 1, 'and how many more')

  const page = await author.client.get(`/ideas/${idea.data.id}`)
  t.match(page.body, new RegExp(`data-vote-count-for="${idea.data.id}">201<`), 'the page shows 201')
  t.match(page.body, crowd[0]!.username, 'voters are listed on the idea page')
})

t.test('one member racing vote and unvote ends consistent', async (t) => {
  const { app, db } = await build(t)
  const [racer, other] = await members(app, db, 2)
  const idea = await racer!.client.api('POST', '/api/v1/ideas', { title: 'Keyboard shortcuts everywhere', body: 'Power users want them badly.' })
  await other!.client.api('PUT', `/api/v1/ideas/${idea.data.id}/vote`)
  for (let round = 0; round < 3; round++) {
    const calls = Array.from({ length: 40 }, (_, i) => racer!.client.api(i % 2 === 0 ? 'PUT' : 'DELETE', `/api/v1/ideas/${idea.data.id}/vote`))
    const answers = await Promise.all(calls)
    t.ok(answers.every((a) => a.statusCode === 200), 'every call answered')
    t.ok(answers.every((a) => a.data.votes === 1 || a.data.votes === 2), 'every answer is a possible total')
    const stored = await storedVotes(db, idea.data.id)
    t.equal(stored.counter, stored.rows, `round ${round}: counter equals the votes stored`)
    t.ok(stored.rows === 1 || stored.rows === 2)
  }
  const final = await racer!.client.api('DELETE', `/api/v1/ideas/${idea.data.id}/vote`)
  t.equal(final.data.votes, 1, 'after unvoting only the other member counts')
  t.same(await storedVotes(db, idea.data.id), { rows: 1, counter: 1 })
})

t.test('voting needs a member; declined ideas refuse, merged ideas send the vote on', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular, guest } = await personas(app, db)
  const a = await regular.client.api('POST', '/api/v1/ideas', { title: 'Export threads as PDF', body: 'For offline reading and archives.' })
  const b = await regular.client.api('POST', '/api/v1/ideas', { title: 'Print-friendly threads', body: 'Print or save a thread as PDF.' })

  const asGuest = await guest.api('PUT', `/api/v1/ideas/${a.data.id}/vote`)
  t.equal(asGuest.statusCode, 401, 'a guest gets 401 from the API')
  const guestForm = await guest.submit(`/ideas/${a.data.id}/vote`, {}, "/login")
  t.equal(guestForm.statusCode, 303)
  t.equal(guestForm.headers.location, `/login?next=${encodeURIComponent(`/ideas/${a.data.id}`)}`, 'the page sends a guest to log in')
  t.equal((await storedVotes(db, a.data.id)).rows, 1, 'only the author’s own vote')

  t.equal((await admin.client.api('POST', `/api/v1/ideas/${a.data.id}/merge`, { intoId: b.data.id })).statusCode, 200)
  const toMerged = await regular.client.api('PUT', `/api/v1/ideas/${a.data.id}/vote`)
  t.equal(toMerged.statusCode, 200)
  t.equal(toMerged.data.ideaId, b.data.id, 'the vote went to the target')
  t.equal(toMerged.data.mergedFrom, a.data.id)
  t.equal(toMerged.data.votes, 1)
  const viaForm = await admin.client.submit(`/ideas/${a.data.id}/vote`, {}, `/ideas/${b.data.id}`)
  t.equal(viaForm.headers.location, `/ideas/${b.data.id}?merged_from=${a.data.id}`, 'the form goes to the target')
  t.same(await storedVotes(db, b.data.id), { rows: 2, counter: 2 })

  await admin.client.api('POST', `/api/v1/ideas/${b.data.id}/status`, { status: 'declined', note: 'Out of scope for now.' })
  const declined = await admin.client.api('PUT', `/api/v1/ideas/${b.data.id}/vote`)
  t.equal(declined.statusCode, 409)
  t.match(declined.data.error, /declined/)
  const page = await regular.client.submit(`/ideas/${b.data.id}/vote`, {}, `/ideas/${b.data.id}`)
  t.equal(page.statusCode, 409)
  t.match(page.body, /was declined, so it no longer takes votes/, 'the page explains the refusal')
  t.equal((await regular.client.api('DELETE', `/api/v1/ideas/${b.data.id}/vote`)).data.votes, 1, 'a vote can still be taken back')

  const missing = await regular.client.api('PUT', '/api/v1/ideas/999999/vote')
  t.equal(missing.statusCode, 404)
})

t.test('open-vote limits per trust level: off by default, enforced under racing, votes return when an idea closes', async (t) => {
  const { app, db } = await build(t)
  const { admin } = await personas(app, db)
  const [voter] = await members(app, db, 1, { trustLevel: 0 })
  const ideas: number[] = []
  for (let i = 0; i < 4; i++) {
    ideas.push((await admin.client.api('POST', '/api/v1/ideas', { title: `Idea number ${i} to vote on`, body: 'A body long enough.' })).data.id as number)
  }
  t.equal((await voter!.client.api('PUT', `/api/v1/ideas/${ideas[0]}/vote`)).statusCode, 200, 'no limit by default')
  await voter!.client.api('DELETE', `/api/v1/ideas/${ideas[0]}/vote`)

  const member = await voter!.client.api('PUT', '/api/v1/ideas/vote-limits', { limits: { '0': 2 } })
  t.equal(member.statusCode, 403, 'only admins set limits')
  t.equal((await admin.client.api('PUT', '/api/v1/ideas/vote-limits', { limits: { '0': 2 } })).statusCode, 200)

  const raced = await Promise.all(ideas.map((id) => voter!.client.api('PUT', `/api/v1/ideas/${id}/vote`)))
  t.equal(raced.filter((r) => r.statusCode === 200).length, 2, 'exactly 2 of 4 racing votes counted')
  const refused = raced.find((r) => r.statusCode === 409)!
  t.match(refused.data.error, /2 open votes/)
  const held = raced.map((r, i) => (r.statusCode === 200 ? ideas[i]! : 0)).filter(Boolean)
  t.equal((await voter!.client.api('PUT', `/api/v1/ideas/${held[0]}/vote`)).statusCode, 200, 're-voting a held idea is fine')

  await admin.client.api('POST', `/api/v1/ideas/${held[0]}/status`, { status: 'done', note: 'Shipped in 2.0' })
  const free = ideas.find((id) => !held.includes(id))!
  t.equal((await voter!.client.api('PUT', `/api/v1/ideas/${free}/vote`)).statusCode, 200, 'a closed idea gives its vote back')
})

t.test('admins set open-vote limits on a settings page; others find no such page', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular } = await personas(app, db)
  const [voter] = await members(app, db, 1, { trustLevel: 0 })
  t.equal((await regular.client.get('/ideas/settings')).statusCode, 404)
  const bad = await admin.client.submit('/ideas/settings', { tl0: 'lots' }, '/ideas/settings')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /Use a whole number/)
  t.match(bad.body, /value="lots"/, 'the input is kept')
  const saved = await admin.client.submit('/ideas/settings', { tl0: '1', tl1: '', tl2: '' }, '/ideas/settings')
  t.equal(saved.headers.location, '/ideas/settings?saved=1')
  t.match((await admin.client.get('/ideas/settings')).body, /id="f-tl0" name="tl0" type="number" min="0" value="1"/)
  const first = (await admin.client.api('POST', '/api/v1/ideas', { title: 'First limited idea', body: 'Something to vote on.' })).data.id
  const second = (await admin.client.api('POST', '/api/v1/ideas', { title: 'Second limited idea', body: 'Something to vote on.' })).data.id
  t.equal((await voter!.client.api('PUT', `/api/v1/ideas/${first}/vote`)).statusCode, 200)
  const refused = await voter!.client.api('PUT', `/api/v1/ideas/${second}/vote`)
  t.equal(refused.statusCode, 409)
  t.match(refused.data.error, /1 open vote, the most your trust level allows/)
  await admin.client.submit('/ideas/settings', { tl0: '' }, '/ideas/settings')
  t.equal((await voter!.client.api('PUT', `/api/v1/ideas/${second}/vote`)).statusCode, 200, 'cleared: no limit')
  t.equal((await db.selectFrom('moderation_log').select('id').where('action', '=', 'settings.vote_limits').execute()).length, 2)
})
