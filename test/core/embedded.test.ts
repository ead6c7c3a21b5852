import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { freePort, spawnEntry } from '../helpers/process.js'
import { PASSWORD } from '../helpers/personas.js'

t.test('with no DATABASE_URL Hearth runs every migration on embedded PostgreSQL and serves pages', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hearth-embedded-'))
  t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  const web = spawnEntry('src/main.ts', { PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' })
  t.teardown(() => web.child.kill('SIGKILL'))
  await web.waitFor(/Hearth is ready/, 90_000)
  t.match(web.output(), /using embedded PostgreSQL \(PGlite\)/)
  const applied = /"applied":\[([^\]]*)\]/.exec(web.output())?.[1] ?? ''
  const files = (await fs.readdir(path.resolve('migrations'))).filter((f) => /^\d{4}_.+\.ts$/.test(f))
  t.equal(applied.split(',').length, files.length, 'every migration applied')
  t.match(web.output(), /jobs run in-process: no Redis configured/, 'says which background work runs and which is off')

  const base = `http://127.0.0.1:${port}`
  const home = await fetch(`${base}/`)
  t.equal(home.status, 200)
  t.match(await home.text(), /<h2>Categories<\/h2>/)

  const signup = await fetch(`${base}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'embedded', email: 'e@example.test', password: PASSWORD }),
  })
  t.equal(signup.status, 201)
  const cookie = signup.headers.get('set-cookie')!.split(';')[0]!
  const profile = await fetch(`${base}/u/embedded`, { headers: { cookie } })
  t.equal(profile.status, 200)
  t.match(await profile.text(), /Trust level 0/)
  // The ideas feature's full-text search and vote statement run on PGlite too.
  const json = { cookie, 'content-type': 'application/json' }
  const idea = await fetch(`${base}/api/v1/ideas`, { method: 'POST', headers: json, body: JSON.stringify({ title: 'Embedded idea', body: 'Works without a server.' }) })
  t.equal(idea.status, 201)
  const { id } = (await idea.json()) as { id: number }
  const vote = await fetch(`${base}/api/v1/ideas/${id}/vote`, { method: 'PUT', headers: { cookie } })
  t.same(await vote.json(), { ideaId: id, votes: 1, voted: true })
  const similar = await fetch(`${base}/api/v1/ideas/similar?q=${encodeURIComponent('server ideas')}`)
  t.equal(((await similar.json()) as { items: { id: number }[] }).items[0]?.id, id)
  const ready = await fetch(`${base}/readyz`)
  t.same(await ready.json(), { status: 'ready', checks: { database: 'ok', redis: 'off' } })

  web.child.kill('SIGTERM')
  t.equal(await web.exited, 0, 'SIGTERM shuts down cleanly')
  t.match(web.output(), /shutting down/)
})
