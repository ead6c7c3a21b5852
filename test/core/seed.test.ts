import { sql } from 'kysely'
import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { createTestDatabase } from '../helpers/db.js'
import { PASSWORD } from '../helpers/personas.js'
import { spawnEntry } from '../helpers/process.js'

t.test('npm run seed: a lived-in demo community, its admin printed, later sign-ups are members; --reset starts over', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const { db } = database
  const env = { DATABASE_URL: database.url, LOG_LEVEL: 'warn' }
  const seeded = spawnEntry('src/cli.ts', env, ['seed', '--users', '30', '--threads', '12'])
  t.equal(await seeded.exited, 0, seeded.output())
  const out = seeded.output()
  t.match(out, /seed: members 30\/30/, 'plain progress lines when not in a terminal')
  const credentials = /admin: log in as (\S+) \((\S+)\) with the password (\S+)/.exec(out)
  t.ok(credentials, 'the admin credentials are printed')
  const [, adminName, , adminPassword] = credentials!

  const count = async (table: 'users' | 'categories' | 'threads' | 'posts' | 'post_likes' | 'ideas' | 'idea_votes' | 'beta_signups' | 'flags' | 'category_moderators') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n)
  for (const table of ['categories', 'threads', 'posts', 'post_likes', 'ideas', 'idea_votes', 'beta_signups', 'flags', 'category_moderators'] as const) {
    t.ok((await count(table)) > 0, `${table}: some`)
  }
  t.equal(await count('users'), 31, 'thirty members and the admin')
  const described = await db.selectFrom('categories').select(['description', 'color']).where('slug', '!=', 'idea-discussions').execute()
  t.ok(described.length >= 5 && described.every((c) => c.description.length > 10 && c.color), 'categories have descriptions and colours')
  const statuses = (await db.selectFrom('ideas').select('status').distinct().execute()).map((r) => r.status).sort()
  t.same(statuses, ['declined', 'done', 'in_progress', 'open', 'planned', 'under_review'], 'ideas in every status')
  const beta = (await db.selectFrom('beta_signups').select('status').distinct().execute()).map((r) => r.status).sort()
  t.same(beta, ['accepted', 'waitlisted'], 'a beta with a waitlist')
  t.ok(Number((await db.selectFrom('flags').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow()).n) > 0, 'flags wait in the queue')
  const replyCounts = await db.selectFrom('threads').select('reply_count').distinct().execute()
  t.ok(replyCounts.length >= 4, `threads have varied reply counts (${replyCounts.map((r) => r.reply_count).join(', ')})`)
  t.ok(Number((await db.selectFrom('posts').select((eb) => eb.fn.max<number>('depth').as('d')).executeTakeFirstOrThrow()).d) >= 2, 'replies nest')
  const joined = await db.selectFrom('users').select(sql<number>`count(distinct date_trunc('month', created_at))`.as('months')).executeTakeFirstOrThrow()
  t.ok(Number(joined.months) >= 3, 'members joined over several months')
  const titles = await db.selectFrom('threads').select('title').execute()
  t.notOk(titles.some((r) => /\b(the|a) (the|a)\b|How do I the\b/i.test(r.title)), 'titles read naturally')
  t.equal(await db.selectFrom('outbox').select('id').executeTakeFirst(), undefined, 'nobody is mailed or pinged about seeded history')

  // What the README promises: the seed's admin logs in; anyone who signs up afterwards is a member.
  const { app } = await build(t, { database })
  const owner = new Client(app)
  t.equal((await owner.api('POST', '/api/v1/auth/login', { login: adminName, password: adminPassword })).statusCode, 200, 'the printed credentials work')
  t.equal((await owner.api('GET', '/api/v1/me')).data.user.role, 'admin')
  const newcomer = new Client(app)
  const signup = await newcomer.api('POST', '/api/v1/auth/signup', { username: 'newcomer', email: 'newcomer@example.test', password: PASSWORD })
  t.equal(signup.statusCode, 201)
  t.equal((await newcomer.api('GET', '/api/v1/me')).data.user.role, 'member', 'the first sign-up after seeding is a member')

  const again = spawnEntry('src/cli.ts', env, ['seed', '--users', '2', '--threads', '1', '--reset'])
  t.equal(await again.exited, 0, again.output())
  t.match(again.output(), /reset: every member/)
  t.equal(await count('users'), 3, 'reset, then two members and a new admin')
  t.equal(Number((await db.selectFrom('categories').select((eb) => eb.fn.countAll<string>().as('n')).where('slug', '=', 'idea-discussions').executeTakeFirstOrThrow()).n), 1, 'the idea discussions category survives a reset')
})
