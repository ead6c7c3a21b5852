import t from 'tap'
import { build } from '../helpers/app.js'
import { persona, personas, restrict } from '../helpers/personas.js'

const body = 'Reading at night hurts the eyes, so a darker theme would help.'

t.test('an author edits their idea; the earlier text is kept and shown as a diff', async (t) => {
  const { app, db } = await build(t)
  const { regular, newMember, guest } = await personas(app, db)
  const idea = (await regular.client.api('POST', '/api/v1/ideas', { title: 'Dark mode for the app', body, tags: ['ui'] })).data

  const edited = await regular.client.api('PATCH', `/api/v1/ideas/${idea.id}`, { title: 'Dark mode for the mobile app', body: `${body} Also on tablets.`, tags: ['ui', 'mobile'] })
  t.equal(edited.statusCode, 200)
  t.same(edited.data, { ideaId: idea.id, url: `/ideas/${idea.id}`, changed: true })
  const shown = await guest.api('GET', `/api/v1/ideas/${idea.id}`)
  t.same([shown.data.title, shown.data.tags, shown.data.revisionCount], ['Dark mode for the mobile app', ['ui', 'mobile'], 1], 'the idea shows the new text')
  t.ok(shown.data.editedAt, 'and when it was edited')
  const thread = await db.selectFrom('threads').select('title').where('id', '=', shown.data.threadId).executeTakeFirstOrThrow()
  t.equal(thread.title, 'Dark mode for the mobile app', 'its comment thread follows the new title')

  const same = await regular.client.api('PATCH', `/api/v1/ideas/${idea.id}`, { title: 'Dark mode for the mobile app', body: `${body} Also on tablets.`, tags: 'ui, mobile' })
  t.equal(same.data.changed, false, 'saving the same text changes nothing')
  t.equal((await db.selectFrom('idea_revisions').select('id').where('idea_id', '=', idea.id).execute()).length, 1, 'and keeps no revision')

  const revisions = await guest.api('GET', `/api/v1/ideas/${idea.id}/revisions`)
  t.equal(revisions.statusCode, 200, 'anyone who sees the idea sees its history')
  t.match(revisions.data.revisions, [{ number: 1, editor: regular.username, before: { title: 'Dark mode for the app', body, tags: ['ui'] }, changed: { title: true, body: true, tags: true } }])

  const page = await guest.get(`/ideas/${idea.id}/history`)
  t.equal(page.statusCode, 200)
  t.match(page.body, new RegExp(`Edit 1 <small class="muted">by <a href="/u/${regular.username}">`), 'who edited')
  t.match(page.body, /Dark mode for the <ins>mobile <\/ins>app/, 'the title diff marks the added word')
  t.match(page.body, /<ins> Also on tablets.<\/ins>/, 'the description diff marks the added sentence')
  t.match(page.body, /ui<ins>, mobile<\/ins>/, 'and the tags')
  const ideaPage = await guest.get(`/ideas/${idea.id}`)
  t.match(ideaPage.body, new RegExp(`<a href="/ideas/${idea.id}/history" title="See what changed">edited`), 'the idea page links its history')
  t.notMatch(ideaPage.body, /Edit idea/, 'a guest gets no edit button')
  t.match((await regular.client.get(`/ideas/${idea.id}`)).body, new RegExp(`href="/ideas/${idea.id}/edit">Edit idea`), 'the author does')

  const other = await newMember.client.api('PATCH', `/api/v1/ideas/${idea.id}`, { title: 'Hijacked title here', body })
  t.equal(other.statusCode, 403, 'another member may not edit it')
  t.equal((await newMember.client.get(`/ideas/${idea.id}/edit`)).statusCode, 403)
  t.equal((await guest.api('PATCH', `/api/v1/ideas/${idea.id}`, { title: 'Hijacked title here', body })).statusCode, 401)
  const bad = await regular.client.api('PATCH', `/api/v1/ideas/${idea.id}`, { title: 'Hi', body })
  t.same([bad.statusCode, bad.data.field], [400, 'title'], 'a bad field is named')
  t.equal((await guest.api('GET', `/api/v1/ideas/${idea.id}`)).data.title, 'Dark mode for the mobile app', 'refused edits changed nothing')
  t.equal((await db.selectFrom('moderation_log').select('id').where('action', '=', 'idea.edit').execute()).length, 0, 'an author’s own edit is not a staff action')
  t.equal((await guest.api('PATCH', '/api/v1/ideas/999999', { title: 'Nothing here at all', body })).statusCode, 401)
  t.equal((await regular.client.api('PATCH', '/api/v1/ideas/999999', { title: 'Nothing here at all', body })).statusCode, 404)
})

t.test('the edit form: current text, field messages, saved notice', async (t) => {
  const { app, db } = await build(t)
  const { regular } = await personas(app, db)
  const idea = (await regular.client.api('POST', '/api/v1/ideas', { title: 'Keyboard shortcuts everywhere', body: 'Power users want them badly.', tags: ['keyboard'] })).data
  const form = await regular.client.get(`/ideas/${idea.id}/edit`)
  t.equal(form.statusCode, 200)
  t.match(form.body, /value="Keyboard shortcuts everywhere"/)
  t.match(form.body, />Power users want them badly.<\/textarea>/)
  t.match(form.body, /value="keyboard"/)
  t.notMatch(form.body, /name="reason"/, 'an author is not asked for a reason')

  const short = await regular.client.submit(`/ideas/${idea.id}/edit`, { title: 'Keys', body: 'Power users want them badly.', tags: '' }, `/ideas/${idea.id}/edit`)
  t.equal(short.statusCode, 400)
  t.match(short.body, /Titles are at least 5 characters/)
  t.match(short.body, /value="Keys"/, 'what was typed comes back')

  const saved = await regular.client.submit(`/ideas/${idea.id}/edit`, { title: 'Keyboard shortcuts on every page', body: 'Power users want them badly.', tags: 'keyboard' }, `/ideas/${idea.id}/edit`)
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, `/ideas/${idea.id}?saved=1`)
  t.match((await regular.client.get(saved.headers.location as string)).body, /Your changes are saved/)
})

t.test('who may edit when: planned ideas and merged ideas are staff-only; staff edits are logged', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular } = await personas(app, db)
  const moderator = await persona(app, db, { stem: 'globalmod', role: 'moderator', trustLevel: 3 })
  const idea = (await regular.client.api('POST', '/api/v1/ideas', { title: 'Calendar sync with Google', body: 'Two-way sync of events, please.' })).data
  await admin.client.api('POST', `/api/v1/ideas/${idea.id}/status`, { status: 'under_review', note: 'Looking at it.' })
  t.equal((await regular.client.api('PATCH', `/api/v1/ideas/${idea.id}`, { title: 'Calendar sync with Google', body: 'Two-way sync of events and tasks.' })).statusCode, 200, 'under review: the author still may')
  await admin.client.api('POST', `/api/v1/ideas/${idea.id}/status`, { status: 'planned', note: 'Next quarter.' })
  const late = await regular.client.api('PATCH', `/api/v1/ideas/${idea.id}`, { title: 'Calendar sync with Outlook', body: 'Two-way sync of events and tasks.' })
  t.equal(late.statusCode, 403, 'planned: voters backed this text')
  t.match(late.data.error, /only staff can edit it/)
  t.notMatch((await regular.client.get(`/ideas/${idea.id}`)).body, /Edit idea/, 'and the button is gone')

  const staff = await moderator.client.api('PATCH', `/api/v1/ideas/${idea.id}`, { title: 'Calendar sync (Google and Outlook)', body: 'Two-way sync of events and tasks.', reason: 'Covers the merged Outlook request' })
  t.equal(staff.statusCode, 200, 'a moderator edits a planned idea')
  const log = await db.selectFrom('moderation_log').select(['actor_id', 'action', 'target_type', 'target_id', 'reason']).where('action', '=', 'idea.edit').execute()
  t.match(log, [{ actor_id: moderator.id, target_type: 'idea', target_id: String(idea.id), reason: 'Covers the merged Outlook request' }], 'the staff edit is logged with its reason')
  const modLog = await regular.client.get('/mod/log')
  t.match(modLog.body, /edited the idea/, 'the public log says so')
  const form = await admin.client.get(`/ideas/${idea.id}/edit`)
  t.match(form.body, /You are editing .* idea as staff/, 'staff are told their edit is logged')
  t.match(form.body, /name="reason"/)

  const other = (await regular.client.api('POST', '/api/v1/ideas', { title: 'Google calendar integration', body: 'Sync with my calendar.' })).data
  await admin.client.api('POST', `/api/v1/ideas/${other.id}/merge`, { intoId: idea.id })
  t.equal((await regular.client.api('PATCH', `/api/v1/ideas/${other.id}`, { title: 'Google calendar integration', body: 'Sync with my calendar, please.' })).statusCode, 403, 'a merged idea is settled for its author')

  const mine = (await regular.client.api('POST', '/api/v1/ideas', { title: 'Offline reading mode', body: 'Read threads on the train.' })).data
  await restrict(db, regular.id, 'silenced')
  t.equal((await regular.client.api('PATCH', `/api/v1/ideas/${mine.id}`, { title: 'Offline reading mode', body: 'Read threads on the plane.' })).statusCode, 403, 'a silenced author edits nothing')
})

t.test('the author’s own vote comes with the idea, exact under a race, and can be taken back', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular } = await personas(app, db)
  const authors = await Promise.all(Array.from({ length: 12 }, (_, i) => persona(app, db, { stem: `author${i}`, trustLevel: 1 })))
  // Twelve members propose at once; each idea gets its author's vote and nothing else.
  const ideas = await Promise.all(authors.map((a, i) => a.client.api('POST', '/api/v1/ideas', { title: `Concurrent idea number ${i}`, body: 'Proposed at the same moment as the others.' })))
  t.ok(ideas.every((r) => r.statusCode === 201 && r.data.votes === 1 && r.data.voted === true), 'each idea starts at one vote, the author’s')
  for (const [i, r] of ideas.entries()) {
    const rows = await db.selectFrom('idea_votes').select('user_id').where('idea_id', '=', r.data.id).execute()
    t.same(rows.map((v) => v.user_id), [authors[i]!.id], `idea ${i}: the one vote row is its author's`)
  }
  // On one idea, the author retracts and re-votes while everyone else votes: the count stays exact.
  const target = ideas[0]!.data.id as number
  const calls = [
    ...Array.from({ length: 20 }, (_, i) => authors[0]!.client.api(i % 2 === 0 ? 'DELETE' : 'PUT', `/api/v1/ideas/${target}/vote`)),
    ...authors.slice(1).map((a) => a.client.api('PUT', `/api/v1/ideas/${target}/vote`)),
    regular.client.api('PUT', `/api/v1/ideas/${target}/vote`),
  ]
  const answers = await Promise.all(calls)
  t.ok(answers.every((a) => a.statusCode === 200), 'every call answered')
  const rows = Number((await db.selectFrom('idea_votes').select((eb) => eb.fn.countAll<number>().as('n')).where('idea_id', '=', target).executeTakeFirstOrThrow()).n)
  const { vote_count } = await db.selectFrom('ideas').select('vote_count').where('id', '=', target).executeTakeFirstOrThrow()
  t.equal(vote_count, rows, 'the counter equals the votes stored')
  t.ok(rows === 12 || rows === 13, 'twelve others, and the author or not')
  const back = await authors[0]!.client.api('DELETE', `/api/v1/ideas/${target}/vote`)
  t.same([back.data.votes, back.data.voted], [12, false], 'the author takes it back like any vote')

  // With an open-vote limit reached, the idea is still posted, without the author's vote.
  t.equal((await admin.client.api('PUT', '/api/v1/ideas/vote-limits', { limits: { '1': 1 } })).statusCode, 200)
  const limited = await authors[1]!.client.api('POST', '/api/v1/ideas', { title: 'One vote too many', body: 'This author already holds their one open vote.' })
  t.same([limited.statusCode, limited.data.votes, limited.data.voted], [201, 0, false], 'no vote past the limit')

  const form = await regular.client.submit('/ideas', { title: 'Threaded replies collapse', body: 'Long threads get hard to follow.', confirm: '1' }, '/ideas/new')
  const page = await regular.client.get(form.headers.location as string)
  t.match(page.body, /Your idea is posted with your vote/, 'the page says the vote is in')
  t.match(page.body, /aria-pressed="true"/, 'and the vote button is pressed')
})

t.test('similar ideas while typing: prefixes match, odd characters are harmless', async (t) => {
  const { app, db } = await build(t)
  const { regular, guest } = await personas(app, db)
  await regular.client.api('POST', '/api/v1/ideas', { title: 'Offline sync for notes', body: 'Keep editing notes on the train.' })
  await regular.client.api('POST', '/api/v1/ideas', { title: 'Dark mode for the app', body: 'Easier on the eyes at night.' })
  const typing = async (q: string) => (await guest.api('GET', `/api/v1/ideas/similar?typing=1&q=${encodeURIComponent(q)}`)).data.items.map((i: { title: string }) => i.title)
  t.same(await typing('Sync notes when offl'), ['Offline sync for notes'], 'an unfinished last word matches as a prefix')
  t.same(await typing('dar'), ['Dark mode for the app'], 'a single unfinished word too')
  t.same(await typing('the'), [], 'stop words match nothing')
  t.same(await typing('dark mode & | ! :* ( <'), ['Dark mode for the app'], 'operators in the text are just ignored')
  t.same(await typing('!!! :*'), [], 'nothing but punctuation finds nothing')
  const item = (await guest.api('GET', '/api/v1/ideas/similar?typing=1&q=offline%20sy')).data.items[0]
  t.match(item, { url: /^\/ideas\/\d+$/, votes: 1, statusLabel: 'Open' }, 'each with its link, votes and status')
  t.same((await guest.api('GET', '/api/v1/ideas/similar?q=offl')).data.items, [], 'without typing=1 words must match whole, as before')
  t.equal((await guest.api('GET', '/api/v1/ideas/similar?typing=yes&q=x')).statusCode, 400)
  const form = await regular.client.get('/ideas/new')
  t.match(form.body, /<form method="post" enctype="multipart\/form-data" data-uploads action="\/ideas" novalidate data-similar-check>/, 'the form asks for the live check')
  t.match(form.body, /data-similar-live aria-live="polite" hidden/, 'with a polite live region, hidden until there is something to say')
})

t.test('members who may not vote see the count and why, not the button', async (t) => {
  const { app, db } = await build(t)
  const { admin, regular } = await personas(app, db)
  const idea = (await regular.client.api('POST', '/api/v1/ideas', { title: 'Emoji reactions on posts', body: 'Quick reactions without a reply.' })).data
  await admin.client.api('POST', `/api/v1/ideas/${idea.id}/status`, { status: 'planned', note: 'On the roadmap.' })
  await app.hearth.settings.set('require_verified_email_to_post', true)
  const reasons = { suspended: /Your account is suspended until/, silenced: /You are silenced until .* and cannot vote/, unverified: /Confirm your email address before voting/ } as const
  for (const standing of ['suspended', 'silenced', 'unverified'] as const) {
    const member = await persona(app, db, { stem: standing.slice(0, 8), trustLevel: 2 })
    await restrict(db, member.id, standing)
    for (const url of [`/ideas/${idea.id}`, '/ideas', '/roadmap']) {
      const page = await member.client.get(url)
      t.notMatch(page.body, new RegExp(`action="/ideas/${idea.id}/vote"`), `${standing}: no vote button on ${url}`)
      t.match(page.body, new RegExp(`data-vote-count-for="${idea.id}">1<`), `${standing}: the count is still shown on ${url}`)
      t.match(page.body, reasons[standing], `${standing}: and why on ${url}`)
    }
    t.equal((await member.client.api('PUT', `/api/v1/ideas/${idea.id}/vote`)).statusCode, 403, `${standing}: the guard refuses the vote`)
  }
  const fine = await persona(app, db, { stem: 'fine', trustLevel: 2 })
  t.match((await fine.client.get(`/ideas/${idea.id}`)).body, new RegExp(`action="/ideas/${idea.id}/vote"`), 'a member in good standing gets the button')
  t.notMatch((await fine.client.get('/ideas')).body, /You cannot vote right now/)
})

t.test('the home page does not list the idea comments category', async (t) => {
  const { app, db } = await build(t)
  const { regular, admin, guest } = await personas(app, db)
  await admin.client.api('POST', '/api/v1/categories', { name: 'General', visibility: 'public' })
  await regular.client.api('POST', '/api/v1/ideas', { title: 'Markdown tables support', body: 'Tables in posts would be handy.' })
  for (const [who, client] of [['guest', guest], ['member', regular.client], ['admin', admin.client]] as const) {
    const home = await client.get('/')
    t.match(home.body, /href="\/c\/general"/, `${who}: ordinary categories are listed`)
    t.notMatch(home.body, /href="\/c\/idea-discussions"/, `${who}: idea comments are not a category on the home page`)
  }
  t.equal((await regular.client.get('/c/idea-discussions')).statusCode, 200, 'the category itself still exists for links')
})
