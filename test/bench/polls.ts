/**
 * Poll votes under load: `npm run bench:polls`.
 * Starts the web process on a fresh PostgreSQL database and Redis, opens a thread whose
 * opening post holds a single-choice poll and a ranked poll, then with autocannon
 * (BENCH_CONNECTIONS, default 20, for BENCH_SECONDS, default 10) posts votes through the JSON
 * API, each request the next of MEMBERS members' bearer tokens (so members change their votes
 * as the run goes round), first to the single-choice poll, then ranked ballots of three.
 * Afterwards it checks the counts: one ballot per member who voted, one choice per ballot in
 * the single-choice poll, and the shown results add up to the voters.
 * BENCH_DATABASE_URL (or TEST_DATABASE_URL) is an admin connection that may create databases.
 */
import { spawn } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import autocannon from 'autocannon'
import { sql } from 'kysely'
import { issueSecret } from '../../src/core/auth/tokens.js'
import { createDb } from '../../src/core/db.js'
import { freshDatabase } from '../helpers/db.js'
import { benchWebEnv, freePort, ROOT } from '../helpers/process.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20)
// Enough members that none reaches the 60 votes a minute each may cast.
const MEMBERS = 4_000
const DB_NAME = `hearth_bench_polls_${process.pid}`

const databaseUrl = await freshDatabase(DB_NAME)
const port = await freePort()
const base = `http://127.0.0.1:${port}`
const web = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
  cwd: ROOT,
  env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...benchWebEnv(port, databaseUrl) },
  stdio: ['ignore', 'pipe', 'pipe'],
})
let output = ''
web.stdout.on('data', (d) => (output += d))
web.stderr.on('data', (d) => (output += d))
const db = createDb(databaseUrl, 4)

async function api(method: string, url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${url}`, { method, headers: { 'content-type': 'application/json', origin: base, ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`)
  return { data: JSON.parse(text), cookie: res.headers.get('set-cookie')?.split(';')[0] ?? '' }
}

function voteLoad(pollId: number, tokens: string[], ballot: (i: number) => number[], duration: number): Promise<autocannon.Result> {
  let n = 0
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: base,
        connections: CONNECTIONS,
        duration,
        requests: [{
          method: 'POST',
          setupRequest: (req) => {
            const i = n++
            return { ...req, path: `/api/v1/polls/${pollId}/votes`, headers: { authorization: `Bearer ${tokens[i % tokens.length]}`, 'content-type': 'application/json' }, body: JSON.stringify({ choices: ballot(i) }) }
          },
        }],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    )
  })
}

try {
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/healthz`).then((r) => r.ok).catch(() => false)) break
    if (i === 300) throw new Error(`the web process did not start:\n${output}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  const admin = await api('POST', '/api/v1/auth/signup', { username: 'benchadmin', email: 'benchadmin@example.test', password: 'bench-password-123' })
  const category = await api('POST', '/api/v1/categories', { name: 'Benchmarks', visibility: 'public' }, { cookie: admin.cookie })
  const body = ['Vote, please.', '', '```poll', '- Red', '- Green', '- Blue', '- Yellow', '```', '', '```poll', 'type: ranked', '- One', '- Two', '- Three', '- Four', '- Five', '```'].join('\n')
  const thread = await api('POST', '/api/v1/threads', { categoryId: category.data.category.id, title: 'A thread with two polls', body }, { cookie: admin.cookie })
  const polls = await db.selectFrom('polls').select('id').where('post_id', '=', thread.data.postId).orderBy('position').execute()
  const options = async (pollId: number) => (await db.selectFrom('poll_options').select('id').where('poll_id', '=', pollId).orderBy('position').execute()).map((o) => Number(o.id))
  const [single, ranked] = [Number(polls[0]!.id), Number(polls[1]!.id)]
  const [singleOptions, rankedOptions] = [await options(single), await options(ranked)]
  const users = await db.insertInto('users')
    .values(Array.from({ length: MEMBERS }, (_, i) => ({ username: `voter${i}`, email: `voter${i}@example.test`, password_hash: 'not-a-login', trust_level: 1, email_verified_at: new Date() })))
    .returning('id').execute()
  const tokens: string[] = []
  await db.insertInto('api_tokens').values(users.map((u) => {
    const issued = issueSecret('hth_')
    tokens.push(issued.token)
    return { id: issued.id, secret_hash: issued.secretHash, user_id: u.id, name: 'bench' }
  })).execute()

  console.log(`machine load before measuring: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min) on ${cpus().length} cores`)
  await voteLoad(single, tokens.slice(0, 200), (i) => [singleOptions[i % 4]!], 2)
  for (const [label, pollId, ballot] of [
    ['single choice', single, (i: number) => [singleOptions[(i * 7) % 4]!]],
    ['ranked, three preferences', ranked, (i: number) => [0, 1, 2].map((k) => rankedOptions[(i + k * 2) % 5]!)],
  ] as const) {
    const load = await voteLoad(pollId, tokens, ballot, SECONDS)
    console.log(`POST /api/v1/polls/:id/votes (${label}), ${CONNECTIONS} connections, ${SECONDS} s: ${Math.round(load.requests.average)} votes/s, p50 ${load.latency.p50} ms, p99 ${load.latency.p99} ms, ${load.non2xx} non-2xx, ${load.errors} errors`)
  }
  const { rows: [check] } = await sql<{ ballots: number; votes: number; voters: number; ranked_ballots: number }>`
    select (select count(*) from poll_ballots where poll_id = ${single})::int as ballots,
      (select count(*) from poll_votes where poll_id = ${single})::int as votes,
      (select count(distinct user_id) from poll_votes where poll_id = ${single})::int as voters,
      (select count(*) from poll_ballots where poll_id = ${ranked})::int as ranked_ballots`.execute(db)
  const shown = await api('GET', `/api/v1/polls/${single}`, undefined, { authorization: `Bearer ${tokens[0]}` })
  const sum = (shown.data.options as { votes: number }[]).reduce((a, o) => a + o.votes, 0)
  console.log(`single-choice poll: ${check!.ballots} ballots, ${check!.votes} choices, ${check!.voters} distinct voters, shown total ${sum}: ${check!.ballots === check!.votes && check!.votes === check!.voters && sum === check!.ballots ? 'exact' : 'MISMATCH'}`)
  const rankedShown = await api('GET', `/api/v1/polls/${ranked}`, undefined, { authorization: `Bearer ${tokens[0]}` })
  console.log(`ranked poll: instant runoff over ${check!.ranked_ballots} ballots: ${rankedShown.data.rounds.length} rounds, winner ${rankedShown.data.winner}`)
} finally {
  web.kill('SIGTERM')
  await new Promise((r) => web.once('exit', r))
  await db.destroy()
  const admin = createDb(databaseUrl.replace(/\/[^/]+$/, '/postgres'), 1)
  await sql.raw(`drop database if exists ${DB_NAME} with (force)`).execute(admin)
  await admin.destroy()
}
