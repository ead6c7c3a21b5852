/**
 * Recovery from faults: `npm run bench:faults`.
 * - PostgreSQL connections killed (pg_terminate_backend) under load: time until a write succeeds again.
 * - A private PostgreSQL cluster restarted under load: time from "back up" until a write succeeds,
 *   and the whole outage as writers saw it (skipped when no private cluster can run).
 * - A private redis-server killed under load for BENCH_SECONDS and started again empty: write
 *   latency p50/p99 before and during the outage, and time after the restart until rate limits
 *   count in Redis again, the outbox is drained and the worker's schedules are back.
 * - Peak RSS (VmHWM) of a real web process rendering the largest thread pages to 10 guests at once.
 */
import fs from 'node:fs/promises'
import { buildApp } from '../../src/app.js'
import { createDb, type Db } from '../../src/core/db.js'
import { migrateToLatest } from '../../src/core/migrate.js'
import { allJobs } from '../../src/jobs.js'
import { testConfig } from '../helpers/app.js'
import { ADMIN_URL, createTestDatabase } from '../helpers/db.js'
import { appAndWorkerOn, privatePostgres, privateRedis, terminateConnections, until } from '../helpers/faults.js'
import { forum, type Forum, replyTo, startThread } from '../helpers/forum.js'
import { freePort, spawnEntry } from '../helpers/process.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const ms = (n: number) => `${n.toFixed(0)} ms`

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Writers replying in a loop; each answer's time and status is kept with when it ended. */
function writers(f: Forum, threadId: number, count = 4) {
  const samples: { at: number; ms: number; status: number }[] = []
  let running = true
  const loops = [f.member, f.regular, f.admin, f.categoryMod].slice(0, count).map(async (who, i) => {
    let n = 0
    while (running) {
      const started = performance.now()
      const res = await who.client.api('POST', `/api/v1/threads/${threadId}/posts`, { body: `bench ${i}-${n++}` })
      samples.push({ at: performance.now(), ms: performance.now() - started, status: res.statusCode })
    }
  })
  return {
    samples,
    async stop() {
      running = false
      await Promise.all(loops)
    },
  }
}

/** Waits for the first 2xx write that started after `since`. */
async function firstSuccessAfter(load: ReturnType<typeof writers>, since: number): Promise<number> {
  await until(async () => load.samples.some((s) => s.at - s.ms >= since && s.status < 300), 60_000, 5)
  return Math.min(...load.samples.filter((s) => s.at - s.ms >= since && s.status < 300).map((s) => s.at))
}

async function undelivered(db: Db): Promise<number> {
  const row = await db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('delivered_at', 'is', null).executeTakeFirstOrThrow()
  return Number(row.n)
}

async function postgresKill(): Promise<void> {
  const database = await createTestDatabase()
  const app = await buildApp(testConfig(), { db: database.db, listenUrl: database.url })
  try {
    const f = await forum(app, database.db)
    const thread = await startThread(f.member, f.cats.open.id)
    const load = writers(f, thread.id)
    await sleep(1_000)
    const killedAt = performance.now()
    const killed = await terminateConnections(ADMIN_URL, database.name)
    const back = await firstSuccessAfter(load, killedAt)
    await sleep(500)
    await load.stop()
    const refused = load.samples.filter((s) => s.status >= 300)
    console.log(
      `PostgreSQL connections killed (${killed}): first write after the kill succeeded ${ms(back - killedAt)} later; ` +
        `${refused.length} of ${load.samples.length} writes refused (${[...new Set(refused.map((s) => s.status))].join(', ') || 'none'})`,
    )
  } finally {
    await app.close()
    await database.drop()
  }
}

async function postgresRestart(): Promise<void> {
  const cluster = await privatePostgres()
  if (typeof cluster === 'string') {
    console.log(`PostgreSQL restart: skipped (${cluster})`)
    return
  }
  const db = createDb(cluster.url, 10)
  let app: Awaited<ReturnType<typeof buildApp>> | null = null
  try {
    await migrateToLatest(db)
    app = await buildApp(testConfig(), { db, listenUrl: cluster.url })
    const f = await forum(app, db)
    const thread = await startThread(f.member, f.cats.open.id)
    const load = writers(f, thread.id)
    await sleep(1_000)
    const stopAt = performance.now()
    await cluster.stop()
    const downFor = performance.now() - stopAt
    await sleep(1_000)
    const startAt = performance.now()
    await cluster.start()
    const upAt = performance.now()
    const back = await firstSuccessAfter(load, upAt)
    await sleep(500)
    await load.stop()
    const lastOkBefore = Math.max(...load.samples.filter((s) => s.at <= stopAt + downFor && s.status < 300).map((s) => s.at))
    console.log(
      `PostgreSQL restart (private cluster, stopped ~1 s): first write succeeded ${ms(back - upAt)} after the server was up ` +
        `(start took ${ms(upAt - startAt)}); writers saw no success for ${ms(back - lastOkBefore)}`,
    )
  } finally {
    await app?.close()
    await db.destroy()
    await cluster.close()
  }
}

async function redisOutage(): Promise<void> {
  const server = await privateRedis()
  const stack = await appAndWorkerOn(server.url, { RATE_LIMIT_POST: '100000' })
  const { database, redis, app, worker } = stack
  try {
    const f = await forum(app, database.db)
    const thread = await startThread(f.member, f.cats.open.id)
    const load = writers(f, thread.id)
    await sleep(SECONDS * 1000)
    const stopAt = performance.now()
    await server.stop()
    await sleep(SECONDS * 1000)
    const startAt = performance.now()
    await server.start()
    const redisBack = await until(async () => redis.status === 'ready', 60_000, 5)
    await sleep(500)
    await load.stop()
    const before = load.samples.filter((s) => s.at < stopAt).map((s) => s.ms)
    const during = load.samples.filter((s) => s.at - s.ms > stopAt && s.at < startAt).map((s) => s.ms)
    const failed = load.samples.filter((s) => s.status >= 300).length
    console.log(
      `writes with Redis up:   n=${before.length} p50 ${percentile(before, 50).toFixed(1)} ms  p99 ${percentile(before, 99).toFixed(1)} ms\n` +
        `writes with Redis down: n=${during.length} p50 ${percentile(during, 50).toFixed(1)} ms  p99 ${percentile(during, 99).toFixed(1)} ms  (${failed} writes not 2xx)`,
    )
    const scheduled = allJobs.filter((j) => j.schedule).length
    await until(async () => (await worker.queue.queue.getJobSchedulers()).length === scheduled, 60_000, 20)
    const schedulesAt = performance.now()
    await until(async () => (await undelivered(database.db)) === 0, 120_000, 20)
    const drainedAt = performance.now()
    console.log(
      `Redis restart (down ${SECONDS} s, back empty): rate limits count in Redis again ${ms(redisBack)} after redis-server started; ` +
        `job schedules back within ${ms(schedulesAt - startAt)}; outbox (live, mail) drained within ${ms(drainedAt - startAt)}`,
    )
  } finally {
    await stack.close()
    await server.close()
  }
}

async function largePages(): Promise<void> {
  const database = await createTestDatabase()
  const app = await buildApp(testConfig(), { db: database.db })
  const heavy = `${'| a | b | c | d |\n|---|---|---|---|\n'}${'| x | y | z | w |\n'.repeat(3_500)}`
  const mentions = '@someone '.repeat(7_000)
  const urls: string[] = []
  try {
    const f = await forum(app, database.db)
    for (let t = 0; t < 3; t++) {
      const thread = await startThread(f.member, f.cats.open.id, `Heavy thread ${t}`, mentions)
      for (let i = 0; i < 40; i++) await replyTo(i % 2 ? f.regular : f.admin, thread.id, i % 4 === 0 ? mentions : heavy)
      urls.push(thread.url)
    }
  } finally {
    await app.close()
  }
  const port = await freePort()
  const web = spawnEntry('src/main.ts', {
    PORT: String(port),
    DATABASE_URL: database.url,
    MIGRATE_ON_START: 'false',
    GUEST_CACHE_SECONDS: '0',
    LOG_LEVEL: 'info',
    SECRET_KEY: 'b'.repeat(40),
  })
  try {
    await web.waitFor(/Hearth is ready/, 60_000)
    let bytes = 0
    let pages = 0
    let largest = 0
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          let url: string | null = urls[i % urls.length]!
          while (url) {
            const body = await (await fetch(`http://127.0.0.1:${port}${url}`)).text()
            bytes += body.length
            largest = Math.max(largest, body.length)
            pages++
            const next = /<a href="([^"]+)" rel="next">/.exec(body)
            url = next ? next[1]!.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&') : null
          }
        }),
      )
    }
    const status = await fs.readFile(`/proc/${web.child.pid}/status`, 'utf8')
    const peak = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
    console.log(
      `large pages: 3 threads × 41 posts (maximal tables and 65 KB of mentions), 10 guests × 5 rounds: ${pages} pages, ` +
        `largest ${(largest / 1024).toFixed(0)} KiB, ${(bytes / 1024 / 1024).toFixed(1)} MiB in all; peak RSS ${(peak / 1024).toFixed(1)} MiB`,
    )
  } finally {
    web.child.kill('SIGTERM')
    await web.exited
    await database.drop()
  }
}

await postgresKill()
await postgresRestart()
await redisOutage()
await largePages()
process.exit(0)
