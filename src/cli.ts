import { parseArgs } from 'node:util'
import { loadConfigOrExit } from './config.js'
import { openDatabase } from './core/db.js'
import { Invalid } from './core/errors.js'
import { createLogger } from './core/logger.js'
import { migrateToLatest } from './core/migrate.js'
import { resetCommunity, SEED_PASSWORD, seed, seedDemo } from './seed.js'
import { buildServices } from './services.js'

const USAGE = `usage:
  npm run migrate
  npm run seed -- [--users N] [--threads N] [--reset] [--random-seed N]
  npm run seed -- --users N --threads N --posts N     (benchmark data: every thread the same size)
  npm run admin:create -- --username NAME --email EMAIL --password PASSWORD`

/** Commands for owners: migrate, seed demo data, create an admin. */
async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2)
  const config = loadConfigOrExit()
  const log = createLogger(config, 'cli')
  const database = await openDatabase(config, log)
  try {
    switch (command) {
      case 'migrate': {
        const applied = await migrateToLatest(database.db)
        console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date')
        break
      }
      case 'seed': {
        const { values } = parseArgs({
          args: rest,
          options: {
            users: { type: 'string' }, threads: { type: 'string' }, posts: { type: 'string' },
            reset: { type: 'boolean' }, 'random-seed': { type: 'string' },
          },
        })
        await migrateToLatest(database.db)
        const started = performance.now()
        if (values.reset) {
          if (config.env === 'production') throw new Error('--reset deletes every member and post; it refuses to run with NODE_ENV=production')
          await resetCommunity(database.db)
          console.log('reset: every member, thread, idea and log entry deleted (settings kept)')
        }
        const users = count(values.users, 60, 'users')
        const randomSeed = values['random-seed'] === undefined ? undefined : count(values['random-seed'], 0, 'random-seed')
        if (values.posts !== undefined) {
          const result = await seed(database.db, { users, threads: count(values.threads, 0, 'threads'), posts: count(values.posts, 0, 'posts'), randomSeed })
          console.log(`seeded ${result.users} members, ${result.threads} threads, ${result.posts} posts in ${seconds(started)}`)
          break
        }
        const threads = count(values.threads, Math.min(5_000, Math.max(40, Math.round(users / 2))), 'threads')
        const services = await buildServices({ config, db: database.db, log })
        const result = await seedDemo(services, { users, threads, randomSeed })
        console.log(`seeded in ${seconds(started)}: ${Object.entries(result.counts).map(([k, v]) => `${v} ${k}`).join(', ')}`)
        if (result.admin) {
          console.log(`\nadmin: log in as ${result.admin.username} (${result.admin.email}) with the password ${result.admin.password}`)
          console.log('       it is shown only now; change it in /settings. Sign-ups from now on are members.')
        } else {
          console.log('\nadmin: the community already had one; log in with that account')
        }
        console.log(`every seeded member's password is ${SEED_PASSWORD}`)
        break
      }
      case 'admin:create': {
        const { values } = parseArgs({
          args: rest,
          options: { username: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' } },
        })
        await migrateToLatest(database.db)
        // Events it writes (the new member's welcome mail) are delivered by the next web or worker process.
        const { accounts } = await buildServices({ config, db: database.db, log })
        if (values.username && !values.email && !values.password) {
          const promoted = await accounts.promoteToAdmin(values.username)
          if (!promoted) throw new Error(`no member named ${values.username}`)
          console.log(`${promoted.username} is now an admin`)
          break
        }
        const user = await accounts.signUp(values, { role: 'admin' })
        console.log(`created admin ${user.username} <${user.email}>`)
        break
      }
      default:
        console.error(USAGE)
        process.exitCode = 2
    }
  } finally {
    await database.close()
  }
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`
}

function count(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number`)
  return n
}

main().catch((err) => {
  if (err instanceof Invalid) {
    for (const [field, message] of Object.entries(err.fields)) console.error(`${field}: ${message}`)
  } else {
    console.error(err instanceof Error ? err.message : String(err))
  }
  process.exit(1)
})
