import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { PASSWORD, persona } from '../helpers/personas.js'

const PITCH = 'Visit our store for the best replica watches, cheap prices, worldwide shipping and a discount for every forum member today'

t.test('one click: a spammer’s posts go, they are suspended, their email and IP are blocked, their texts are learnt, and it is logged', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const spammer = await persona(app, db, { stem: 'spammer', trustLevel: 1 })
  // Where they signed up and logged in from (test requests all come from 127.0.0.1, which other personas share).
  await db.updateTable('users').set({ signup_ip: '203.0.113.50' }).where('id', '=', spammer.id).execute()
  await db.updateTable('sessions').set({ ip: '203.0.113.51' }).where('user_id', '=', spammer.id).execute()
  const thread = await startThread(f.member, f.cats.open.id, 'Watches', 'Which one do you wear?')
  const own = await startThread(spammer, f.cats.open.id, 'Replica watches cheap', PITCH)
  const reply = await replyTo(spammer, thread.id, `${PITCH} again`)
  t.equal((await f.member.client.api('GET', `/api/v1/threads/${thread.id}`)).data.thread.replyCount, 1)

  const page = await f.admin.client.get(`/u/${spammer.username}`)
  t.match(page.body, /Mark as spammer/, 'staff see the action on the profile')
  t.notMatch((await f.member.client.get(`/u/${spammer.username}`)).body, /Mark as spammer/, 'members do not')
  const done = await f.admin.client.submit(`/mod/spammer/${spammer.id}`, { reason: 'Replica watches' }, `/u/${spammer.username}`)
  t.equal(done.statusCode, 303)

  const posts = await db.selectFrom('posts').select(['id', 'deleted_at']).where('author_id', '=', spammer.id).execute()
  t.ok(posts.every((p) => p.deleted_at !== null), 'every post deleted')
  t.equal((await f.member.client.get(own.url)).statusCode, 404, 'their thread is gone')
  t.equal((await f.member.client.api('GET', `/api/v1/threads/${thread.id}`)).data.thread.replyCount, 0, 'the count stays true')
  t.notMatch((await f.member.client.get(thread.url)).body, /replica/, 'their reply’s text is gone')
  t.ok(reply)
  const user = await db.selectFrom('users').select('suspended_until').where('id', '=', spammer.id).executeTakeFirstOrThrow()
  t.ok(user.suspended_until! > new Date(Date.now() + 50 * 365 * 86_400_000), 'suspended')
  t.equal((await spammer.client.api('GET', '/api/v1/me')).statusCode, 401, 'their sessions ended')
  const blocked = await db.selectFrom('blocked_identities').select(['kind', 'value']).orderBy('kind').execute()
  t.same(blocked.map((b) => `${b.kind}:${b.value}`).sort(), [`email:${spammer.email.toLowerCase()}`, 'ip:203.0.113.50', 'ip:203.0.113.51'])
  t.ok(blocked.some((b) => b.kind === 'email' && b.value === spammer.email.toLowerCase()), 'their email')
  t.ok(blocked.some((b) => b.kind === 'ip' && b.value === '203.0.113.50'), 'their sign-up IP')
  const again = await new Client(app).api('POST', '/api/v1/auth/signup', { username: 'spammer2', email: spammer.email, password: PASSWORD })
  t.equal(again.statusCode, 400, 'the address cannot sign up again')
  const fromIp = await app.inject({ method: 'POST', url: '/api/v1/auth/signup', remoteAddress: '203.0.113.50', payload: { username: 'spammer3', email: 's3@example.test', password: PASSWORD } })
  t.equal(fromIp.statusCode, 403, 'nor the address they came from')
  const log = await db.selectFrom('moderation_log').select(['action', 'reason', 'details']).where('action', '=', 'member.spammer').executeTakeFirstOrThrow()
  t.equal(log.reason, 'Replica watches')
  t.match(log.details, { posts: 2 })

  // Their texts are known spam now: a new account posting a near-copy does not get through.
  const copycat = await persona(app, db, { stem: 'copycat', trustLevel: 0 })
  const copy = await copycat.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: PITCH.replace('best', 'finest') })
  t.not(copy.statusCode, 201, 'a near-copy is not published')
  t.match(copy.statusCode, /^(202|400)$/)
})
