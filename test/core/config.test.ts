import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { spawnEntry } from '../helpers/process.js'

t.test('defaults give a working local configuration', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, 3000)
  t.equal(config.baseUrl, 'http://127.0.0.1:3000')
  t.equal(config.databaseUrl, null, 'no DATABASE_URL means embedded PostgreSQL')
  t.equal(config.redisUrl, null)
  t.equal(config.cookieSecure, false)
  t.equal(config.migrateOnStart, true)
})

t.test('https base URL makes cookies Secure', async (t) => {
  const config = loadConfig({ BASE_URL: 'https://forum.example.com/' })
  t.equal(config.baseUrl, 'https://forum.example.com')
  t.equal(config.cookieSecure, true)
  t.equal(loadConfig({ BASE_URL: 'https://forum.example.com', COOKIE_SECURE: 'false' }).cookieSecure, false)
})

t.test('every bad variable is named on its own line', async (t) => {
  try {
    loadConfig({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://db/x',
      REDIS_URL: 'not a url',
      LOG_LEVEL: 'loud',
      SMTP_URL: 'http://mail',
      MIGRATE_ON_START: 'maybe',
      SECRET_KEY: 'short',
    })
    t.fail('should have thrown')
  } catch (err) {
    t.type(err, ConfigError)
    const problems = (err as ConfigError).problems
    t.equal(problems.length, 7, problems.join('\n'))
    for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'LOG_LEVEL', 'SMTP_URL', 'MIGRATE_ON_START', 'SECRET_KEY']) {
      t.ok(problems.some((p) => p.startsWith(`${name}: `)), `${name} is named`)
    }
    t.ok(problems.some((p) => p.includes('"mysql://db/x"')), 'the bad value is shown')
  }
})

t.test('the web process refuses a bad environment with one line per variable and no stack trace', async (t) => {
  const proc = spawnEntry('src/main.ts', { PORT: '-1', SMTP_URL: 'nonsense' })
  const code = await proc.exited
  t.equal(code, 1)
  const out = proc.output()
  t.match(out, /^Invalid configuration:$/m)
  t.match(out, /^ {2}PORT: /m)
  t.match(out, /^ {2}SMTP_URL: /m)
  t.notMatch(out, /\n\s+at /, 'no stack trace')
})
