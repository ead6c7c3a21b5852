/**
 * Spam scoring benchmark: `npm run bench:spam`.
 * The cost, per new post, of deciding what happens to it, in microseconds:
 * - the pure part: links and their domains, the simhash fingerprint, 50 watched words
 *   (plain and patterns), the nine signals and the policy, on a typical 600-character post;
 * - the whole screening (`SpamService.screen`): the pure part plus its one query (posting
 *   speed, history, new domains, near-duplicates among the 2,000 newest fingerprints and the
 *   known spammers'), on a database holding BENCH_FINGERPRINTS fingerprints (default 50,000).
 * Prints the median and 95th percentile of each.
 */
import { sql } from 'kysely'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { createDb } from '../../src/core/db.js'
import { viewerOf } from '../../src/core/guard.js'
import { renderMarkdown } from '../../src/core/markdown.js'
import { migrateToLatest } from '../../src/core/migrate.js'
import { buildServices } from '../../src/services.js'
import { simhash } from '../../src/features/spam/fingerprint.js'
import { linkDomains } from '../../src/features/spam/links.js'
import { decide, riskScore, signals } from '../../src/features/spam/signals.js'
import { compileAll, watch } from '../../src/features/spam/watched.js'
import { freshDatabase } from '../helpers/db.js'

const FINGERPRINTS = Number(process.env.BENCH_FINGERPRINTS ?? 50_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2_000)

const body = `I have been using the split keyboard for a month now and wanted to share what I learnt.
The tenting kit helps a lot with wrist pain, and the [firmware guide](https://docs.example/firmware) was clear.
If you order one, check https://shop.example/keyboards for the current stock; the **blue switches** are loud.
Has anyone tried the new palm rests? I am thinking about getting them for the office, where it is cold.
`.repeat(1)
const html = renderMarkdown(body).html
const words = compileAll(Array.from({ length: 50 }, (_, i) => ({
  id: i, pattern: i % 5 === 0 ? `spam\\w{0,8}${i}` : `badword${i}`, is_regex: i % 5 === 0, action: (['block', 'hold', 'flag', 'replace'] as const)[i % 4], replacement: '***',
})))

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
  return `median ${at(0.5).toFixed(1)} µs, p95 ${at(0.95).toFixed(1)} µs`
}

// The pure part.
const pure: number[] = []
for (let i = 0; i < ROUNDS + 200; i++) {
  const t0 = performance.now()
  const { count, domains } = linkDomains(html)
  simhash(`Split keyboard ${i} ${body}`)
  watch(body, words)
  const { score } = riskScore(signals({
    accountAgeMs: 3_600_000, emailVerified: true, trustLevel: 0, links: count, newDomains: domains,
    duplicates: { knownSpam: 0, byOthers: 0, byAuthor: 0 }, postsLast10Minutes: 1, secondsSinceLastPost: 100, agreedFlags: 0, rejectedPosts: 0, checker: null,
  }))
  decide(score, { spam_flag_score: 40, spam_hold_score: 60, spam_reject_score: 95 })
  if (i >= 200) pure.push((performance.now() - t0) * 1000)
}
console.log(`pure scoring (links, fingerprint, 50 watched words, signals, policy): ${percentiles(pure)}`)

// The whole screening, with its query.
const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', DATABASE_URL: 'postgres://unused.invalid/db' })
const db = createDb(await freshDatabase('hearth_bench_spam'), 4)
await migrateToLatest(db)
const services = await buildServices({ config, db, log: pino({ level: 'silent' }) })
await sql`insert into users (username, email, password_hash, trust_level) select 'm' || g, 'm' || g || '@bench.test', 'x', 1 from generate_series(1, 1000) g`.execute(db)
await sql`insert into post_fingerprints (author_id, simhash, known_spam, created_at)
  select 1 + (g % 1000), (random() * 9e18)::bigint * (case when g % 2 = 0 then 1 else -1 end), g % 50 = 0, now() - (g || ' seconds')::interval
  from generate_series(1, ${FINGERPRINTS}) g`.execute(db)
await sql`insert into link_domains (domain) select 'site' || g || '.example' from generate_series(1, 5000) g`.execute(db)
await sql`analyze`.execute(db)
const user = await db.selectFrom('users').selectAll().where('id', '=', 42).executeTakeFirstOrThrow()
const viewer = viewerOf({ ...user, email_verified_at: new Date() })
const full: number[] = []
for (let i = 0; i < Math.min(ROUNDS, 1_000) + 50; i++) {
  const t0 = performance.now()
  await services.spam.screen(viewer, { kind: 'reply', categoryId: 1, threadId: 1, parentId: null, title: null, body: `${body} ${i}`, html, meta: {} })
  if (i >= 50) full.push((performance.now() - t0) * 1000)
}
console.log(`whole screening with its query (${FINGERPRINTS.toLocaleString('en')} fingerprints stored): ${percentiles(full)}`)
await services.close()
await db.destroy()
