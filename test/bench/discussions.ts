/**
 * Discussions benchmark: `npm run bench:discussions`.
 * Seeds 2,000 threads and 100,000 posts (plus a thread with 200 nested posts, one with
 * 1,000, and 15,000 archived threads so "page 500" of a category exists), starts the web
 * process on loopback, and measures with autocannon at 50 connections: the 200-post thread
 * page, a category page, page 500 of a category, and search, with each page's size and the web
 * process's CPU per request. Also prints the SQL queries a thread page costs at both sizes.
 * The guest cache is on (10 s) as in production, so most requests are cache hits;
 * GUEST_CACHE_SECONDS=0 renders every page.
 */
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import { buildApp } from '../../src/app.js'
import { createDb } from '../../src/core/db.js'
import { migrateToLatest } from '../../src/core/migrate.js'
import { seed } from '../../src/seed.js'
import { testConfig } from '../helpers/app.js'
import { freshDatabase } from '../helpers/db.js'
import { freePort, spawnEntry } from '../helpers/process.js'
import { QueryCounter } from '../helpers/query-counter.js'

const DB_NAME = 'hearth_bench_discussions'
const DURATION = Number(process.env.BENCH_SECONDS ?? 10)

/** CPU seconds the web process used so far (user + system), from /proc: steadier than rates on a busy machine. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const databaseUrl = await freshDatabase(DB_NAME)
const db = createDb(databaseUrl, 10)
await migrateToLatest(db)

let t0 = performance.now()
const seeded = await seed(db, { users: 2_000, threads: 2_000, posts: 100_000, progress: false, randomSeed: 42 })
console.log(`seeded ${seeded.users} members, ${seeded.threads} threads, ${seeded.posts} posts in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

// Two big threads built through the real service, as members would.
const counter = new QueryCounter()
const app = await buildApp(testConfig({ LOG_LEVEL: 'silent' }), { db: db.withPlugin(counter) })
const staff = await db.selectFrom('users').selectAll().orderBy('id').limit(1).executeTakeFirstOrThrow()
await db.updateTable('users').set({ role: 'admin' }).where('id', '=', staff.id).execute()
const viewer = await app.hearth.categories.viewer({ ...staff, role: 'admin' })
const general = seeded.categoryIds[0]!
async function buildThread(title: string, branches: number, perBranch: number) {
  const thread = await app.hearth.discussions.createThread(viewer, { categoryId: general, title, body: 'A long discussion.' })
  if (thread.held !== null) throw new Error('a staff thread was held')
  for (let b = 0; b < branches; b++) {
    let parent = (await app.hearth.discussions.reply(viewer, thread.id, { body: `Branch ${b}: what do you think?` })).id!
    const branch = [parent]
    for (let i = 1; i < perBranch; i++) {
      // Alternate between going deeper and answering an earlier reply in the branch.
      const target = i % 3 === 0 ? branch[Math.floor(branch.length / 2)]! : parent
      parent = (await app.hearth.discussions.reply(viewer, thread.id, { body: `Reply ${i} in branch ${b}, **nested**.`, parentId: target })).id!
      branch.push(parent)
    }
  }
  return thread
}
t0 = performance.now()
const thread200 = await buildThread('Two hundred nested posts', 20, 10)
const thread1000 = await buildThread('One thousand nested posts', 20, 50)
console.log(`built the 200- and 1,000-post threads in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

const archive = await db.insertInto('categories').values({ name: 'Archive', slug: 'archive', position: 99 }).returning('id').executeTakeFirstOrThrow()
await sql`
  insert into threads (category_id, author_id, title, slug, last_post_at, created_at, reply_count)
  select ${archive.id}, ${staff.id}, 'Archived thread ' || g, 'archived-thread-' || g, now() - g * interval '1 minute', now() - g * interval '1 minute', 0
  from generate_series(1, 15000) g`.execute(db)
await sql`analyze`.execute(db)
const page500 = await db
  .selectFrom('threads')
  .select(['pinned', 'last_post_at', 'id'])
  .where('category_id', '=', archive.id)
  .where('deleted_at', 'is', null)
  .orderBy('pinned', 'desc')
  .orderBy('last_post_at', 'desc')
  .orderBy('id', 'desc')
  .offset(499 * 30 - 1)
  .limit(1)
  .executeTakeFirstOrThrow()
const cursor500 = Buffer.from(JSON.stringify([page500.pinned, page500.last_post_at.toISOString(), page500.id])).toString('base64url')

const guest = { user: null, moderates: new Set<number>() }
// Statements sent (round trips), after a first page has built the thread page's statement once.
await app.hearth.discussions.threadPage(guest, thread200.id)
counter.roundTrips = 0
await app.hearth.discussions.threadPage(guest, thread200.id)
const queries200 = counter.roundTrips
counter.roundTrips = 0
await app.hearth.discussions.threadPage(guest, thread1000.id)
const queries1000 = counter.roundTrips
await app.close()

const port = await freePort()
const web = spawnEntry('src/main.ts', {
  DATABASE_URL: databaseUrl,
  PORT: String(port),
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  MIGRATE_ON_START: 'false',
  DATABASE_POOL_SIZE: '20',
  // GUEST_CACHE_SECONDS=0 measures every page rendered (the default 10 s measures cache hits).
  ...(process.env.GUEST_CACHE_SECONDS ? { GUEST_CACHE_SECONDS: process.env.GUEST_CACHE_SECONDS } : {}),
})
const base = `http://127.0.0.1:${port}`
for (let i = 0; ; i++) {
  if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break
  if (i > 300) throw new Error(`the web process did not start:\n${web.output()}`)
  await new Promise((r) => setTimeout(r, 200))
}

const targets: [string, string][] = [
  ['thread page, 200 nested posts', `/t/${thread200.id}`],
  ['thread page, 1,000 nested posts', `/t/${thread1000.id}`],
  ['category page 1', '/c/general'],
  ['category page 500 (archive)', `/c/archive?cursor=${cursor500}`],
  ['search "dark mode"', '/search?q=dark+mode'],
]
console.log(`\nautocannon, 50 connections, ${DURATION} s each, guest requests, guest cache ${process.env.GUEST_CACHE_SECONDS === '0' ? 'off' : 'on'} (Node ${process.version}, 2 cores)`)
console.log(`${'page'.padEnd(34)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'non-2xx'.padStart(9)}${'bytes'.padStart(10)}${'node ms'.padStart(9)}`)
for (const [name, path] of targets) {
  const check = await fetch(base + path)
  if (check.status !== 200) throw new Error(`${path} answered ${check.status}`)
  const bytes = (await check.arrayBuffer()).byteLength
  await autocannon({ url: base + path, connections: 10, duration: 2 })
  const cpu0 = cpuSeconds(web.child.pid!)
  const r = await autocannon({ url: base + path, connections: 50, duration: DURATION })
  const nodeMs = ((cpuSeconds(web.child.pid!) - cpu0) * 1000) / Math.max(1, r.requests.total)
  console.log(`${name.padEnd(34)}${r.requests.average.toFixed(0).padStart(9)}${String(r.latency.p50).padStart(9)}${String(r.latency.p99).padStart(9)}${String(r.non2xx).padStart(9)}${String(bytes).padStart(10)}${nodeMs.toFixed(2).padStart(9)}`)
}
console.log(`\nSQL statements for one thread page (service, round trips): ${queries200} with 200 posts, ${queries1000} with 1,000 posts`)
web.child.kill('SIGTERM')
await web.exited
await db.destroy()
