/**
 * Digest throughput: `npm run bench:digest`.
 * Seeds BENCH_MEMBERS (100,000) due members on a fresh database, each with something to
 * read, starts BENCH_WORKERS (2) real worker processes against a local SMTP sink
 * (smtp-server, not parsing), runs the scheduled fan-out and reports mails per second and
 * each process's RSS over time. Loopback only; stops after BENCH_SECONDS (600) at most.
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { sql } from 'kysely'
import { JobQueue } from '../../src/core/queue.js'
import { createRedis } from '../../src/core/redis.js'
import { REDIS_URL, testConfig } from '../helpers/app.js'
import { createTestDatabase } from '../helpers/db.js'
import { ROOT, spawnEntry, type Spawned } from '../helpers/process.js'
import { startSmtp } from '../helpers/smtp.js'

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 100_000)
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2)
const CONCURRENCY = process.env.BENCH_CONCURRENCY ?? '16'
const LIMIT_S = Number(process.env.BENCH_SECONDS ?? 600)
const INSERT_BATCH = 5_000

/** CPU seconds (user + system) a process has used, from /proc. */
async function cpuSeconds(pid: number): Promise<number> {
  try {
    const fields = (await fs.readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

async function rssMb(pid: number): Promise<number> {
  try {
    const status = await fs.readFile(`/proc/${pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  } catch {
    return 0
  }
}

const teardowns: (() => unknown)[] = []
const t = { teardown: (fn: () => unknown) => void teardowns.unshift(fn) }
const workers: Spawned[] = []
let stopping = false
// Ctrl-C ends the run early but still prints the figures and cleans up.
process.once('SIGINT', () => {
  stopping = true
})

try {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const db = database.db

  let started = performance.now()
  for (let from = 0; from < MEMBERS; from += INSERT_BATCH) {
    const n = Math.min(INSERT_BATCH, MEMBERS - from)
    const users = await db
      .insertInto('users')
      .values(
        Array.from({ length: n }, (_, i) => ({
          username: `bench${from + i}`,
          email: `bench${from + i}@bench.test`,
          password_hash: 'x',
          email_verified_at: sql<Date>`now()` as unknown as Date,
        })),
      )
      .returning('id')
      .execute()
    await db
      .insertInto('notifications')
      .values(users.map((u) => ({ user_id: u.id, kind: 'moderation', payload: JSON.stringify({ text: `Something new for member ${u.id}` }), url: '/' })))
      .execute()
  }
  await sql`analyze`.execute(db)
  console.log(`seeded ${MEMBERS.toLocaleString('en')} due members in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const smtp = await startSmtp(t, { capture: false })
  const config = testConfig({ REDIS_URL })
  const redis = createRedis(REDIS_URL)
  const queue = new JobQueue(redis, config.redisPrefix)
  t.teardown(async () => {
    await queue.close()
    const keys = await redis.keys(`${config.redisPrefix}*`)
    for (let i = 0; i < keys.length; i += 1_000) await redis.del(...keys.slice(i, i + 1_000))
    redis.disconnect()
  })

  const env = {
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: String(Number(CONCURRENCY) + 4),
    REDIS_URL,
    REDIS_PREFIX: config.redisPrefix,
    SMTP_URL: smtp.url,
    MAIL_RATE_LIMIT: process.env.BENCH_RATE_LIMIT ?? '100000',
    MAIL_CONCURRENCY: CONCURRENCY,
    LOG_LEVEL: 'warn',
    SECRET_KEY: 'b'.repeat(40),
    NODE_ENV: 'production',
  }
  const preload = ['--import', pathToFileURL(path.join(ROOT, 'test/email/digest-section.ts')).href]
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []
  for (let i = 0; i < WORKERS; i++) {
    const w = spawnEntry('src/worker.ts', { ...env, LOG_LEVEL: 'info' }, [], [...preload, ...profile])
    t.teardown(async () => {
      w.child.kill(process.env.BENCH_PROFILE ? 'SIGTERM' : 'SIGKILL')
      await w.exited
    })
    workers.push(w)
  }
  await Promise.all(workers.map((w) => w.waitFor(/worker ready/)))
  console.log(`${WORKERS} worker process(es), MAIL_CONCURRENCY=${CONCURRENCY}, MAIL_RATE_LIMIT=${env.MAIL_RATE_LIMIT}, SMTP sink on loopback`)

  const loadBefore = os.loadavg()[0]!
  const cpuBefore = await Promise.all(workers.map((w) => cpuSeconds(w.child.pid!)))
  started = performance.now()
  const fanOut = await queue.queue.add('digest.enqueue', {})
  let fanOutMs = 0
  let last = { at: started, sent: 0 }
  const rates: number[] = []
  const rss: number[][] = workers.map(() => [])
  console.log('   time    sent     mails/s (interval)   worker RSS MiB')
  while (!stopping && smtp.accepted < MEMBERS && performance.now() - started < LIMIT_S * 1000) {
    await new Promise((r) => setTimeout(r, 5_000))
    if (!fanOutMs && (await fanOut.isCompleted())) fanOutMs = (await queue.queue.getJob(fanOut.id!))!.finishedOn! - fanOut.timestamp
    const now = performance.now()
    const sent = smtp.accepted
    const rate = ((sent - last.sent) * 1000) / (now - last.at)
    rates.push(rate)
    const mem = await Promise.all(workers.map((w) => rssMb(w.child.pid!)))
    mem.forEach((m, i) => rss[i]!.push(m))
    console.log(
      `${((now - started) / 1000).toFixed(0).padStart(6)} s ${String(sent).padStart(7)}   ${rate.toFixed(0).padStart(8)}             ${mem.map((m) => m.toFixed(0)).join(' / ')}`,
    )
    last = { at: now, sent }
  }
  const elapsed = (performance.now() - started) / 1000
  const cpuAfter = await Promise.all(workers.map((w) => cpuSeconds(w.child.pid!)))
  const workerCpu = cpuAfter.reduce((a, b) => a + b, 0) - cpuBefore.reduce((a, b) => a + b, 0)
  const logged = await db.selectFrom('email_log').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'sent').executeTakeFirstOrThrow()
  const steady = rates.slice(1, -1)
  console.log('')
  console.log(`fan-out: ${MEMBERS.toLocaleString('en')} digest jobs enqueued with addBulk in ${(fanOutMs / 1000).toFixed(1)} s`)
  console.log(`sent ${smtp.accepted.toLocaleString('en')} digests in ${elapsed.toFixed(1)} s: ${(smtp.accepted / elapsed).toFixed(0)} mails/s overall` +
    (steady.length ? `, ${Math.min(...steady).toFixed(0)}–${Math.max(...steady).toFixed(0)} mails/s per interval after the first` : ''))
  console.log(`email_log rows marked sent: ${Number(logged.n).toLocaleString('en')}`)
  console.log(
    `worker CPU: ${((workerCpu * 1000) / Math.max(1, smtp.accepted)).toFixed(2)} ms per mail (${(smtp.accepted / Math.max(0.001, workerCpu)).toFixed(0)} mails per worker-CPU-second); ` +
      `machine load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after, on ${os.cpus().length} cores`,
  )
  rss.forEach((r, i) => r.length && console.log(`worker ${i + 1} RSS: start ${r[0]!.toFixed(0)} MiB, min ${Math.min(...r).toFixed(0)}, max ${Math.max(...r).toFixed(0)}, end ${r[r.length - 1]!.toFixed(0)} MiB`))
} finally {
  for (const fn of teardowns) {
    try {
      await fn()
    } catch (err) {
      console.error('cleanup failed:', err)
    }
  }
  for (const w of workers) await w.exited
}
