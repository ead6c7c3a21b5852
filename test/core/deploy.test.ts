import { execFileSync, spawnSync } from 'node:child_process'
import t from 'tap'
import { ROOT } from '../helpers/process.js'

const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0

t.test('docker-compose.yml parses and wires every service', { skip: hasCompose ? false : 'docker-compose is not installed (.ci/run installs it)' }, async (t) => {
  const env = { ...process.env, POSTGRES_PASSWORD: 'pw', SECRET_KEY: 'k'.repeat(40) }
  const out = execFileSync('docker-compose', ['config'], { cwd: ROOT, env, encoding: 'utf8' })
  for (const service of ['postgres', 'redis', 'web', 'worker', 'mailpit']) {
    t.match(out, new RegExp(`^  ${service}:$`, 'm'), `${service} is defined`)
  }
  t.match(out, /DATABASE_URL: postgres:\/\/hearth:pw@postgres:5432\/hearth/)
  t.match(out, /condition: service_healthy/)
  t.match(out, /command:\n\s+- node\n\s+- dist\/src\/worker.js/, 'the worker runs the worker entrypoint')

  const missing = spawnSync('docker-compose', ['config', '-q'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
    encoding: 'utf8',
  })
  t.not(missing.status, 0, 'secrets are required, never defaulted')
  t.match(missing.stderr, /set POSTGRES_PASSWORD|set SECRET_KEY/)
})
