/**
 * Hearth against this machine's own limit: `npm run bench:bound`.
 *
 * Starts "the bound" (Fastify + one 20-row query + a Handlebars page: the least a thread page
 * can cost here, `serveBound` below) beside Hearth, each Hearth on a fresh PostgreSQL database
 * seeded alike (50 members, 200 threads × 20 posts, then ANALYZE), and measures in many short
 * alternating rounds so that a busy, shared machine (whose speed here drifts by tens of percent
 * within seconds) slows every target alike: in each round the bound, then target by target each
 * Hearth in turn, so both sides of a ratio are measured seconds apart;
 *  - the bound; Hearth's thread page for a guest (guest cache off) and for a member; a
 *    category page; search; reply writes through the JSON API (a flood of near-duplicates into
 *    one thread, which the spam check soon holds); published replies (every text different,
 *    spread over 40 threads); each warmed up, unmeasured, for 2 s before the rounds;
 *  - every rate as a ratio of the bound's in the same round, member / guest and both kinds of
 *    replies after / before as ratios within each round (medians over rounds, each round's ratio printed);
 *  - a Hearth's guest and member pages back to back, in windows centred on the same moment (guest
 *    half, member, guest half; the next round member half, guest, member half), so that a drift of
 *    the machine's speed during the round slows both alike (member / guest is the ratio the
 *    README reports; measured seconds apart, it varied by ±15% from round to round);
 *  - per request: Node CPU of the web process, PostgreSQL CPU of its connections, and
 *    database transactions (pg_stat_database, idle background work subtracted).
 * BENCH_BEFORE=/path/to/older/checkout adds that checkout as a second Hearth in the same run,
 * so before and after are measured side by side. BENCH_ROUNDS (9), BENCH_SECONDS (2 per
 * target per round), BENCH_CONNECTIONS (10); BENCH_XACTS=0 skips the (slow) transaction counts;
 * BENCH_REPLY_TEXT=distinct makes every reply a different text (by default they are near-duplicates,
 * which the spam check soon holds: the lines at the end say how many were published).
 * BENCH_ONLY=replies measures the bound and the two reply targets only (no pages, no transaction counts).
 * BENCH_PROFILE=/some/dir runs the "after" Hearth with --cpu-prof, its CPU profile written there
 * when it stops (open it in Chrome's DevTools).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import pg from 'pg'
import { issueSecret } from '../../src/core/auth/tokens.js'
import { createDb, type Db } from '../../src/core/db.js'
import { seed } from '../../src/seed.js'
import { ADMIN_URL, freshDatabase } from '../helpers/db.js'
import { benchWebEnv, freePort, ROOT } from '../helpers/process.js'

const BOUND_QUERY = `select p.id, p.body_html, p.created_at, u.username, u.display_name
  from posts p join users u on u.id = p.author_id where p.thread_id = $1 order by p.path limit 20`
const BOUND_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{title}}</title><link rel="stylesheet" href="/static/app.css"></head>
<body><header><a href="/">{{community}}</a></header><main><h1>{{title}}</h1>
{{#each posts}}<article class="post" id="p{{id}}"><header><a href="/u/{{username}}">{{display_name}}</a> <time datetime="{{iso}}">{{iso}}</time></header><div class="body">{{{body_html}}}</div></article>
{{/each}}</main></body></html>`

/** The bound: one query, one template; run as `bound.ts serve-bound <port> <databaseUrl>`. */
async function serveBound(port: number, databaseUrl: string): Promise<void> {
  const { default: Fastify } = await import('fastify')
  const { default: Handlebars } = await import('handlebars')
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 20, idleTimeoutMillis: 120_000 })
  const page = Handlebars.compile(BOUND_PAGE)
  const app = Fastify({ logger: false })
  app.get('/healthz', async () => 'ok')
  app.get<{ Params: { id: string } }>('/t/:id', async (req, reply) => {
    const { rows } = await pool.query(BOUND_QUERY, [Number(req.params.id)])
    const posts = rows.map((r) => ({ ...r, iso: (r.created_at as Date).toISOString() }))
    return reply.type('text/html; charset=utf-8').send(page({ title: `Thread ${req.params.id}`, community: 'Hearth', posts }))
  })
  await app.listen({ port, host: '127.0.0.1' })
}


interface Server {
  name: string
  base: string
  child: ChildProcess
  output: () => string
  db: Db
  databaseUrl: string
  dbName: string
}

interface Hearth extends Server {
  root: string
  threadId: number
  replyThreadId: number
  /** Where published replies go, in turn (neither the measured page's thread nor the flood's). */
  spreadThreadIds: number[]
  cookie: string
  tokens: string[]
}

function start(name: string, args: string[], env: Record<string, string>, cwd: string): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  child.on('exit', (code) => {
    if (code && code !== 0 && !stopping) console.error(`${name} exited with ${code}:\n${out.slice(-3000)}`)
  })
  return { child, output: () => out }
}

let stopping = false

async function waitUp(base: string, output: () => string): Promise<void> {
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) return
    if (i === 600) throw new Error(`${base} did not start:\n${output()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** CPU seconds used so far by a process (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

const admin = new pg.Pool({ connectionString: ADMIN_URL, max: 2 })

/** CPU seconds used so far by the PostgreSQL backends serving a database. */
async function pgCpu(dbName: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>(
    `select pid from pg_stat_activity where datname = $1 and backend_type = 'client backend'`,
    [dbName],
  )
  return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid)]))
}

function pgCpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0
  // A connection opened during the window spent all its CPU in it.
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0)
  return total
}

async function transactions(dbName: string): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(
    'select xact_commit + xact_rollback as n from pg_stat_database where datname = $1',
    [dbName],
  )
  return Number(rows[0]!.n)
}

// A backend reports its counts when idle, at most every second and at the latest after 10 s.
const STATS_SETTLE_MS = 11_500

/** Database transactions per request for `count` sequential requests, idle background work subtracted. */
async function transactionsPerRequest(server: Server, url: string, headers: Record<string, string>, count: number): Promise<number> {
  await new Promise((r) => setTimeout(r, STATS_SETTLE_MS))
  const idle0 = await transactions(server.dbName)
  const idleStart = performance.now()
  await new Promise((r) => setTimeout(r, STATS_SETTLE_MS))
  const idle1 = await transactions(server.dbName)
  const idlePerMs = (idle1 - idle0) / (performance.now() - idleStart)
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    const res = await fetch(server.base + url, { headers })
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`)
    await res.arrayBuffer()
  }
  await new Promise((r) => setTimeout(r, STATS_SETTLE_MS))
  const busy = (await transactions(server.dbName)) - idle1 - idlePerMs * (performance.now() - t0)
  return busy / count
}

interface Sample {
  rate: number
  nodeMs: number
  pgMs: number
  non2xx: number
  requests: number
  seconds: number
}

/** Two windows of the same target as one sample (rates by time, CPU by requests). */
function joined(a: Sample, b: Sample): Sample {
  const requests = a.requests + b.requests
  const seconds = a.seconds + b.seconds
  const per = (k: 'nodeMs' | 'pgMs') => (a[k] * a.requests + b[k] * b.requests) / (requests || 1)
  return { rate: requests / seconds, nodeMs: per('nodeMs'), pgMs: per('pgMs'), non2xx: a.non2xx + b.non2xx, requests, seconds }
}

async function load(server: Server, opts: Partial<autocannon.Options>, seconds: number, connections: number): Promise<Sample> {
  const node0 = cpuSeconds(server.child.pid!)
  const pg0 = await pgCpu(server.dbName)
  const r = await autocannon({ url: server.base, connections, duration: seconds, ...opts })
  const node1 = cpuSeconds(server.child.pid!)
  const pg1 = await pgCpu(server.dbName)
  const done = r.requests.total || 1
  // Over the time the window took (its requests.average counts whole seconds only).
  const took = r.duration || seconds
  return {
    rate: r.requests.total / took,
    nodeMs: ((node1 - node0) * 1000) / done,
    pgMs: (pgCpuDelta(pg0, pg1) * 1000) / done,
    non2xx: r.non2xx + r.errors,
    requests: r.requests.total,
    seconds: took,
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

async function startHearth(name: string, root: string): Promise<Hearth> {
  const dbName = `hearth_bench_bound_${name}_${process.pid}`
  const databaseUrl = await freshDatabase(dbName)
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const profile = name === 'after' && process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_PROFILE)}`] : []
  const { child, output } = start(name, [...profile, '--import', 'tsx', path.join(root, 'src/main.ts')], benchWebEnv(port, databaseUrl, { GUEST_CACHE_SECONDS: '0' }), root)
  await waitUp(base, output)
  const db = createDb(databaseUrl, 4)
  // The web process migrated its own database; the same seed makes the same forum.
  await seed(db, { users: 50, threads: 200, posts: 4_200, progress: false, randomSeed: 42 })
  const general = await db.selectFrom('categories').select('id').where('slug', '=', 'general').executeTakeFirstOrThrow()
  const threads = await db
    .selectFrom('threads')
    .select(['id', 'reply_count'])
    .where('category_id', '=', general.id)
    .orderBy('id')
    .limit(2)
    .execute()
  const spread = await db
    .selectFrom('threads')
    .select('id')
    .where('id', 'not in', threads.map((t) => t.id))
    .orderBy('id')
    .limit(40)
    .execute()
  const member = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'member')
    .where('trust_level', '=', 2)
    .orderBy('id')
    .limit(1)
    .executeTakeFirstOrThrow()
  const session = issueSecret()
  await db
    .insertInto('sessions')
    .values({ id: session.id, secret_hash: session.secretHash, user_id: member.id, user_agent: 'bench', ip: '', expires_at: new Date(Date.now() + 30 * 86_400_000), last_seen_at: new Date() })
    .execute()
  // Replies come from every member, each with an API token (a trust level that has no daily limit).
  await db.updateTable('users').set({ trust_level: 2 }).where('trust_level', '<', 2).execute()
  const users = await db.selectFrom('users').select('id').orderBy('id').execute()
  const tokens: string[] = []
  await db
    .insertInto('api_tokens')
    .values(users.map((u) => {
      const issued = issueSecret('hth_')
      tokens.push(issued.token)
      return { id: issued.id, secret_hash: issued.secretHash, user_id: u.id, name: 'bench' }
    }))
    .execute()
  await sql`analyze`.execute(db)
  // A member's browser also holds the CSRF cookie its first page set: pages after that only sign a token with it.
  const first = await fetch(`${base}/`, { headers: { cookie: `hearth_session=${session.token}` } })
  await first.arrayBuffer()
  const csrf = first.headers.getSetCookie().find((c) => c.startsWith('hearth_csrf='))?.split(';')[0]
  const cookie = [`hearth_session=${session.token}`, ...(csrf ? [csrf] : [])].join('; ')
  return { name, base, child, output, db, databaseUrl, dbName, root, threadId: threads[0]!.id, replyThreadId: threads[1]!.id, spreadThreadIds: spread.map((t) => t.id), cookie, tokens }
}

// With BENCH_REPLY_TEXT=distinct every reply is a different text (16 made-up words of three
// syllables each), so the spam check publishes them; by default they are one sentence with a
// number, a flood of near-duplicates it soon holds.
const SYLLABLES = 'ba be bi bo bu da de di do du fa fe fi fo fu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu'.split(' ')

function replyText(i: number, distinct = process.env.BENCH_REPLY_TEXT === 'distinct'): string {
  if (!distinct) return `Reply number ${i}: a few words about the benchmark, long enough to be a real reply.`
  let x = Math.imul(i + 1, 2654435761) >>> 0
  const words: string[] = []
  for (let k = 0; k < 16; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    const n = x >>> 8
    words.push(SYLLABLES[n % 50]! + SYLLABLES[Math.floor(n / 50) % 50]! + SYLLABLES[Math.floor(n / 2500) % 50]!)
  }
  return `Reply ${i}: ${words.join(' ')}.`
}

// Replies sent so far, by Hearth and kind: numbering goes on across rounds, so no published text repeats in a run.
const sent = new Map<string, number>()

/**
 * Replies through the JSON API, each from the next member's token. `flood`: near-duplicates into
 * one thread (unless BENCH_REPLY_TEXT=distinct), which the spam check soon holds. `published`:
 * every text different (so the spam check publishes them), each to the next of 40 threads, as
 * members reply across a forum (replies to one thread take its row lock in turn: the flood with
 * BENCH_REPLY_TEXT=distinct measures that).
 */
function replyRequests(h: Hearth, kind: 'flood' | 'published'): Partial<autocannon.Options> {
  const key = `${h.name}:${kind}`
  return {
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const i = sent.get(key) ?? 0
          sent.set(key, i + 1)
          const threadId = kind === 'published' ? h.spreadThreadIds[i % h.spreadThreadIds.length] : h.replyThreadId
          return {
            ...req,
            path: `/api/v1/threads/${threadId}/posts`,
            headers: { authorization: `Bearer ${h.tokens[i % h.tokens.length]}`, 'content-type': 'application/json' },
            // Published texts are numbered apart from the flood's.
            body: JSON.stringify({ body: kind === 'published' ? replyText(1_000_000 + i, true) : replyText(i) }),
          }
        },
      },
    ],
  }
}

async function commitOf(root: string): Promise<string> {
  return new Promise((resolve) => {
    const git = spawn('git', ['-C', root, 'log', '-1', '--format=%h %s'], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    git.stdout.on('data', (d) => (out += d))
    git.on('close', () => resolve(out.trim().slice(0, 90)))
  })
}

async function main(): Promise<void> {
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)
  const SECONDS = Number(process.env.BENCH_SECONDS ?? 2)
  const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10)
  const ONLY_REPLIES = process.env.BENCH_ONLY === 'replies'
  const LABELS = ONLY_REPLIES
    ? ['reply writes', 'published replies']
    : ['guest thread page', 'member thread page', 'category page', 'search', 'reply writes', 'published replies']
  const servers: Server[] = []
  const hearths: Hearth[] = []
  try {
    const roots: [string, string][] = [['after', ROOT]]
    if (process.env.BENCH_BEFORE) roots.unshift(['before', path.resolve(process.env.BENCH_BEFORE)])
    for (const [name, root] of roots) {
      const h = await startHearth(name, root)
      hearths.push(h)
      servers.push(h)
      console.log(`Hearth "${name}" at ${root}: ${await commitOf(root)}`)
    }
    // The bound reads the first Hearth's database (the same rows).
    const boundPort = await freePort()
    const first = hearths[0]!
    const bound = start('bound', ['--import', 'tsx', import.meta.filename, 'serve-bound', String(boundPort), first.databaseUrl], {}, ROOT)
    const boundServer: Server = { name: 'bound', base: `http://127.0.0.1:${boundPort}`, ...bound, db: first.db, databaseUrl: first.databaseUrl, dbName: first.dbName }
    await waitUp(boundServer.base, bound.output)
    servers.push(boundServer)

    for (const h of hearths) {
      for (const [url, headers] of [[`/t/${h.threadId}`, {}], [`/t/${h.threadId}`, { cookie: h.cookie }]] as const) {
        const res = await fetch(h.base + url, { headers })
        const html = await res.text()
        if (res.status !== 200) throw new Error(`${h.name} ${url} answered ${res.status}`)
        if ('cookie' in headers && !html.includes('Log out')) throw new Error(`${h.name}: the member's session is not recognised`)
      }
    }

    type Key = string
    const samples = new Map<Key, Sample[]>()
    const ratios = new Map<Key, number[]>()
    const add = (key: Key, s: Sample) => samples.set(key, [...(samples.get(key) ?? []), s])
    console.log(`machine load before measuring: ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores; ` +
      `${ROUNDS} rounds × ${SECONDS} s per target, ${CONNECTIONS} connections, Node ${process.version}`)
    // Every target once, unmeasured, for 2 s: compiled code, planned statements and filled pools
    // in every process, and the reply thread past its first replies (published until the spam
    // check holds the flood), so that the rounds measure each target as it runs from then on.
    const targetOptions = (h: Hearth, label: string): Partial<autocannon.Options> =>
      ({
        'guest thread page': { url: `${h.base}/t/${h.threadId}` },
        'member thread page': { url: `${h.base}/t/${h.threadId}`, headers: { cookie: h.cookie } },
        'category page': { url: `${h.base}/c/general` },
        search: { url: `${h.base}/search?q=dark+mode` },
        'published replies': replyRequests(h, 'published'),
      })[label] ?? replyRequests(h, 'flood')
    await load(boundServer, { url: `${boundServer.base}/t/${first.threadId}` }, 2, CONNECTIONS)
    for (const h of hearths) for (const label of LABELS) await load(h, targetOptions(h, label), 2, CONNECTIONS)
    for (let round = 0; round < ROUNDS; round++) {
      const b = await load(boundServer, { url: `${boundServer.base}/t/${first.threadId}` }, SECONDS, CONNECTIONS)
      add('bound', b)
      // Target by target, each Hearth in turn (the order flips every round), so the two sides
      // of every ratio are measured seconds apart (a Hearth's guest and member pages back to back).
      const order = round % 2 === 0 ? hearths : [...hearths].reverse()
      const measured = (h: Hearth, label: string, s: Sample) => {
        add(`${h.name}:${label}`, s)
        ratios.set(`${h.name}:${label}`, [...(ratios.get(`${h.name}:${label}`) ?? []), s.rate / b.rate])
      }
      for (const label of LABELS) {
        if (label === 'member thread page') continue
        for (const h of order) {
          if (label !== 'guest thread page') {
            measured(h, label, await load(h, targetOptions(h, label), SECONDS, CONNECTIONS))
            continue
          }
          // Guest and member back to back, their windows centred on the same moment: one page's
          // two halves around the other's whole (the split one alternates by round).
          const [outer, inner] = round % 2 === 0 ? ['guest thread page', 'member thread page'] : ['member thread page', 'guest thread page']
          const first = await load(h, targetOptions(h, outer), SECONDS / 2, CONNECTIONS)
          const middle = await load(h, targetOptions(h, inner), SECONDS, CONNECTIONS)
          const outerSample = joined(first, await load(h, targetOptions(h, outer), SECONDS / 2, CONNECTIONS))
          const [g, m] = outer === 'guest thread page' ? [outerSample, middle] : [middle, outerSample]
          measured(h, 'guest thread page', g)
          measured(h, 'member thread page', m)
          ratios.set(`${h.name}:member/guest`, [...(ratios.get(`${h.name}:member/guest`) ?? []), m.rate / g.rate])
        }
      }
      if (hearths.length === 2) {
        for (const label of ['reply writes', 'published replies']) {
          const [before, after] = ['before', 'after'].map((n) => samples.get(`${n}:${label}`)!.at(-1)!.rate)
          ratios.set(`${label} after/before`, [...(ratios.get(`${label} after/before`) ?? []), after! / before!])
        }
      }
      console.log(`round ${round + 1} of ${ROUNDS} done (bound ${Math.round(b.rate)} req/s)`)
    }

    console.log(`\n${'target'.padEnd(34)}${'req/s'.padStart(8)}${'× bound'.padStart(9)}${'node ms'.padStart(9)}${'pg ms'.padStart(8)}${'errors'.padStart(8)}   (medians; ms of CPU per request)`)
    const row = (label: string, key: Key, ratioKey?: Key) => {
      const ss = samples.get(key)!
      const ratio = ratioKey ? median(ratios.get(ratioKey)!).toFixed(2) : '1.00'
      console.log(
        `${label.padEnd(34)}${Math.round(median(ss.map((s) => s.rate))).toString().padStart(8)}${ratio.padStart(9)}` +
          `${median(ss.map((s) => s.nodeMs)).toFixed(2).padStart(9)}${median(ss.map((s) => s.pgMs)).toFixed(2).padStart(8)}${ss.reduce((n, s) => n + s.non2xx, 0).toString().padStart(8)}`,
      )
    }
    row('bound', 'bound')
    for (const h of hearths) {
      for (const label of LABELS) {
        row(`${h.name}: ${label}`, `${h.name}:${label}`, `${h.name}:${label}`)
      }
      const mg = ratios.get(`${h.name}:member/guest`)
      if (!ONLY_REPLIES) console.log(`${`${h.name}: member / guest`.padEnd(34)}${''.padStart(8)}${median(mg!).toFixed(2).padStart(9)}   (rounds: ${mg!.map((r) => r.toFixed(2)).join(', ')})`)
    }
    if (hearths.length === 2) {
      for (const label of ['reply writes', 'published replies']) {
        const perRound = ratios.get(`${label} after/before`)!
        console.log(`${label}, after / before: ${median(perRound).toFixed(2)} (median of the rounds' ratios: ${perRound.map((r) => r.toFixed(2)).join(', ')})`)
      }
    }

    if (!ONLY_REPLIES) console.log('\ndatabase transactions per request (200 sequential requests, idle background work subtracted):')
    for (const h of process.env.BENCH_XACTS === '0' || ONLY_REPLIES ? [] : hearths) {
      const guest = await transactionsPerRequest(h, `/t/${h.threadId}`, {}, 200)
      const member = await transactionsPerRequest(h, `/t/${h.threadId}`, { cookie: h.cookie }, 200)
      console.log(`  ${h.name}: guest thread page ${guest.toFixed(1)}, member thread page ${member.toFixed(1)}`)
    }
    for (const h of hearths) {
      const { rows } = await sql<{ flood: number; spread: number; held: number }>`
        select (select count(*) from posts where thread_id = ${h.replyThreadId})::int as flood,
          (select count(*) from posts where thread_id = any(${h.spreadThreadIds}::bigint[]) and body_md ~ '^Reply [0-9]{7}:')::int as spread,
          (select count(*) from held_posts where status = 'pending')::int as held`.execute(h.db)
      const r = rows[0]!
      console.log(`${h.name}: reply writes published ${r.flood.toLocaleString('en')} (the rest held as near-duplicates, ${r.held.toLocaleString('en')} waiting in all); published replies stored ${r.spread.toLocaleString('en')}`)
    }
  } finally {
    stopping = true
    for (const s of servers.reverse()) {
      s.child.kill('SIGTERM')
      await new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)))
    }
    for (const h of hearths) {
      await h.db.destroy()
      await admin.query(`drop database if exists ${h.dbName} with (force)`)
    }
    await admin.end()
  }
}

if (process.argv[2] === 'serve-bound') {
  await serveBound(Number(process.argv[3]), process.argv[4]!)
} else {
  await main()
}
