import t from 'tap'
import { buildApp } from '../../src/app.js'
import { createDb } from '../../src/core/db.js'
import { build, testConfig } from '../helpers/app.js'

t.test('healthz and readyz with PostgreSQL and Redis up', async (t) => {
  const { app } = await build(t, { redis: true })
  const live = await app.inject({ url: '/healthz' })
  t.same(live.json(), { status: 'ok' })
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', checks: { database: 'ok', redis: 'ok' } })
})

t.test('readyz says 503 when the database is unreachable', async (t) => {
  const db = createDb('postgres://postgres@127.0.0.1:1/nothing', 1)
  const app = await buildApp(testConfig({ SECRET_KEY: 'k'.repeat(40) }), { db })
  t.teardown(async () => {
    await app.close()
    await db.destroy()
  })
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.same(ready.json(), { status: 'not ready', checks: { database: 'down', redis: 'off' } })
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'still alive')
})
