import { type ChildProcess, execFile, spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import pino from 'pino'
import { buildApp } from '../../src/app.js'
import { JobQueue } from '../../src/core/queue.js'
import { createBlockingRedis, createRedis } from '../../src/core/redis.js'
import { allJobs } from '../../src/jobs.js'
import { startWorker } from '../../src/worker-runtime.js'
import { testConfig } from './app.js'
import { createTestDatabase } from './db.js'
import { freePort } from './process.js'

const run = promisify(execFile)

/** A redis-server of the test's own on a free port, with no persistence: a restart comes back empty. */
export interface PrivateRedis {
  url: string
  port: number
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

/** Starts a private redis-server (stopped and started by the test, as an outage would). */
export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | null = null
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000)
      child!.stdout!.on('data', (d) => {
        out += d
        if (/Ready to accept connections/i.test(out)) {
          clearTimeout(timer)
          resolve()
        }
      })
      child!.once('exit', (code) => reject(new Error(`redis-server exited (${code}):\n${out}`)))
    })
  }
  const stop = async () => {
    const c = child
    child = null
    if (!c || c.exitCode !== null) return
    const exited = new Promise((resolve) => c.once('exit', resolve))
    c.kill('SIGKILL')
    await exited
  }
  await start()
  return { url: `redis://127.0.0.1:${port}`, port, stop, start, close: stop }
}

/** Whether the machine has redis-server. */
export async function hasRedisServer(): Promise<boolean> {
  return run('redis-server', ['--version']).then(
    () => true,
    () => false,
  )
}

const PG_BIN = '/usr/lib/postgresql/15/bin'

/** A PostgreSQL cluster of the test's own in a temp dir, restartable (a failover or `pg_ctl restart`). */
export interface PrivatePostgres {
  url: string
  restart(): Promise<void>
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

/**
 * initdb refuses to run as root; as root the cluster runs as the `postgres` user (runuser).
 * Returns a reason instead when it cannot run here, so the test can skip cleanly.
 */
export async function privatePostgres(): Promise<PrivatePostgres | string> {
  try {
    await fs.access(path.join(PG_BIN, 'initdb'))
  } catch {
    return `no PostgreSQL binaries at ${PG_BIN}`
  }
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const user = await run('id', ['-u', 'postgres']).catch(() => null)
    if (!user) return 'running as root and there is no postgres user to run the cluster as'
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hearth-pg-'))
  if (asRoot) await run('chown', ['postgres', dir])
  const data = path.join(dir, 'data')
  const port = await freePort()
  const as = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, cmd), ...args]) : run(path.join(PG_BIN, cmd), args)
  try {
    await as('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true })
    return `initdb failed: ${(err as Error).message}`
  }
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c shared_buffers=16MB`
  const pgctl = (...args: string[]) => as('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '30', ...args])
  const start = async () => {
    await pgctl('-o', opts, 'start')
  }
  const stop = async () => {
    await pgctl('-m', 'fast', 'stop').catch(() => {})
  }
  await start()
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  return {
    url,
    start,
    stop,
    async restart() {
      await pgctl('-m', 'fast', '-o', opts, 'restart')
    },
    async close() {
      await stop()
      await fs.rm(dir, { recursive: true, force: true })
    },
  }
}

/** Ends every other connection to `database` (what a failover or an operator's kill does). */
export async function terminateConnections(adminUrl: string, database: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const { rows } = await client.query(
      'select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    )
    return rows[0].n as number
  } finally {
    await client.end()
  }
}

/** Runs `fn` until it succeeds or `timeoutMs` passes; resolves with how long recovery took. */
export async function until(fn: () => Promise<boolean>, timeoutMs = 30_000, stepMs = 50): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await fn().catch(() => false)) return performance.now() - started
    if (performance.now() - started > timeoutMs) throw new Error(`did not recover within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, stepMs))
  }
}

/**
 * Hearth as a deployment runs it, on a test database of its own and the given (private)
 * Redis: the web app (not listening yet) and a worker, each with its own Redis connections,
 * which report errors quietly while the test takes Redis away.
 */
export async function appAndWorkerOn(redisUrl: string, env: Record<string, string> = {}) {
  const database = await createTestDatabase()
  const config = testConfig({ REDIS_URL: redisUrl, ...env })
  const quietRedis = (redis: ReturnType<typeof createRedis>) => redis.on('error', () => {})
  const redis = quietRedis(createRedis(redisUrl))
  const queue = new JobQueue(redis, config.redisPrefix)
  const app = await buildApp(config, { db: database.db, redis, queue, listenUrl: database.url })
  const workerRedis = quietRedis(createRedis(redisUrl))
  const worker = await startWorker({
    definitions: allJobs,
    db: database.db,
    config,
    log: pino({ level: 'silent' }),
    commandConnection: workerRedis,
    workerConnection: quietRedis(createBlockingRedis(redisUrl)),
    listenUrl: database.url,
  })
  return {
    database,
    config,
    redis,
    queue,
    app,
    worker,
    async close() {
      await app.close()
      await worker.close()
      await queue.close()
      redis.disconnect()
      workerRedis.disconnect()
      await database.drop()
    },
  }
}
