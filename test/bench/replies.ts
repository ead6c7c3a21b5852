/**
 * The reply path and live delivery: `npm run bench:replies`.
 * Starts the web process (of this checkout, or of the checkout at BENCH_ROOT, so an older
 * version can be measured with the same script) on a fresh PostgreSQL database and Redis,
 * then:
 *  1. posts replies through the JSON API with autocannon (BENCH_CONNECTIONS, default 10,
 *     for BENCH_SECONDS, default 10), each request a different member's bearer token;
 *  2. measures live delivery: a websocket subscribed to a second thread, while replies are
 *     posted there one at a time (BENCH_PROBES, default 200, at 20/s), records how long after
 *     the API answered (the commit is before the answer) the `post.created` frame arrived;
 *     once on an idle server and once during a second autocannon run.
 * BENCH_DATABASE_URL (or TEST_DATABASE_URL) is an admin connection that may create databases.
 */
import { spawn } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import WebSocket from 'ws'
import { issueSecret } from '../../src/core/auth/tokens.js'
import { createDb } from '../../src/core/db.js'
import { freshDatabase } from '../helpers/db.js'
import { benchWebEnv, freePort, ROOT } from '../helpers/process.js'

const root = path.resolve(process.env.BENCH_ROOT ?? ROOT)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10)
const PROBES = Number(process.env.BENCH_PROBES ?? 200)
const MEMBERS = 500
const DB_NAME = `hearth_bench_replies_${process.pid}`

const databaseUrl = await freshDatabase(DB_NAME)
const port = await freePort()
const base = `http://127.0.0.1:${port}`
const web = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts')], {
  cwd: root,
  env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...benchWebEnv(port, databaseUrl) },
  stdio: ['ignore', 'pipe', 'pipe'],
})
let output = ''
web.stdout.on('data', (d) => (output += d))
web.stderr.on('data', (d) => (output += d))
const db = createDb(databaseUrl, 4)

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

async function api(method: string, url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { 'content-type': 'application/json', origin: base, ...headers },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`)
  return { data: JSON.parse(text), cookie: res.headers.get('set-cookie')?.split(';')[0] ?? '' }
}

/** A run of replies with autocannon; each request is a different member's token. */
function replyLoad(threadId: number, tokens: string[], duration: number): Promise<autocannon.Result> {
  let n = 0
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: base,
        connections: CONNECTIONS,
        duration,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => {
              const i = n++
              return {
                ...req,
                path: `/api/v1/threads/${threadId}/posts`,
                headers: { authorization: `Bearer ${tokens[i % tokens.length]}`, 'content-type': 'application/json' },
                body: JSON.stringify({ body: `Reply number ${i}: a few words about the benchmark, long enough to be a real reply.` }),
              }
            },
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    )
  })
}

/** Posts PROBES replies at 20/s and records, for each, how long after the API's answer its live frame came. */
async function probeDelivery(threadId: number, token: string): Promise<{ afterAnswer: number[]; afterSend: number[] }> {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/live`, { headers: { origin: base } })
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
  const arrived = new Map<number, number>()
  socket.on('message', (raw) => {
    const frame = JSON.parse(String(raw)) as { type: string; event?: string; postId?: number }
    if (frame.type === 'event' && frame.event === 'post.created' && frame.postId) arrived.set(frame.postId, performance.now())
  })
  socket.send(JSON.stringify({ type: 'subscribe', channel: `thread:${threadId}` }))
  await new Promise((r) => setTimeout(r, 300))
  const sent: { postId: number; sentAt: number; answeredAt: number }[] = []
  for (let i = 0; i < PROBES; i++) {
    const sentAt = performance.now()
    const { data } = await api('POST', `/api/v1/threads/${threadId}/posts`, { body: `Probe ${i}: is this reply live yet?` }, { authorization: `Bearer ${token}` })
    sent.push({ postId: data.id as number, sentAt, answeredAt: performance.now() })
    await new Promise((r) => setTimeout(r, 50))
  }
  await new Promise((r) => setTimeout(r, 2_000))
  socket.close()
  const missing = sent.filter((s) => !arrived.has(s.postId)).length
  if (missing) console.log(`  ${missing} of ${PROBES} frames never arrived`)
  const got = sent.filter((s) => arrived.has(s.postId))
  return {
    afterAnswer: got.map((s) => Math.max(0, arrived.get(s.postId)! - s.answeredAt)).sort((a, b) => a - b),
    afterSend: got.map((s) => arrived.get(s.postId)! - s.sentAt).sort((a, b) => a - b),
  }
}

function printDelivery(label: string, d: { afterAnswer: number[]; afterSend: number[] }) {
  const f = (xs: number[], p: number) => percentile(xs, p).toFixed(1)
  console.log(`  ${label}: frame after the API answered p50 ${f(d.afterAnswer, 50)} ms, p99 ${f(d.afterAnswer, 99)} ms; after the request was sent p50 ${f(d.afterSend, 50)} ms, p99 ${f(d.afterSend, 99)} ms (${d.afterAnswer.length} frames)`)
}

try {
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/healthz`).then((r) => r.ok).catch(() => false)) break
    if (i === 300) throw new Error(`the web process did not start:\n${output}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  const commit = await new Promise<string>((resolve) => {
    const git = spawn('git', ['-C', root, 'log', '-1', '--format=%h %s'], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    git.stdout.on('data', (d) => (out += d))
    git.on('close', () => resolve(out.trim()))
  })
  console.log(`Hearth at ${root}\n  ${commit.slice(0, 100)}`)
  const admin = await api('POST', '/api/v1/auth/signup', { username: 'benchadmin', email: 'benchadmin@example.test', password: 'bench-password-123' })
  const category = await api('POST', '/api/v1/categories', { name: 'Benchmarks', visibility: 'public' }, { cookie: admin.cookie })
  const threads = []
  for (const title of ['Load thread', 'Probe thread']) {
    threads.push((await api('POST', '/api/v1/threads', { categoryId: category.data.category.id, title, body: 'Replies land here.' }, { cookie: admin.cookie })).data.id as number)
  }
  const users = await db
    .insertInto('users')
    .values(Array.from({ length: MEMBERS }, (_, i) => ({ username: `replier${i}`, email: `replier${i}@example.test`, password_hash: 'not-a-login', trust_level: 2, email_verified_at: new Date() })))
    .returning('id')
    .execute()
  const tokens: string[] = []
  const rows = users.map((u) => {
    const issued = issueSecret('hth_')
    tokens.push(issued.token)
    return { id: issued.id, secret_hash: issued.secretHash, user_id: u.id, name: 'bench' }
  })
  await db.insertInto('api_tokens').values(rows).execute()

  console.log(`machine load before measuring: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min) on ${cpus().length} cores`)
  await replyLoad(threads[0]!, tokens, 2)
  const load = await replyLoad(threads[0]!, tokens, SECONDS)
  console.log(
    `POST /api/v1/threads/:id/posts, ${CONNECTIONS} connections, ${SECONDS} s: ${Math.round(load.requests.average)} replies/s, ` +
      `p50 ${load.latency.p50} ms, p99 ${load.latency.p99} ms, ${load.non2xx} non-2xx, ${load.errors} errors`,
  )
  console.log(`live delivery of post.created (${PROBES} probes at 20/s):`)
  printDelivery('idle server', await probeDelivery(threads[1]!, tokens[0]!))
  const [busy] = await Promise.all([probeDelivery(threads[1]!, tokens[1]!), replyLoad(threads[0]!, tokens, Math.ceil(PROBES / 20) + 2)])
  printDelivery(`during ${CONNECTIONS}-connection reply load`, busy)
  const { rows: counts } = await sql<{ posts: number }>`select count(*)::int as posts from posts`.execute(db)
  console.log(`posts stored: ${counts[0]!.posts.toLocaleString('en')}`)
} finally {
  web.kill('SIGTERM')
  await new Promise((r) => web.once('exit', r))
  await db.destroy()
  const admin = createDb(databaseUrl.replace(/\/[^/]+$/, '/postgres'), 1)
  await sql.raw(`drop database if exists ${DB_NAME} with (force)`).execute(admin)
  await admin.destroy()
}
