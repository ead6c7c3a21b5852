import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import t from 'tap'
import { createDb, defaultDbTimeouts, nameOf, prepared } from '../../src/core/db.js'
import { createTestDatabase } from '../helpers/db.js'

// A statement prepared while its table was nearly empty keeps the plan it got then (a scan of the
// whole table) until the table is analyzed; with autovacuum off, that is never. Pooled connections
// are replaced after a while, and a new one plans from the table's current size.
t.test('a prepared statement planned on an empty table is planned afresh, from the grown table, once its connection is replaced', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  await sql`create table growing (id bigserial primary key, author_id bigint not null, note text not null)`.execute(database.db)
  await sql`create index growing_author_idx on growing (author_id)`.execute(database.db)
  // As on a server with autovacuum off: nothing analyzes the table behind the test's back.
  await sql`alter table growing set (autovacuum_enabled = off)`.execute(database.db)
  await sql`analyze growing`.execute(database.db)

  const db = createDb(database.url, 1, { ...defaultDbTimeouts, lifetimeSeconds: 1 })
  t.teardown(() => db.destroy())
  const query = (author: number) => sql<{ n: number }>`select count(*)::int as n from growing where author_id = ${author}`
  const count = (author: number) => prepared(db, query(author))
  // The statement's name as `prepared` gives it, so EXPLAIN EXECUTE shows the plan that connection holds.
  const name = nameOf(query(0).compile(db).sql)
  const plan = async () => {
    const { rows } = await sql<{ 'QUERY PLAN': string }>`explain execute ${sql.raw(name)}(1)`.execute(db)
    return rows.map((r) => r['QUERY PLAN']).join('\n')
  }
  const pid = async () => (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]!.pid

  // Run past PostgreSQL's five custom plans, so the connection keeps a generic plan: made now, on an empty table.
  for (let i = 0; i < 8; i++) await count(1)
  const firstConnection = await pid()
  t.match(await plan(), /Seq Scan on growing/, 'planned on the empty table: a scan of the whole table')

  await sql`insert into growing (author_id, note) select g % 1000, repeat('x', 40) from generate_series(1, 50000) g`.execute(db)
  t.match(await plan(), /Seq Scan on growing/, 'the table has grown, but the connection keeps its plan')
  t.same(await count(1), [{ n: 50 }])

  await sleep(1_300)
  for (let i = 0; i < 8; i++) t.same(await count(1), [{ n: 50 }])
  t.not(await pid(), firstConnection, 'the connection was replaced when its lifetime ran out')
  const fresh = await plan()
  t.match(fresh, /Index (Only )?Scan|Bitmap Index Scan/, 'the new connection plans from the grown table: through the index')
  t.notMatch(fresh, /Seq Scan/)
})
