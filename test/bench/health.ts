/**
 * Community-health benchmark: `npm run bench:health`.
 * Creates a fresh database with 100,000 members, 1,000,000 posts in 20,000 threads spread
 * over a year, 2,000,000 likes, reading days and agreed flags (all `insert … select
 * generate_series`), then times what the nightly job does — the first-run backfill of the
 * activity log, a year of daily figures and the dashboard's rollups, one more night's roll,
 * the lifecycle stages (twice: the second run is the steady state) — and the dashboard's
 * figures for 30 days and a year (median of 5).
 * Goals: stages under 60 s; the dashboard under 500 ms. BENCH_SCALE=0.1 runs a tenth.
 */
import { sql } from 'kysely'
import pino from 'pino'
import { createDb } from '../../src/core/db.js'
import { migrateToLatest } from '../../src/core/migrate.js'
import { CommunitySettings } from '../../src/core/settings.js'
import { HealthReport } from '../../src/features/activity/report.js'
import { ActivityService } from '../../src/features/activity/service.js'
import { ADMIN_URL, freshDatabase } from '../helpers/db.js'

const DB_NAME = 'hearth_bench_health'
const SCALE = Number(process.env.BENCH_SCALE ?? 1)
const MEMBERS = Math.round(100_000 * SCALE)
const POSTS = Math.round(1_000_000 * SCALE)
const THREADS = Math.round(20_000 * SCALE)
const FLAGS = Math.round(20_000 * SCALE)
const CATEGORIES = 20
const DAYS = 365

// Seeding a million rows in one statement takes longer than the app's statement timeout.
const REUSE = process.env.BENCH_REUSE === '1'
const db = createDb(REUSE ? ADMIN_URL.replace(/\/[^/]*$/, `/${DB_NAME}`) : await freshDatabase(DB_NAME), 4, { connectMs: 5_000, statementMs: 0 })
await migrateToLatest(db)

const DAY_MS = 86_400_000
const seconds = (from: number) => `${((performance.now() - from) / 1000).toFixed(1)} s`
async function step(label: string, run: () => Promise<unknown>) {
  const t0 = performance.now()
  await run()
  console.log(`  ${label.padEnd(44)} ${seconds(t0)}`)
}

// BENCH_REUSE=1 keeps the database of an earlier run (seeded and backfilled) and times the
// nightly job and the dashboard again from empty rollups.
if (REUSE) {
  await sql`truncate health_daily, health_threads, health_members, cohort_activity, helper_months, health_helpers, member_months, member_stages, member_stage_changes`.execute(db)
  console.log('reusing the seeded database; rollups emptied')
} else {
  console.log(`seeding ${MEMBERS.toLocaleString('en')} members, ${POSTS.toLocaleString('en')} posts over ${DAYS} days …`)
  const seedStart = performance.now()
  await step('members', () => sql`
    insert into users (username, email, password_hash, role, trust_level, created_at)
    select 'm' || g, 'm' || g || '@bench.test', 'x', case when g % 5000 = 0 then 'moderator' else 'member' end, g % 4,
           now() - (g % ${DAYS + 35}) * interval '1 day'
    from generate_series(1::bigint, ${MEMBERS}) g`.execute(db))
  await step('categories', () => sql`
    insert into categories (name, slug, position) select 'Category ' || g, 'category-' || g, g from generate_series(1::bigint, ${CATEGORIES}) g`.execute(db))
  await sql`drop index posts_search_idx`.execute(db)
  await sql`drop index threads_search_idx`.execute(db)
  await step('threads', () => sql`
    insert into threads (category_id, author_id, title, slug, created_at, last_post_at)
    select (g % ${CATEGORIES}) + 1, (g * 7919 % ${MEMBERS}) + 1, 'Thread ' || g, 'thread-' || g,
           now() - (g % ${DAYS}) * interval '1 day' - (g % 1440) * interval '1 minute', now() - (g % ${DAYS}) * interval '1 day'
    from generate_series(1::bigint, ${THREADS}) g`.execute(db))
  // Replies come after their thread's start; authors are skewed, as in a real community.
  await step('posts', () => sql`
    insert into posts (id, thread_id, parent_id, branch_id, author_id, body_md, body_html, depth, path, like_count, created_at, post_number)
    select g, t, case when g <= ${THREADS} then null else t end, g,
           case when g % 10 < 3 then (g * 31 % (${MEMBERS} / 50)) * 50 + 50 else (g * 7919 % ${MEMBERS}) + 1 end,
           'Post ' || g, '<p>Post ' || g || '</p>',
           case when g <= ${THREADS} then 0 else 1 end,
           case when g <= ${THREADS} then lpad(g::text, 12, '0') else lpad(t::text, 12, '0') || '.' || lpad(g::text, 12, '0') end,
           g % 5,
           now() - (t % ${DAYS}) * interval '1 day' - (t % 1440) * interval '1 minute' + case when g <= ${THREADS} then interval '0' else (g % 4000) * interval '1 minute' end,
           ((g - 1) / ${THREADS}) + 1
    from (select g, ((g - 1) % ${THREADS}) + 1 as t from generate_series(1::bigint, ${POSTS}) g) s`.execute(db))
  await sql`select setval(pg_get_serial_sequence('posts', 'id'), ${POSTS})`.execute(db)
  await sql`update threads set last_post_number = (${POSTS} - id) / ${THREADS} + 1`.execute(db)
  await step('likes', () => sql`
    insert into post_likes (post_id, user_id, created_at)
    select p, ((p * 7919 + j * 104729) % ${MEMBERS}) + 1, now() - ((p + j) % ${DAYS}) * interval '1 day'
    from generate_series(1::bigint, ${POSTS}) p, generate_series(0, 3) j
    where j < p % 5
    on conflict do nothing`.execute(db))
  await step('daily reading stats (visits)', () => sql`
    insert into user_daily_stats (user_id, day, posts_read, topics_entered, reading_seconds)
    select u, current_date - d, 5, 1, 60
    from generate_series(1::bigint, ${MEMBERS}) u, generate_series(0, ${DAYS - 1}) d
    where (u * 31 + d) % (1 + u % 23) = 0`.execute(db))
  await step('flags (decided)', () => sql`
    insert into flags (post_id, flagger_id, reason, score, status, created_at, resolved_at)
    select (g * 7907 % ${POSTS}) + 1, (g % (${MEMBERS} / 50)) * 50 + 50, 'spam', 1,
           case when g % 4 = 0 then 'disagreed' else 'agreed' end, now() - (g % 90) * interval '1 day', now() - (g % 90) * interval '1 day'
    from generate_series(1::bigint, ${FLAGS}) g
    on conflict do nothing`.execute(db))
  await step('analyze', () => sql`analyze`.execute(db))
  console.log(`seeded in ${seconds(seedStart)}`)
}

const settings = new CommunitySettings(db)
const activity = new ActivityService(db, settings, pino({ level: 'silent' }))
const report = new HealthReport(db)
const timed = async <T>(label: string, run: () => Promise<T>) => {
  const t0 = performance.now()
  const result = await run()
  console.log(`${label.padEnd(36)} ${seconds(t0).padStart(8)}   ${JSON.stringify(result)}`)
  return result
}

console.log('\nthe nightly job')
await timed('backfill of the activity log', () => activity.ensureBackfilled())
const rows = await sql<{ n: number }>`select count(*)::int as n from activity_log`.execute(db)
console.log(`  activity log: ${rows.rows[0]!.n.toLocaleString('en')} rows`)
// Autovacuum would have visited a table this size since: vacuum makes index-only scans possible.
await sql`vacuum analyze`.execute(db)
await timed(`daily figures and rollups (${DAYS} days, first run)`, () => activity.rollDays())
await timed('daily figures (same night again)', () => activity.rollDays())
// A night's roll: yesterday is rolled again, as the nightly job rolls the day that just closed.
const yesterdayIso = new Date(Date.now() - DAY_MS).toISOString().slice(0, 10)
await sql`delete from health_daily where day = ${yesterdayIso}::date`.execute(db)
await timed('daily figures and rollups (one night)', () => activity.rollDays())
const first = await timed('lifecycle stages (first run)', () => activity.computeStages())
const steady = await timed('lifecycle stages (next night)', () => activity.computeStages())
const counts = await sql<{ stage: string; n: number }>`select stage, count(*)::int as n from member_stages group by 1 order by 2 desc`.execute(db)
console.log(`  stages: ${counts.rows.map((r) => `${r.stage} ${r.n.toLocaleString('en')}`).join(', ')}`)

console.log('\nthe dashboard (figures for one page view; median of 5)')
const DAY = 86_400_000
const yesterday = new Date(Math.floor(Date.now() / DAY) * DAY - DAY)
const ranges: [string, number, number][] = [
  ['30 days', 30, 0],
  ['365 days', 365, 0],
  // Not a preset: the top contributors are bounded from the monthly rollups, then counted.
  ['60 days ending 10 days ago', 60, 10],
  ['365 days ending 15 days ago', 365, 15],
]
for (const [label, days, back] of ranges) {
  const to = new Date(yesterday.getTime() - back * DAY)
  const range = { from: new Date(to.getTime() - (days - 1) * DAY), to }
  const times: number[] = []
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    await report.figures(range)
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  console.log(`  ${label.padEnd(34)} ${times[2]!.toFixed(0).padStart(6)} ms   (min ${times[0]!.toFixed(0)}, max ${times[4]!.toFixed(0)})`)
}
console.log(`\nstages ${first.members.toLocaleString('en')} members; steady-state run changed ${steady.changes}`)
await db.destroy()
