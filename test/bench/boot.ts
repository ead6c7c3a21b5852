/**
 * Cold start and idle memory of the quick start: `npm run bench:boot`.
 * Starts the web process on a fresh embedded database (first-ever start) and again on the
 * same data (a restart), and reports time to "ready" and the idle RSS after a few requests.
 * With BENCH_DATABASE_URL it also measures the production path: PostgreSQL, and the
 * compiled build (`npm run build` first) as the Docker image runs it.
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { freePort, spawnEntry } from '../helpers/process.js'

async function rssKb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
}

async function run(label: string, env: Record<string, string>, entry = 'src/main.ts') {
  const port = await freePort()
  const started = performance.now()
  const web = spawnEntry(entry, { PORT: String(port), LOG_LEVEL: 'info', ...env })
  await web.waitFor(/Hearth is ready/, 120_000)
  const readyMs = performance.now() - started
  for (let i = 0; i < 20; i++) await (await fetch(`http://127.0.0.1:${port}/`)).text()
  await new Promise((r) => setTimeout(r, 2_000))
  const rss = await rssKb(web.child.pid!)
  web.child.kill('SIGTERM')
  await web.exited
  console.log(`${label.padEnd(34)} ready in ${(readyMs / 1000).toFixed(2)} s   idle RSS ${(rss / 1024).toFixed(1)} MiB`)
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hearth-bench-'))
try {
  await run('embedded, first start (cold)', { DATA_DIR: dataDir })
  await run('embedded, restart', { DATA_DIR: dataDir })
  if (process.env.BENCH_DATABASE_URL) {
    await run('PostgreSQL, tsx (npm start)', { DATABASE_URL: process.env.BENCH_DATABASE_URL })
    const built = path.resolve('dist/src/main.js')
    if (await fs.stat(built).then(() => true, () => false)) {
      await run('PostgreSQL, compiled (Docker image)', { DATABASE_URL: process.env.BENCH_DATABASE_URL, NODE_ENV: 'production' }, 'dist/src/main.js')
    }
  }
} finally {
  await fs.rm(dataDir, { recursive: true, force: true })
}
