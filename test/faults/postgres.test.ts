import { sql } from 'kysely'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { createDb } from '../../src/core/db.js'
import { migrateToLatest } from '../../src/core/migrate.js'
import { build, testConfig } from '../helpers/app.js'
import { ADMIN_URL, createTestDatabase } from '../helpers/db.js'
import { privatePostgres, terminateConnections, until } from '../helpers/faults.js'
import { forum, type Forum, startThread } from '../helpers/forum.js'

// Faults are injected while several members keep replying; every answer is recorded.
interface Load {
  stop(): Promise<void>
  /** Post ids the server answered 201 for. */
  saved: number[]
  /** Every non-2xx answer: status and body. */
  refused: { status: number; body: string }[]
}

function replyLoad(f: Forum, threadId: number, writers = 4): Load {
  const saved: number[] = []
  const refused: { status: number; body: string }[] = []
  let running = true
  let n = 0
  const loops = [f.member, f.regular, f.admin, f.categoryMod].slice(0, writers).map(async (who) => {
    while (running) {
      const res = await who.client.api('POST', `/api/v1/threads/${threadId}/posts`, { body: `load reply ${n++}` })
      if (res.statusCode === 201) saved.push(res.data.id as number)
      else refused.push({ status: res.statusCode, body: res.body })
    }
  })
  return {
    saved,
    refused,
    async stop() {
      running = false
      await Promise.all(loops)
    },
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test("PostgreSQL connections killed under load: no crash, no lost write, clear errors, recovery unaided", async (t) => {
  const { app, db, database } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  const load = replyLoad(f, thread.id)
  await sleep(300)
  for (let i = 0; i < 3; i++) {
    // Hearth's own pool, the relay's LISTEN connection, everything on this database.
    await terminateConnections(ADMIN_URL, database.name)
    await sleep(300)
  }
  await load.stop()

  const ok = await app.inject({ url: thread.url })
  t.equal(ok.statusCode, 200, 'pages work again without restarting anything')
  const after = await f.member.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'after the kill' })
  t.equal(after.statusCode, 201, 'writes work again')

  t.ok(load.saved.length > 0, `writes went through around the faults (${load.saved.length} saved, ${load.refused.length} refused)`)
  const stored = await db.selectFrom('posts').select('id').where('id', 'in', load.saved).execute()
  t.equal(stored.length, load.saved.length, 'every reply answered 201 is in the database')
  for (const r of load.refused) {
    t.equal(r.status, 503, 'a refused write is a 503, not a 500')
    t.match(JSON.parse(r.body), { error: /database is not answering/ }, 'with a message that says what happened')
  }

  // The outbox relay's LISTEN connection comes back by itself, and events flow again.
  await until(async () => {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = 'hearth-outbox-listener'`.execute(db)
    return rows[0]!.n === 1
  })
  t.pass('the relay listens again')
  await until(async () => {
    const row = await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('delivered_at', 'is', null).executeTakeFirstOrThrow()
    return Number(row.n) === 0
  })
  t.pass('every event written around the faults is delivered')
})

t.test('/readyz answers within its bound while the database hangs', async (t) => {
  const database = await createTestDatabase()
  // Two connections, both stuck: nothing else can reach PostgreSQL through this pool.
  const db = createDb(database.url, 2)
  const app = await buildApp(testConfig(), { db })
  t.teardown(async () => {
    await app.close()
    await db.destroy()
    await database.drop()
  })
  let hungDone = false
  const hung = Promise.all([sql`select pg_sleep(6)`.execute(db), sql`select pg_sleep(6)`.execute(db)]).finally(() => (hungDone = true))
  await sleep(100)
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.same(ready.json(), { status: 'not ready', checks: { database: 'down', redis: 'off' } })
  t.notOk(hungDone, 'it answered while the database was still hung')
  await hung
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'ready again once the database answers')
})

t.test('a statement running past DATABASE_STATEMENT_TIMEOUT_MS is cancelled with a clear 503', async (t) => {
  const database = await createTestDatabase()
  const db = createDb(database.url, 2, { connectMs: 2_000, statementMs: 200 })
  t.teardown(async () => {
    await db.destroy()
    await database.drop()
  })
  const err = await sql`select pg_sleep(5)`.execute(db).catch((e: unknown) => e)
  t.match(err, { code: '57014' }, 'PostgreSQL cancelled it')
  const { isDatabaseUnavailable } = await import('../../src/core/errors.js')
  t.ok(isDatabaseUnavailable(err))
  t.same((await sql<{ one: number }>`select 1 as one`.execute(db)).rows, [{ one: 1 }], 'the connection is usable afterwards')
})

t.test('a private PostgreSQL cluster restarted under load', async (t) => {
  const cluster = await privatePostgres()
  if (typeof cluster === 'string') {
    t.comment(`skipped: cannot run a private cluster here: ${cluster}`)
    t.pass('skipped')
    return
  }
  t.teardown(() => cluster.close())
  const url = cluster.url
  const db = createDb(url, 10)
  await migrateToLatest(db)
  const app = await buildApp(testConfig(), { db, listenUrl: url })
  t.teardown(async () => {
    await app.close()
    await db.destroy()
  })
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  const load = replyLoad(f, thread.id)
  await sleep(300)
  await cluster.restart()
  await sleep(500)
  await load.stop()

  await until(async () => (await app.inject({ url: '/readyz' })).statusCode === 200)
  t.equal((await app.inject({ url: thread.url })).statusCode, 200, 'pages work after the restart')
  const stored = await db.selectFrom('posts').select('id').where('id', 'in', load.saved).execute()
  t.equal(stored.length, load.saved.length, `every reply answered 201 survived the restart (${load.saved.length})`)
  for (const r of load.refused) t.equal(r.status, 503, 'refusals during the restart are 503s')
  await until(async () => {
    const row = await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('delivered_at', 'is', null).executeTakeFirstOrThrow()
    return Number(row.n) === 0
  })
  t.pass('events are delivered after the restart')
})
