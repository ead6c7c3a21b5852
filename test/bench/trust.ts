/**
 * Trust benchmark: `npm run bench:trust`.
 * Creates a fresh database with 100,000 members, 1,000,000 posts in 20,000 threads over
 * 20 categories, 2,000,000 likes, ~2,000,000 days of reading stats and 20,000 decided
 * flags (all with `insert … select generate_series`), then times the trust recompute and
 * the moderator promotion — the same functions the jobs call — twice each (the second
 * run must change nothing), printing seconds and the process's peak RSS.
 * BENCH_SCALE=0.1 runs a tenth of the size.
 */
import { sql } from 'kysely'
import { createDb } from '../../src/core/db.js'
import { Outbox } from '../../src/core/outbox.js'
import { migrateToLatest } from '../../src/core/migrate.js'
import { CommunitySettings } from '../../src/core/settings.js'
import { NotificationService } from '../../src/features/notifications/service.js'
import { CategoryService } from '../../src/features/discussions/categories.js'
import { TrustService } from '../../src/features/trust/service.js'
import { freshDatabase } from '../helpers/db.js'

const DB_NAME = 'hearth_bench_trust'
const SCALE = Number(process.env.BENCH_SCALE ?? 1)
const MEMBERS = Math.round(100_000 * SCALE)
const POSTS = Math.round(1_000_000 * SCALE)
const THREADS = Math.round(20_000 * SCALE)
const LIKES = Math.round(2_000_000 * SCALE)
const FLAGS = Math.round(20_000 * SCALE)
const CATEGORIES = 20

const db = createDb(await freshDatabase(DB_NAME), 4)
await migrateToLatest(db)

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`
const seconds = (from: number) => `${((performance.now() - from) / 1000).toFixed(1)} s`
async function step(label: string, run: () => Promise<unknown>) {
  const t0 = performance.now()
  await run()
  console.log(`  ${label.padEnd(44)} ${seconds(t0)}`)
}

console.log(`seeding ${MEMBERS.toLocaleString('en')} members, ${POSTS.toLocaleString('en')} posts …`)
const seedStart = performance.now()
await step('members', () => sql`
  insert into users (username, email, password_hash, trust_level, created_at)
  select 'm' || g, 'm' || g || '@bench.test', 'x',
         case when g % 50 = 0 then 3 when g % 5 = 0 then 2 when g % 2 = 0 then 1 else 0 end,
         now() - (g % 400) * interval '1 day'
  from generate_series(1::bigint, ${MEMBERS}) g`.execute(db))
await step('categories', () => sql`
  insert into categories (name, slug, position) select 'Category ' || g, 'category-' || g, g from generate_series(1::bigint, ${CATEGORIES}) g`.execute(db))
// The search indexes play no part in trust; building them would only slow seeding.
await sql`drop index posts_search_idx`.execute(db)
await sql`drop index threads_search_idx`.execute(db)
await step('threads', () => sql`
  insert into threads (category_id, author_id, title, slug, created_at, last_post_at)
  select (g % ${CATEGORIES}) + 1, (g * 7919 % ${MEMBERS}) + 1, 'Thread ' || g, 'thread-' || g,
         now() - (g % 200) * interval '1 day', now() - (g % 200) * interval '1 day'
  from generate_series(1::bigint, ${THREADS}) g`.execute(db))
// Posts 1..THREADS open their threads; the rest are replies. Authors are skewed so that
// some members are far more active than others, as in a real community.
await step('posts', () => sql`
  insert into posts (id, thread_id, parent_id, branch_id, author_id, body_md, body_html, depth, path, like_count, created_at, post_number)
  select g, t, case when g <= ${THREADS} then null else t end, g,
         case when g % 10 < 3 then (g * 31 % (${MEMBERS} / 50)) * 50 + 50 else (g * 7919 % ${MEMBERS}) + 1 end,
         'Post ' || g, '<p>Post ' || g || '</p>',
         case when g <= ${THREADS} then 0 else 1 end,
         case when g <= ${THREADS} then lpad(g::text, 12, '0') else lpad(t::text, 12, '0') || '.' || lpad(g::text, 12, '0') end,
         g % 5, now() - (g % 200) * interval '1 day', ((g - 1) / ${THREADS}) + 1
  from (select g, ((g - 1) % ${THREADS}) + 1 as t from generate_series(1::bigint, ${POSTS}) g) s`.execute(db))
await sql`select setval(pg_get_serial_sequence('posts', 'id'), ${POSTS})`.execute(db)
// Post g has g % 5 likes (2 on average), from distinct members, so like_count is exact without a recount.
await step('likes', () => sql`
  insert into post_likes (post_id, user_id, created_at)
  select p, ((p * 7919 + j * 104729) % ${MEMBERS}) + 1, now() - ((p + j) % 150) * interval '1 day'
  from generate_series(1::bigint, ${POSTS}) p, generate_series(0, 3) j
  where j < p % 5`.execute(db))
await step('daily reading stats', () => sql`
  insert into user_daily_stats (user_id, day, posts_read, topics_entered, reading_seconds)
  select u, current_date - d, 5 + (u + d) % 40, 1 + (u + d) % 5, 60 + (u * d) % 900
  from generate_series(1::bigint, ${MEMBERS}) u, generate_series(0, 99) d
  where d < (u % 41)`.execute(db))
await step('flags (decided)', () => sql`
  insert into flags (post_id, flagger_id, reason, score, status, created_at)
  select (g * 7907 % ${POSTS}) + 1, (g % (${MEMBERS} / 50)) * 50 + 50, 'spam', 1,
         case when g % 4 = 0 then 'disagreed' else 'agreed' end, now() - (g % 90) * interval '1 day'
  from generate_series(1::bigint, ${FLAGS}) g
  on conflict do nothing`.execute(db))
await step('analyze', () => sql`analyze`.execute(db))
console.log(`seeded in ${seconds(seedStart)}`)

const settings = new CommunitySettings(db)
// A lower activity bar than the default, so this synthetic community does promote.
await settings.update({ promotion_min_activity: 10, moderators_per_category: 5 })
const trust = new TrustService(db, settings, new NotificationService(db, new Outbox(db), new CategoryService(db)))

const rss: number[] = []
const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 100)
const rssBefore = process.memoryUsage().rss
console.log(`\nRSS before the jobs: ${mb(rssBefore)}`)
const timed = async <T>(label: string, run: () => Promise<T>) => {
  const t0 = performance.now()
  const result = await run()
  console.log(`${label.padEnd(28)} ${seconds(t0).padStart(8)}   ${JSON.stringify(result)}`)
  return result
}
await timed('trust recompute (1st)', () => trust.recompute())
const second = await timed('trust recompute (2nd)', () => trust.recompute())
await timed('moderator promotion (1st)', () => trust.promote())
const again = await timed('moderator promotion (2nd)', () => trust.promote())
clearInterval(sampler)
const levels = await sql<{ trust_level: number; n: number }>`select trust_level, count(*)::int as n from users group by 1 order by 1`.execute(db)
console.log(`trust levels now: ${levels.rows.map((r) => `TL${r.trust_level}: ${r.n.toLocaleString('en')}`).join(', ')}`)
console.log(`peak RSS during the jobs: ${mb(Math.max(rssBefore, ...rss))} (before: ${mb(rssBefore)}; process max RSS ${mb(process.resourceUsage().maxRSS * 1024)})`)
const idempotent = second.promoted + second.demoted + second.graceChanged === 0 && again.promoted + again.invited + again.demoted + again.graceChanged === 0
console.log(idempotent ? 'second runs changed nothing: idempotent' : 'SECOND RUNS CHANGED SOMETHING')
await db.destroy()
process.exit(idempotent ? 0 : 1)
