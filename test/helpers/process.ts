import { randomBytes } from 'node:crypto'
import { type ChildProcess, spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

export interface Spawned {
  child: ChildProcess
  output: () => string
  /** Resolves with the exit code. */
  exited: Promise<number | null>
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
}

/**
/**
 * Runs one of Hearth's entrypoints with tsx, as `npm start` / `npm run worker` do; a `.js`
 * entry (the compiled `dist/`) runs on plain node, as the Docker image does. `nodeArgs` go
 * before the entry (e.g. `--import` of a test fixture).
 */
export function spawnEntry(entry: string, env: Record<string, string>, args: string[] = [], nodeArgs: string[] = []): Spawned {
  const loader = entry.endsWith('.js') ? [] : ['--import', 'tsx']
  const child = spawn(process.execPath, [...loader, ...nodeArgs, path.join(ROOT, entry), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    child,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`)), timeoutMs)
        const check = () => {
          const m = pattern.exec(out)
          if (m) {
            clearTimeout(timer)
            resolve(m[0])
          }
        }
        child.stdout!.on('data', check)
        child.stderr!.on('data', check)
        void exited.then(() => {
          clearTimeout(timer)
          if (!pattern.test(out)) reject(new Error(`exited before ${pattern}; output:\n${out}`))
        })
        check()
      })
    },
  }
}

/**
 * The environment a benchmark runs the web process with: production mode on the given
 * database and the local Redis (a prefix of its own), limits out of the way, quiet logs.
 */
export function benchWebEnv(port: number, databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    BASE_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: '20',
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `hearth_bench_${randomBytes(4).toString('hex')}`,
    RATE_LIMIT_POST: '1000000',
    RATE_LIMIT_SIGNUP: '1000000',
    LOG_LEVEL: 'warn',
    SECRET_KEY: randomBytes(32).toString('hex'),
    ...extra,
  }
}
