import t from 'tap'
import * as migration0062 from '../../migrations/0062_moderation_log_category.js'
import { STAFF_ACTION_CODES, STAFF_ACTIONS, logStaffAction, type StaffAction } from '../../src/features/moderation/log.js'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { persona } from '../helpers/personas.js'
import { QueryCounter } from '../helpers/query-counter.js'

type Db = Awaited<ReturnType<typeof build>>['db']

/** The log rows written since `after`, oldest first. */
const since = (db: Db, after: number) =>
  db.selectFrom('moderation_log').select(['id', 'action', 'actor_id', 'target_type', 'target_id', 'category_id', 'reason']).where('id', '>', after).orderBy('id').execute()
const lastId = async (db: Db) => (await db.selectFrom('moderation_log').select((eb) => eb.fn.max<number>('id').as('id')).executeTakeFirstOrThrow()).id ?? 0

/** Runs one staff action and returns the entries it wrote. */
async function entriesOf(db: Db, act: () => Promise<{ statusCode: number }>, status: number) {
  const before = await lastId(db)
  const res = await act()
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${(res as { body?: string }).body}`)
  return since(db, before)
}

/** The visible words of a page, tags removed and spaces folded, to read it as a person would. */
const words = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')

t.test('the typed list names every action once, with a label and a target kind; a misspelt code does not typecheck', async (t) => {
  t.ok(STAFF_ACTION_CODES.length >= 30)
  for (const code of ['member.unsuspend', 'member.unsilence', 'beta.accept', 'beta.decline', 'moderator.promote', 'settings.vote_limits'] as const) {
    t.ok(STAFF_ACTIONS[code].label, `${code} is listed`)
  }
  // @ts-expect-error: 'post.delet' is not an action; `npx tsc --noEmit` fails when this line stops being an error.
  const typo: StaffAction = { actorId: 1, action: 'post.delet', target: { type: 'post', id: 1 } }
  t.ok(typo)
})

t.test('every staff action path writes exactly one entry through the writer, with its code and category', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.members.id, 'Dark mode?', 'Please add it.')
  const reply = await replyTo(f.regular, thread.id, 'Yes please')

  const one = async (label: string, rows: Awaited<ReturnType<typeof since>>, expected: Record<string, unknown>) => {
    t.equal(rows.length, 1, `${label}: one entry`)
    t.match(rows[0], expected, `${label}: ${String(expected.action)}`)
  }
  const lounge = f.cats.members.id

  await one('a moderator edits a member\'s post', await entriesOf(db, () => f.categoryMod.client.api('PATCH', `/api/v1/posts/${reply}`, { body: 'Yes please (edited)', reason: 'Tidy' }), 200),
    { action: 'post.edit', actor_id: f.categoryMod.id, target_type: 'post', target_id: String(reply), category_id: lounge, reason: 'Tidy' })
  t.same(await entriesOf(db, () => f.regular.client.api('PATCH', `/api/v1/posts/${reply}`, { body: 'my own words' }), 200), [], 'an author editing their own post is not a staff action')

  const pin = await entriesOf(db, () => f.categoryMod.client.api('PATCH', `/api/v1/threads/${thread.id}`, { pinned: true }), 200)
  await one('pin', pin, { action: 'thread.pin', target_type: 'thread', target_id: String(thread.id), category_id: lounge })
  const both = await entriesOf(db, () => f.categoryMod.client.api('PATCH', `/api/v1/threads/${thread.id}`, { pinned: false, locked: true, reason: 'Settled' }), 200)
  t.same(both.map((r) => r.action), ['thread.unpin', 'thread.lock'], 'one entry per change when a request makes two')
  await one('unlock', await entriesOf(db, () => f.categoryMod.client.api('PATCH', `/api/v1/threads/${thread.id}`, { locked: false }), 200), { action: 'thread.unlock' })
  const move = await entriesOf(db, () => f.categoryMod.client.api('PATCH', `/api/v1/threads/${thread.id}`, { categoryId: f.cats.trusted.id }), 200)
  await one('move', move, { action: 'thread.move', category_id: lounge })
  t.match(await db.selectFrom('moderation_log').select('details').where('id', '=', move[0]!.id).executeTakeFirstOrThrow(), { details: { toCategoryId: f.cats.trusted.id } })

  const other = await startThread(f.member, f.cats.open.id, 'Spam here')
  const otherReply = await replyTo(f.regular, other.id, 'buy now')
  await one('a moderator deletes a reply', await entriesOf(db, () => f.admin.client.api('DELETE', `/api/v1/posts/${otherReply}`), 204),
    { action: 'post.delete', target_type: 'post', target_id: String(otherReply), category_id: f.cats.open.id })
  await one('a moderator deletes a thread', await entriesOf(db, () => f.admin.client.api('DELETE', `/api/v1/posts/${other.postId}`), 204),
    { action: 'thread.delete', target_id: String(other.postId), category_id: f.cats.open.id })
  const own = await startThread(f.member, f.cats.open.id, 'My own thread')
  t.same(await entriesOf(db, () => f.member.client.api('DELETE', `/api/v1/posts/${own.postId}`), 204), [], 'deleting one\'s own post is not logged')

  const created = await entriesOf(db, () => f.admin.client.api('POST', '/api/v1/categories', { name: 'Secret room', visibility: 'members' }), 201)
  await one('category create', created, { action: 'category.create', target_type: 'category' })
  t.equal(created[0]!.category_id, Number(created[0]!.target_id), 'a category\'s creation belongs to that category')

  await one('appoint', await entriesOf(db, () => f.admin.client.submit(`/admin/categories/${f.cats.open.id}/moderators`, { username: f.regular.username, reason: 'Helpful' }, '/admin'), 303),
    { action: 'moderator.appoint', target_type: 'user', target_id: String(f.regular.id), category_id: f.cats.open.id, reason: 'Helpful' })
  await one('remove', await entriesOf(db, () => f.admin.client.submit(`/admin/categories/${f.cats.open.id}/moderators/${f.regular.id}/remove`, {}, '/admin'), 303),
    { action: 'moderator.remove', target_id: String(f.regular.id), category_id: f.cats.open.id })

  const flagged = await startThread(f.admin, f.cats.members.id, 'Flag target')
  const posts = [await replyTo(f.newbie, flagged.id, 'rude one'), await replyTo(f.newbie, flagged.id, 'fine one'), await replyTo(f.newbie, flagged.id, 'unsure one')]
  const flagIds: number[] = []
  for (const p of posts) flagIds.push((await f.regular.client.api('POST', `/api/v1/posts/${p}/flags`, { reason: 'inappropriate' })).data.id)
  const agree = await entriesOf(db, () => f.categoryMod.client.api('POST', `/api/v1/mod/flags/${flagIds[0]}/resolve`, { action: 'agree', penalty: 'silence', days: 1, reason: 'Be kind' }), 200)
  t.same(agree.map((r) => [r.action, r.category_id]), [['flag.agree', lounge], ['member.silence', lounge]], 'agreeing with a penalty: the decision and the penalty, both in the flag\'s category')
  await one('disagree', await entriesOf(db, () => f.categoryMod.client.api('POST', `/api/v1/mod/flags/${flagIds[1]}/resolve`, { action: 'disagree' }), 200), { action: 'flag.disagree', target_id: String(posts[1]), category_id: lounge })
  await one('defer', await entriesOf(db, () => f.categoryMod.client.api('POST', `/api/v1/mod/flags/${flagIds[2]}/resolve`, { action: 'defer' }), 200), { action: 'flag.defer', category_id: lounge })

  const idea = (await f.member.client.api('POST', '/api/v1/ideas', { title: 'Offline mode for the app', body: 'Let me read without a connection.' })).data
  const dupe = (await f.regular.client.api('POST', '/api/v1/ideas', { title: 'Read offline please', body: 'Same thing as the other one.' })).data
  await one('idea status', await entriesOf(db, () => f.admin.client.api('POST', `/api/v1/ideas/${idea.id}/status`, { status: 'planned', note: 'Next quarter' }), 200),
    { action: 'idea.status', target_type: 'idea', target_id: String(idea.id), category_id: null })
  await one('idea merge', await entriesOf(db, () => f.admin.client.api('POST', `/api/v1/ideas/${dupe.id}/merge`, { intoId: idea.id }), 200), { action: 'idea.merge', target_id: String(dupe.id) })
  await one('vote limits', await entriesOf(db, () => f.admin.client.api('PUT', '/api/v1/ideas/vote-limits', { limits: { 0: 3 } }), 200), { action: 'settings.vote_limits', target_type: 'settings' })

  const program = (await f.admin.client.api('POST', '/api/v1/beta', { title: 'Offline beta', capacity: 5, reviewMode: 'manual' })).data
  t.equal((await f.member.client.api('POST', `/api/v1/beta/${program.id}/signups`, { answers: {} })).statusCode, 201)
  await one('beta accept', await entriesOf(db, () => f.admin.client.api('POST', `/api/v1/beta/${program.id}/signups/${f.member.id}/review`, { decision: 'accept' }), 200), { action: 'beta.accept', target_type: 'beta_signup' })
  await one('beta decline', await entriesOf(db, () => f.admin.client.api('POST', `/api/v1/beta/${program.id}/signups/${f.member.id}/review`, { decision: 'decline', note: 'Full' }), 200), { action: 'beta.decline', reason: 'Full' })

  const standing = await entriesOf(db, () => f.admin.client.submit('/admin/members', { username: f.newbie.username, role: 'member', trustLevel: '2', reason: 'Known to us' }, `/admin?member=${f.newbie.username}`), 303)
  t.same(standing.map((r) => r.action), ['member.trust'], 'a trust change alone writes one entry')

  // The promotion job: automatic, no actor, in the category it promotes for.
  await app.hearth.settings.update({ promotion_min_activity: 3, moderators_per_category: 1 })
  const keen = await persona(app, db, { stem: 'keen', trustLevel: 3 })
  const busy = await startThread(f.admin, f.cats.open.id, 'Busy thread')
  for (let i = 0; i < 4; i++) await replyTo(keen, busy.id, `help ${i}`)
  const before = await lastId(db)
  await app.hearth.trust.promote()
  t.match(await since(db, before), [{ action: 'moderator.promote', actor_id: null, target_id: String(keen.id), category_id: f.cats.open.id }], 'a promotion is one automatic entry')

  const stored = await db.selectFrom('moderation_log').select('action').distinct().execute()
  for (const { action } of stored) t.ok((STAFF_ACTION_CODES as string[]).includes(action), `${action} is in the typed list`)
})

t.test('the log page names people, posts and places and links them, instead of codes and "#1"', async (t) => {
  const counter = new QueryCounter()
  const { app, db } = await build(t, { plugins: [counter] })
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Dark mode?', 'Please.')
  const reply = await replyTo(f.regular, thread.id, 'off topic rant')
  await f.admin.client.api('DELETE', `/api/v1/posts/${reply}`)
  await f.admin.client.api('PATCH', `/api/v1/threads/${thread.id}`, { pinned: true, reason: 'Popular request' })
  await f.admin.client.submit(`/admin/categories/${f.cats.open.id}/moderators`, { username: f.regular.username }, '/admin')
  const idea = (await f.member.client.api('POST', '/api/v1/ideas', { title: 'Offline mode for the app', body: 'Let me read without a connection.' })).data
  await f.admin.client.api('POST', `/api/v1/ideas/${idea.id}/status`, { status: 'planned', note: 'Next quarter' })
  const program = (await f.admin.client.api('POST', '/api/v1/beta', { title: 'Offline beta', capacity: 5, reviewMode: 'manual' })).data
  await f.member.client.api('POST', `/api/v1/beta/${program.id}/signups`, { answers: {} })
  await f.admin.client.api('POST', `/api/v1/beta/${program.id}/signups/${f.member.id}/review`, { decision: 'accept' })
  await app.hearth.settings.update({ promotion_min_activity: 1, moderators_per_category: 2 })
  const keen = await persona(app, db, { stem: 'keen', trustLevel: 3 })
  await replyTo(keen, thread.id, 'helpful answer')
  await app.hearth.trust.promote()

  const page = await f.member.client.get('/mod/log')
  t.equal(page.statusCode, 200)
  const admin = `<a href="/u/${f.admin.username}">${f.admin.username}</a>`
  const general = '<a href="/c/general">General</a>'
  const text = words(page.body)
  t.match(page.body, admin, 'the actor is named and linked to their profile')
  t.match(text, `${f.admin.username} deleted a reply in “Dark mode?” in General`, 'a deletion reads as a sentence')
  t.match(page.body, `<a href="/p/${reply}">“Dark mode?”</a>`, 'the post links to itself, named by its thread')
  t.match(text, `${f.admin.username} pinned “Dark mode?” in General`)
  t.match(page.body, new RegExp(`<a href="/t/${thread.id}/[^"]+">“Dark mode\\?”</a>`), 'a thread links to the thread')
  t.match(page.body, general, 'the category is named and linked')
  t.match(text, 'Why: Popular request')
  t.match(text, `${f.admin.username} appointed @${f.regular.username} as a moderator of General`)
  t.match(page.body, `<a href="/u/${f.regular.username}">@${f.regular.username}</a>`)
  t.match(text, `${f.admin.username} moved the idea “Offline mode for the app” to Planned`)
  t.match(page.body, `<a href="/ideas/${idea.id}">“Offline mode for the app”</a>`)
  t.match(text, `${f.admin.username} accepted the beta sign-up of @${f.member.username} for “Offline beta”`)
  t.match(page.body, `<a href="/beta/${program.id}">“Offline beta”</a>`)
  t.match(text, `Hearth (automatic) made @${keen.username} a moderator of General`, 'automatic actions say so')
  t.match(text, `${f.admin.username} created the category Members lounge`)
  t.notMatch(text, /#\d/, 'no "thread #1" or "post #2"')
  for (const code of STAFF_ACTION_CODES) t.notOk(text.includes(code), `no internal code ${code}`)

  // Names come in a fixed number of queries, however many entries the page holds.
  // (The relay's background work on the same pool, the fan-out of what was just done, is not the page's.)
  await app.hearth.relay.drain()
  counter.count = 0
  await f.member.client.get('/mod/log')
  const few = counter.count
  for (let i = 0; i < 6; i++) {
    const more = await startThread(f.member, f.cats.open.id, `Thread ${i}`)
    await f.admin.client.api('PATCH', `/api/v1/threads/${more.id}`, { locked: true })
    await f.admin.client.submit(`/admin/categories/${f.cats.open.id}/moderators`, { username: (await persona(app, db, { stem: `m${i}` })).username }, '/admin')
  }
  await app.hearth.relay.drain()
  counter.count = 0
  await f.member.client.get('/mod/log')
  t.equal(counter.count, few, `the same ${few} queries with 12 more entries`)
})

t.test('an entry about a category the reader cannot see is hidden from that reader', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  // Inner circle is for trust level 2 and up: the TL1 member cannot read it; categoryMod moderates it.
  const secret = await startThread(f.admin, f.cats.trusted.id, 'Secret plans')
  await f.admin.client.api('PATCH', `/api/v1/threads/${secret.id}`, { locked: true, reason: 'hush hush' })
  const moved = await startThread(f.member, f.cats.open.id, 'Was public')
  await f.admin.client.api('PATCH', `/api/v1/threads/${moved.id}`, { categoryId: f.cats.trusted.id, reason: 'belongs inside' })
  await f.admin.client.api('POST', '/api/v1/categories', { name: 'Hidden garden', slug: 'garden', visibility: 'trust', minTrustLevel: 3 })
  const open = await startThread(f.member, f.cats.open.id, 'Out in the open')
  await f.admin.client.api('PATCH', `/api/v1/threads/${open.id}`, { pinned: true })

  const seen = async (who: Client) => words((await who.get('/mod/log')).body)
  const member = await seen(f.member.client)
  t.match(member, 'Out in the open', 'public entries are there')
  t.notMatch(member, /Secret plans|hush hush|Inner circle/, 'a member without access sees nothing of the trust-gated category')
  t.notMatch(member, /Was public|belongs inside/, 'nor a move into it')
  t.notMatch(member, /Hidden garden/, 'nor the creation of a category they cannot see')
  const guest = await new Client(app).get('/mod/log')
  t.equal(guest.statusCode, 302, 'guests are sent to log in')
  t.notMatch(guest.body, /Secret plans/)
  for (const [who, client] of [['its moderator', f.categoryMod.client], ['a TL2 member who can read it', f.regular.client], ['an admin', f.admin.client]] as const) {
    const page = await seen(client)
    t.match(page, 'Secret plans', `${who} sees the entry`)
    t.match(page, 'hush hush')
    t.match(page, /moved “Was public” from General to Inner circle/, `${who} sees the move`)
  }
  t.notMatch(await seen(f.categoryMod.client), /Hidden garden/, 'a moderator of other categories does not see a category they cannot read')
  t.match(await seen(f.admin.client), /created the category Hidden garden/)
})

t.test('paging fills every page when entries are hidden, and never repeats or skips one', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const open = await startThread(f.admin, f.cats.open.id, 'Open thread')
  const inner = await startThread(f.admin, f.cats.trusted.id, 'Inner thread')
  // 70 visible and 70 hidden entries, interleaved, written through the one writer.
  for (let i = 0; i < 70; i++) {
    for (const [thread, categoryId] of [[open, f.cats.open.id], [inner, f.cats.trusted.id]] as const) {
      await logStaffAction(db, { actorId: f.admin.id, action: i % 2 ? 'thread.lock' : 'thread.unlock', target: { type: 'thread', id: thread.id }, reason: `${categoryId === f.cats.open.id ? 'visible' : 'hidden'} ${i}`, categoryId })
    }
  }
  const read = async (client: Client) => {
    const reasons: string[] = []
    const sizes: number[] = []
    let url: string | null = '/mod/log'
    while (url) {
      const body: string = (await client.get(url)).body
      const found = [...body.matchAll(/Why: ((?:visible|hidden) \d+)/g)].map((m) => m[1]!)
      reasons.push(...found)
      sizes.push(found.length)
      url = /href="(\/mod\/log\?before=\d+)"/.exec(body)?.[1] ?? null
      if (sizes.length > 10) break
    }
    return { reasons, sizes }
  }
  const member = await read(f.member.client)
  t.same(member.sizes, [50, 20], 'the member\'s first page is full although half the entries are hidden')
  t.same(member.reasons, Array.from({ length: 70 }, (_, i) => `visible ${69 - i}`), 'every visible entry once, newest first')
  const admin = await read(f.admin.client)
  t.equal(admin.reasons.length, 140, 'staff page through everything')
  t.equal(new Set(admin.reasons).size, 140, 'no repeats')
})

t.test('migration 0062 backfills the category of entries written before it, and renames the member codes', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.members.id, 'Old thread')
  const reply = await replyTo(f.regular, thread.id, 'old reply')
  await migration0062.down(db)
  // Rows in the shapes the twelve old inserts wrote.
  const old = [
    { action: 'post.delete', target_type: 'post', target_id: String(reply), details: { threadId: thread.id } },
    { action: 'thread.move', target_type: 'thread', target_id: String(thread.id), details: { category_id: f.cats.trusted.id, from: f.cats.members.id } },
    { action: 'thread.lock', target_type: 'thread', target_id: String(thread.id), details: { locked: true, from: f.cats.members.id } },
    { action: 'flag.agree', target_type: 'post', target_id: String(reply), details: { threadId: thread.id, categoryId: f.cats.members.id } },
    { action: 'category.create', target_type: 'category', target_id: String(f.cats.trusted.id), details: { name: 'Inner circle' } },
    { action: 'user.suspend', target_type: 'user', target_id: String(f.member.id), details: { until: new Date().toISOString() } },
    { action: 'idea.status', target_type: 'idea', target_id: '1', details: {} },
  ]
  await db.deleteFrom('moderation_log').execute()
  for (const r of old) await db.insertInto('moderation_log').values({ ...r, actor_id: f.admin.id, details: JSON.stringify(r.details) } as never).execute()
  await migration0062.up(db)
  const rows = await db.selectFrom('moderation_log').select(['action', 'category_id', 'details']).orderBy('id').execute()
  t.same(rows.map((r) => [r.action, r.category_id]), [
    ['post.delete', f.cats.members.id],
    ['thread.move', f.cats.members.id],
    ['thread.lock', f.cats.members.id],
    ['flag.agree', f.cats.members.id],
    ['category.create', f.cats.trusted.id],
    ['member.suspend', null],
    ['idea.status', null],
  ])
  t.match(rows[1]!.details, { toCategoryId: f.cats.trusted.id }, 'a move keeps where it went, for the visibility filter')
  const page = words((await f.member.client.get('/mod/log')).body)
  t.match(page, 'deleted a reply in “Old thread” in Members lounge', 'old entries read as sentences')
  t.notMatch(page, /Inner circle|moved “Old thread”/, 'and are filtered like new ones: the TL1 member sees neither the move into Inner circle nor its creation')
})
