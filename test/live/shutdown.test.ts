import { randomBytes } from 'node:crypto'
import t from 'tap'
import { REDIS_URL } from '../helpers/app.js'
import { createTestDatabase } from '../helpers/db.js'
import { LiveClient } from '../helpers/live.js'
import { freePort, spawnEntry } from '../helpers/process.js'

t.test('the web process shuts down on SIGTERM with sockets open, telling them it is going away', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const port = await freePort()
  const web = spawnEntry('src/main.ts', {
    PORT: String(port),
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: `hearth_test_${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'info',
  })
  t.teardown(() => {
    if (web.child.exitCode === null) web.child.kill('SIGKILL')
  })
  await web.waitFor(/Hearth is ready/, 60_000)
  const base = `http://127.0.0.1:${port}`
  const clients = await Promise.all(Array.from({ length: 20 }, () => LiveClient.connect(base)))
  for (const client of clients) t.match(await client.subscribe('home'), { type: 'subscribed' })

  web.child.kill('SIGTERM')
  const codes = await Promise.all(clients.map((c) => c.whenClosed(10_000).then((closed) => closed.code)))
  t.same(new Set(codes), new Set([1001]), 'every socket is closed with 1001 "going away"')
  t.equal(await web.exited, 0, 'the process exits cleanly, before the forced exit')
  t.notMatch(web.output(), /shutdown took too long/)
})
