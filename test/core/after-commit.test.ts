import { type KyselyPlugin, sql } from 'kysely'
import t from 'tap'
import { afterCommit } from '../../src/core/db.js'
import { createTestDatabase } from '../helpers/db.js'

// What the outbox wakes its relays with: a function that runs once a write can be seen.
t.test('afterCommit runs after the commit, once, and never after a rollback', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const { db } = database
  await sql`create table marks (n int not null)`.execute(db)
  const count = async () => Number((await sql<{ n: number }>`select count(*)::int as n from marks`.execute(db)).rows[0]!.n)

  // Outside a transaction the statement has committed already: at once.
  const ran: string[] = []
  await sql`insert into marks values (1)`.execute(db)
  afterCommit(db, () => ran.push('plain'))
  t.same(ran, ['plain'], 'a statement outside a transaction: at once')

  // Inside one: only after the commit, when another connection can see the row; the same function once.
  const seenAtRun: number[] = []
  const hook = () => {
    ran.push('committed')
    void count().then((n) => seenAtRun.push(n))
  }
  await db.transaction().execute(async (trx) => {
    await sql`insert into marks values (2)`.execute(trx)
    afterCommit(trx, hook)
    afterCommit(trx, hook)
    await sql`insert into marks values (3)`.execute(trx)
    t.same(ran, ['plain'], 'not while the transaction is open')
  })
  t.same(ran, ['plain', 'committed'], 'once, after the commit')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(seenAtRun, [3], 'by then every row of the transaction is visible')

  // A rollback runs nothing.
  await db
    .transaction()
    .execute(async (trx) => {
      await sql`insert into marks values (4)`.execute(trx)
      afterCommit(trx, () => ran.push('rolled back'))
      throw new Error('no')
    })
    .catch(() => {})
  t.same(ran, ['plain', 'committed'], 'a rolled-back transaction runs nothing')
  t.equal(await count(), 3)

  // A transaction with an isolation level keeps its hooks.
  await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      await sql`insert into marks values (5)`.execute(trx)
      afterCommit(trx, () => ran.push('repeatable read'))
      t.same(ran, ['plain', 'committed'], 'still waiting for the commit')
    })
  t.same(ran, ['plain', 'committed', 'repeatable read'])

  // Through plugins (a test's query counter): the same.
  const noop: KyselyPlugin = { transformQuery: (args) => args.node, transformResult: async (args) => args.result }
  await db
    .withPlugin(noop)
    .withPlugin(noop)
    .transaction()
    .execute(async (trx) => {
      await sql`insert into marks values (6)`.execute(trx)
      afterCommit(trx, () => ran.push('with plugins'))
      t.same(ran, ['plain', 'committed', 'repeatable read'], 'with plugins too: still waiting for the commit')
    })
  t.same(ran, ['plain', 'committed', 'repeatable read', 'with plugins'])
})
