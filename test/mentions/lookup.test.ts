import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { persona, restrict } from '../helpers/personas.js'
import { QueryCounter } from '../helpers/query-counter.js'

const names = (res: { data: { users: { username: string }[] } }) => res.data.users.map((u) => u.username)

t.test('member lookup for @-mentions: prefix matches, thread participants and recent posters first, minimal fields', async (t) => {
  const counter = new QueryCounter()
  const { app, db } = await build(t, { plugins: [counter] })
  const f = await forum(app, db)
  // Three members whose names start alike: one in the thread, one posting elsewhere lately, one silent.
  const quiet = await persona(app, db, { stem: 'alquiet', trustLevel: 1 })
  const elsewhere = await persona(app, db, { stem: 'alelse', trustLevel: 1 })
  const inThread = await persona(app, db, { stem: 'alzthread', trustLevel: 1 })
  const banned = await persona(app, db, { stem: 'albanned', trustLevel: 1 })
  const secret = await persona(app, db, { stem: 'alsecret', trustLevel: 2 })
  await db.updateTable('users').set({ display_name: 'Alice Quiet' }).where('id', '=', quiet.id).execute()

  const thread = await startThread(f.member, f.cats.open.id, 'Where the talk is', 'Opening words')
  await replyTo(inThread, thread.id, 'I am in this thread')
  const other = await startThread(f.admin, f.cats.open.id, 'Somewhere else', 'Opening words')
  await replyTo(elsewhere, other.id, 'I post elsewhere')
  await replyTo(banned, other.id, 'I post too, then get suspended')
  await restrict(db, banned.id, 'suspended')
  // A post in a category the asker cannot see must not lift its author.
  const inner = await startThread(f.admin, f.cats.trusted.id, 'Inner circle only', 'root')
  await replyTo(secret, inner.id, 'Only the trusted see this')

  const ask = (q: string, threadId?: number, who = f.member.client) =>
    who.api('GET', `/api/v1/users/search?q=${encodeURIComponent(q)}${threadId ? `&threadId=${threadId}` : ''}`)

  const res = await ask('al', thread.id)
  t.equal(res.statusCode, 200)
  t.same(names(res).slice(0, 2), [inThread.username, elsewhere.username], 'the thread participant first, then a recent poster')
  t.ok(names(res).indexOf(quiet.username) > 1, 'a member who has not posted comes after')
  t.notOk(names(res).includes(banned.username), 'a suspended member is never suggested')
  t.ok(names(res).indexOf(secret.username) > names(res).indexOf(elsewhere.username), 'posting where the asker cannot see lifts nobody')
  t.same(Object.keys(res.data.users[0]).sort(), ['displayName', 'username'], 'only names leave the server')
  t.same(res.data.users.find((u: { username: string }) => u.username === quiet.username), { username: quiet.username, displayName: 'Alice Quiet' })

  t.same(names(await ask('AL', thread.id)), names(res), 'case does not matter')
  t.same(names(await ask('alice', thread.id)), [quiet.username], 'display names match too')
  t.same(names(await ask(f.member.username)), [], 'the asker is not offered to themself')
  t.same(names(await ask('al_')), [], 'an underscore is a character, not a wildcard')
  const noThread = names(await ask('al'))
  t.equal(noThread[0], elsewhere.username, 'without a thread, recent posters lead')
  t.same(names(await ask('al', inner.id)), noThread, 'a thread the asker cannot see changes nothing')
  t.same(names(await ask('', thread.id)).slice(0, 1), [inThread.username], 'an empty query offers who is around')

  t.equal((await ask('a b')).statusCode, 400, 'only username characters')
  t.equal((await new Client(app).api('GET', '/api/v1/users/search?q=al')).statusCode, 401, 'guests cannot look members up')

  // Two queries per lookup (after the session): the visible categories, then the suggestions.
  counter.roundTrips = 0
  await ask('al', thread.id)
  t.equal(counter.roundTrips, 3, 'session, categories, suggestions')
})

t.test('the member lookup is rate-limited', async (t) => {
  const { app, db } = await build(t)
  const member = await persona(app, db, { stem: 'typist', trustLevel: 1 })
  let last = 0
  for (let i = 0; i < 121; i++) last = (await member.client.api('GET', '/api/v1/users/search?q=ty')).statusCode
  t.equal(last, 429, 'the 121st lookup in a minute is refused')
})
