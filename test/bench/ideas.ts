/**
 * The idea board under load: `npm run bench:ideas`.
 * Seeds a fresh PostgreSQL database with 10,000 ideas and about 1,000,000 votes, starts
 * the web process on a free loopback port, and measures with autocannon (50 connections):
 * the board page sorted by top and by trending, then the vote endpoint with many distinct
 * members (bearer tokens), each request a new (member, idea) pair. Afterwards it checks
 * that every idea's count equals its stored votes, and that every accepted vote counted.
 *
 * BENCH_DATABASE_URL (or TEST_DATABASE_URL) is an admin connection that may create
 * databases; BENCH_SECONDS sets each board run's length (default 10), BENCH_VOTES the
 * number of vote requests (default 30,000); BENCH_KEEP=1 keeps the database to inspect.
 */
import { randomBytes } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import pg from 'pg'
import { SessionStore } from '../../src/core/auth/sessions.js'
import { createDb, type Db } from '../../src/core/db.js'
import { Outbox } from '../../src/core/outbox.js'
import { migrateToLatest } from '../../src/core/migrate.js'
import { CommunitySettings } from '../../src/core/settings.js'
import { IdeaService } from '../../src/features/ideas/service.js'
import { NotificationService } from '../../src/features/notifications/service.js'
import { CategoryService } from '../../src/features/discussions/categories.js'
import { freePort, spawnEntry } from '../helpers/process.js'

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const IDEAS = 10_000
const SEED_MEMBERS = 20_000
const VOTING_MEMBERS = 2_000
const CONNECTIONS = 50
const VOTES = Number(process.env.BENCH_VOTES ?? 30_000)

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL)
  url.pathname = `/${database}`
  return url.toString()
}

async function admin(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    await client.query(query)
  } finally {
    await client.end()
  }
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now()
  const result = await fn()
  console.log(`  ${label.padEnd(44)} ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return result
}

/** 10,000 ideas and ~1,000,000 votes spread over 60 days, inserted set-wise in SQL. */
async function seed(db: Db): Promise<number> {
  await timed(`${SEED_MEMBERS.toLocaleString('en')} members`, () =>
    sql`insert into users (username, email, password_hash, trust_level)
      select 'seed' || i, 'seed' || i || '@example.test', 'not-a-login', 1 from generate_series(1, ${SEED_MEMBERS}) i`.execute(db),
  )
  const words = ['dark', 'mode', 'export', 'csv', 'mobile', 'offline', 'search', 'filter', 'theme', 'notifications', 'api', 'calendar', 'sync', 'tags', 'editor', 'keyboard', 'shortcuts', 'import', 'pdf', 'sso']
  await timed(`${IDEAS.toLocaleString('en')} ideas`, () =>
    sql`insert into ideas (author_id, title, body_md, body_html, excerpt, tags, created_at)
      select (i % ${SEED_MEMBERS}) + 1,
        'Idea ' || i || ': ' || w[(i % 20) + 1] || ' ' || w[((i / 20) % 20) + 1] || ' ' || w[((i / 400) % 20) + 1],
        'Please add ' || w[(i % 20) + 1] || ' support with ' || w[((i * 7) % 20) + 1] || ' and ' || w[((i * 13) % 20) + 1] || '.',
        '<p>Please add ' || w[(i % 20) + 1] || ' support.</p>',
        'Please add ' || w[(i % 20) + 1] || ' support.',
        array[w[(i % 20) + 1]],
        now() - make_interval(secs => (i * 517) % 5184000)
      from generate_series(1, ${IDEAS}) i, (select ${words}::text[] as w) words`.execute(db),
  )
  // Bulk loading is far faster without the indexes; they are rebuilt from their own definitions.
  const { rows: indexes } = await sql<{ name: string; def: string; pkey: boolean }>`
    select indexname as name, indexdef as def, indexname = 'idea_votes_pkey' as pkey from pg_indexes where tablename = 'idea_votes'`.execute(db)
  for (const index of indexes) {
    await sql.raw(index.pkey ? `alter table idea_votes drop constraint ${index.name}` : `drop index ${index.name}`).execute(db)
  }
  // Idea i gets (i*37 mod 200)+1 votes from distinct members: about 1,005,000 in all.
  await timed('~1,000,000 votes', () =>
    sql`insert into idea_votes (idea_id, user_id, created_at)
      select i, ((i * 7919 + k * 104729) % ${SEED_MEMBERS}) + 1,
        now() - make_interval(secs => (i * 7919 + k * 104729) % 5184000)
      from generate_series(1, ${IDEAS}) i
      cross join lateral generate_series(1, (i * 37 % 200) + 1) k`.execute(db),
  )
  await timed('vote indexes', async () => {
    for (const index of indexes) {
      await sql.raw(index.def).execute(db)
      if (index.pkey) await sql.raw(`alter table idea_votes add constraint ${index.name} primary key using index ${index.name}`).execute(db)
    }
  })
  await timed('vote counts', () =>
    sql`update ideas set vote_count = v.n from (select idea_id, count(*) as n from idea_votes group by idea_id) v where v.idea_id = ideas.id`.execute(db),
  )
  await timed('vacuum analyze', () => sql`vacuum analyze`.execute(db))
  const { rows: recent } = await sql<{ n: number }>`select count(*)::int as n from idea_votes where created_at > now() - interval '7 days'`.execute(db)
  console.log(`  (${recent[0]!.n.toLocaleString('en')} of them in the last 7 days)`)
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from idea_votes`.execute(db)
  return rows[0]!.n
}

async function votingTokens(db: Db): Promise<string[]> {
  const users = await db
    .insertInto('users')
    .values(Array.from({ length: VOTING_MEMBERS }, (_, i) => ({ username: `voter${i}`, email: `voter${i}@example.test`, password_hash: 'not-a-login', trust_level: 1 })))
    .returning('id')
    .execute()
  const store = new SessionStore(db, 30, new Outbox(db))
  const tokens: string[] = []
  for (const user of users) tokens.push((await store.createApiToken(user.id, 'bench')).token)
  return tokens
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (err, result) => (err ? reject(err) : resolve(result)))
  })
}

function report(label: string, r: autocannon.Result): void {
  const bad = r.non2xx + r.errors + r.timeouts
  console.log(
    `${label.padEnd(34)} ${r.requests.average.toFixed(0).padStart(6)} req/s   p50 ${String(r.latency.p50).padStart(4)} ms   p99 ${String(r.latency.p99).padStart(4)} ms   ` +
      `${r.requests.total} requests${bad ? `, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts` : ''}`,
  )
}

const name = `hearth_bench_${randomBytes(4).toString('hex')}`
await admin(`create database ${name}`)
const db = createDb(urlFor(name), 4)
let web: ReturnType<typeof spawnEntry> | undefined
try {
  console.log(`Seeding ${name}:`)
  await migrateToLatest(db)
  const seeded = await seed(db)
  const tokens = await timed(`${VOTING_MEMBERS} voting members with API tokens`, () => votingTokens(db))
  console.log(`  ${seeded.toLocaleString('en')} votes on ${IDEAS.toLocaleString('en')} ideas\n`)

  const port = await freePort()
  web = spawnEntry('src/main.ts', {
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: urlFor(name),
    DATABASE_POOL_SIZE: '20',
    LOG_LEVEL: 'warn',
    SECRET_KEY: randomBytes(32).toString('hex'),
  })
  // LOG_LEVEL=warn hides the ready line: wait for the port to answer instead.
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/healthz`).then((r) => r.ok).catch(() => false)) break
    if (i === 300) throw new Error(`the web process did not start:\n${web.output()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  // Warm up: template compilation, JIT; and time one trending refresh on its own.
  console.log(`machine load before measuring: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min) on ${cpus().length} cores`)
  const refreshStarted = performance.now()
  const scored = await new IdeaService(db, new Outbox(db), new NotificationService(db, new Outbox(db), new CategoryService(db)), { createLinkedThread: async () => { throw new Error('the benchmark proposes no ideas') } }, new CommunitySettings(db)).refreshTrending()
  console.log(`trending refresh: ${scored.toLocaleString('en')} ideas scored in ${((performance.now() - refreshStarted) / 1000).toFixed(2)} s`)
  await run({ url: `${base}/ideas?sort=trending`, connections: 10, duration: 2 })
  await run({ url: `${base}/ideas?sort=top`, connections: 10, duration: 2 })

  // One connection shows each request's own cost, without queueing behind 49 others.
  console.log(`autocannon, 1 connection, ${Math.ceil(SECONDS / 2)} s each:`)
  report('GET /ideas?sort=top', await run({ url: `${base}/ideas?sort=top`, connections: 1, duration: Math.ceil(SECONDS / 2) }))
  report('GET /ideas?sort=trending', await run({ url: `${base}/ideas?sort=trending`, connections: 1, duration: Math.ceil(SECONDS / 2) }))
  console.log(`autocannon, ${CONNECTIONS} connections, ${SECONDS} s each:`)
  report('GET /ideas?sort=top', await run({ url: `${base}/ideas?sort=top`, connections: CONNECTIONS, duration: SECONDS }))
  report('GET /ideas?sort=trending', await run({ url: `${base}/ideas?sort=trending`, connections: CONNECTIONS, duration: SECONDS }))
  report('GET /api/v1/ideas?sort=top', await run({ url: `${base}/api/v1/ideas?sort=top`, connections: CONNECTIONS, duration: SECONDS }))

  // Request n is member n mod 2000 voting for idea ⌊n / 2000⌋-based: never the same pair twice.
  let n = 0
  // A fixed number of requests (not a duration), so every accepted vote has its answer counted.
  const votes = await run({
    url: base,
    connections: CONNECTIONS,
    amount: VOTES,
    timeout: 30,
    requests: [
      {
        method: 'PUT',
        setupRequest: (req) => {
          const i = n++
          const member = i % VOTING_MEMBERS
          const idea = ((Math.floor(i / VOTING_MEMBERS) * 7 + member * 13) % IDEAS) + 1
          return { ...req, path: `/api/v1/ideas/${idea}/vote`, headers: { authorization: `Bearer ${tokens[member]}` } }
        },
      },
    ],
  })
  report('PUT /api/v1/ideas/:id/vote', votes)

  const { rows } = await sql<{ stored: number; counted: number; wrong: number }>`
    select (select count(*)::int from idea_votes) as stored,
      (select sum(vote_count)::int from ideas) as counted,
      (select count(*)::int from ideas i where vote_count <> (select count(*) from idea_votes v where v.idea_id = i.id)) as wrong`.execute(db)
  const totals = rows[0]!
  const accepted = votes['2xx']
  const exact = totals.wrong === 0 && totals.stored === totals.counted && totals.stored === seeded + accepted
  console.log(
    `\nTotals: ${totals.stored.toLocaleString('en')} votes stored, ${totals.counted.toLocaleString('en')} counted, ` +
      `${accepted.toLocaleString('en')} accepted during the run, ${totals.wrong} ideas off → ${exact ? 'EXACT' : 'NOT EXACT'}`,
  )
  if (!exact) process.exitCode = 1
} finally {
  if (web) {
    web.child.kill('SIGTERM')
    await web.exited
  }
  await db.destroy()
  if (process.env.BENCH_KEEP === '1') console.log(`kept database ${name} (BENCH_KEEP=1)`)
  else await admin(`drop database if exists ${name} with (force)`)
}
