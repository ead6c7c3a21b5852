/**
 * The composer's member lookup: `npm run bench:mentions`.
 * On a fresh database with BENCH_MEMBERS members (default 200,000), a thread of
 * BENCH_THREAD_POSTS posts (default 20,000) and BENCH_POSTS more posts across 500 threads
 * (default 50,000), times MentionService.suggest for one- to four-letter prefixes, with and
 * without the big thread, and prints the percentiles and the plan of the prefix lookup.
 * The figures are what one lookup costs the database and the service, without HTTP.
 */
import { cpus, loadavg } from 'node:os'
import { sql } from 'kysely'
import { CategoryService } from '../../src/features/discussions/categories.js'
import { MentionService } from '../../src/features/mentions/service.js'
import { createDb } from '../../src/core/db.js'
import { createTestDatabase } from '../helpers/db.js'

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 200_000)
const THREAD_POSTS = Number(process.env.BENCH_THREAD_POSTS ?? 20_000)
const POSTS = Number(process.env.BENCH_POSTS ?? 50_000)
const LOOKUPS = Number(process.env.BENCH_LOOKUPS ?? 400)

const database = await createTestDatabase()
// Seeding runs long statements: a connection without the app's statement timeout.
const db = createDb(database.url, 2, { connectMs: 60_000, statementMs: 0 })
try {
  const started = Date.now()
  // Usernames from a small syllable alphabet, so short prefixes match many members.
  await sql`insert into users (username, email, password_hash, trust_level, email_verified_at, last_seen_at)
    select u, u || '@example.test', 'x', 1, now(), now() - (i || ' minutes')::interval
    from (select i, (array['al','an','ma','mi','jo','ka','ro','sa','te','vi'])[1 + i % 10]
                || (array['ba','ce','di','fo','gu','ha','ki','lo','mu','ne'])[1 + (i / 10) % 10]
                || i::text as u
          from generate_series(1, ${MEMBERS}) i) s`.execute(db)
  await sql`insert into categories (name, slug, description) values ('General', 'general', '')`.execute(db)
  const { rows: [cat] } = await sql<{ id: number }>`select id from categories where slug = 'general'`.execute(db)
  await sql`insert into threads (category_id, author_id, title, slug, last_poster_id)
    select ${cat!.id}, 1 + (t * 7919) % ${MEMBERS}, 'Thread ' || t, 'thread-' || t, 1 from generate_series(1, 501) t`.execute(db)
  const { rows: [big] } = await sql<{ id: number }>`select min(id)::int as id from threads`.execute(db)
  // Posts: the big thread first, then the rest spread over the other threads; flat replies under each opening post.
  await sql`insert into posts (id, thread_id, branch_id, author_id, body_md, body_html, depth, path)
    select n, th, n, 1 + (n::bigint * 104729) % ${MEMBERS}, 'post ' || n, '<p>post ' || n || '</p>', 1, lpad(n::text, 12, '0')
    from (select n, case when n <= ${THREAD_POSTS} then ${big!.id} else ${big!.id} + 1 + n % 500 end as th
          from generate_series(1, ${THREAD_POSTS + POSTS}) n) s`.execute(db)
  await sql`select setval(pg_get_serial_sequence('posts', 'id'), ${THREAD_POSTS + POSTS + 1})`.execute(db)
  await sql`analyze`.execute(db)
  console.log(`seeded ${MEMBERS} members, ${THREAD_POSTS} posts in one thread, ${POSTS} elsewhere in ${((Date.now() - started) / 1000).toFixed(1)} s`)

  const categories = new CategoryService(db)
  const mentions = new MentionService(db, categories)
  const { rows: [asker] } = await sql<Record<string, unknown>>`select * from users order by id limit 1`.execute(db)
  const viewer = { user: asker as never, moderates: new Set<number>() }
  const prefixes = ['a', 'al', 'alb', 'alba', 'm', 'mi', 'mic', 'ka', 'rod', 'v', 'zz', '']
  const kinds = [
    { name: 'with the big thread', threadId: big!.id },
    { name: 'without a thread', threadId: undefined },
  ]
  for (const kind of kinds) {
    const times: number[] = []
    for (let i = 0; i < LOOKUPS; i++) {
      const q = prefixes[i % prefixes.length]!
      const t0 = performance.now()
      await mentions.suggest(viewer, { q, threadId: kind.threadId })
      times.push(performance.now() - t0)
    }
    times.sort((a, b) => a - b)
    const p = (x: number) => times[Math.min(times.length - 1, Math.floor((x / 100) * times.length))]!.toFixed(2)
    console.log(`lookup ${kind.name}: ${LOOKUPS} lookups, p50 ${p(50)} ms, p95 ${p(95)} ms, max ${times[times.length - 1]!.toFixed(2)} ms`)
  }
  // The plan of the name part for a one-letter prefix (the widest match): one index range, stopped at the limit.
  const { rows: plan } = await sql<{ 'QUERY PLAN': string }>`explain (analyze, buffers off, costs off, timing off, summary on)
    select id from users where lower(username) collate "C" like 'a%' order by lower(username) collate "C" limit 16`.execute(db)
  console.log('prefix scan plan:', plan.map((r) => r['QUERY PLAN']).filter((l) => /Index|Execution/.test(l)).join(' | '))
  console.log(`machine: ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
} finally {
  await db.destroy()
  await database.drop()
}
