import t from 'tap'
import { createTestDatabase } from '../helpers/db.js'
import { spawnEntry } from '../helpers/process.js'
import { PASSWORD } from '../helpers/personas.js'
import { REDIS_URL } from '../helpers/app.js'
import { createRedis } from '../../src/core/redis.js'

t.test('owner commands: migrate, admin:create, seed', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const env = { DATABASE_URL: database.url, LOG_LEVEL: 'warn' }

  const migrate = spawnEntry('src/cli.ts', env, ['migrate'])
  t.equal(await migrate.exited, 0)
  t.match(migrate.output(), /database is up to date/, 'the cloned database is already migrated')

  const weak = spawnEntry('src/cli.ts', env, ['admin:create', '--username', 'owner', '--email', 'owner@example.test', '--password', 'short'])
  t.equal(await weak.exited, 1)
  t.match(weak.output(), /password: Passwords are at least 10 characters/, 'bad input is named, no stack trace')
  t.notMatch(weak.output(), /\n\s+at /)

  const created = spawnEntry('src/cli.ts', env, ['admin:create', '--username', 'owner', '--email', 'owner@example.test', '--password', PASSWORD])
  t.equal(await created.exited, 0, created.output())
  const owner = await database.db.selectFrom('users').select(['role']).where('username', '=', 'owner').executeTakeFirstOrThrow()
  t.equal(owner.role, 'admin')

  const seeded = spawnEntry('src/cli.ts', env, ['seed', '--users', '30', '--threads', '10', '--posts', '60'])
  t.equal(await seeded.exited, 0, seeded.output())
  const counts = await database.db
    .selectNoFrom((eb) => [
      eb.selectFrom('users').select(eb.fn.countAll<number>().as('n')).as('users'),
      eb.selectFrom('threads').select(eb.fn.countAll<number>().as('n')).as('threads'),
      eb.selectFrom('posts').select(eb.fn.countAll<number>().as('n')).as('posts'),
    ])
    .executeTakeFirstOrThrow()
  t.same([Number(counts.users), Number(counts.threads), Number(counts.posts)], [31, 10, 60])
  const sums = await database.db.selectFrom('threads').select((eb) => eb.fn.sum<number>('reply_count').as('replies')).executeTakeFirstOrThrow()
  t.equal(Number(sums.replies), 50, 'reply counts match the seeded replies')

  const promoted = spawnEntry('src/cli.ts', env, ['admin:create', '--username', 'ada_baker16'])
  await promoted.exited
  t.match(promoted.output(), /is now an admin|no member named/)

  const usage = spawnEntry('src/cli.ts', env, ['frobnicate'])
  t.equal(await usage.exited, 2)
  t.match(usage.output(), /usage:/)
})

t.test('npm run worker: starts against Redis, declares the purge schedule, stops on SIGTERM', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const prefix = `hearth_test_worker_${process.pid}`
  const worker = spawnEntry('src/worker.ts', { DATABASE_URL: database.url, REDIS_URL, REDIS_PREFIX: prefix, LOG_LEVEL: 'info' })
  t.teardown(() => worker.child.kill('SIGKILL'))
  await worker.waitFor(/worker ready/, 30_000)
  const redis = createRedis(REDIS_URL)
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length) await redis.del(...keys)
    redis.disconnect()
  })
  const schedulers = await redis.zrange(`${prefix}:hearth:repeat`, 0, -1)
  t.ok(schedulers.includes('sessions.purge'), 'the purge job scheduler is in Redis')
  worker.child.kill('SIGTERM')
  t.equal(await worker.exited, 0)

  const noRedis = spawnEntry('src/worker.ts', { DATABASE_URL: database.url })
  t.equal(await noRedis.exited, 1)
  t.match(noRedis.output(), /the worker needs REDIS_URL/)
})
