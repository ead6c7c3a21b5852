/**
 * Data export benchmark: `npm run bench:export`.
 * Creates a fresh database where one member has written 10,000 posts (with 2,000 earlier
 * versions) in 500 threads, liked 2,000 posts, voted for 300 ideas and has 1,000
 * notifications, then times `DataExportService.build` — what the `account.export` job
 * runs — three times, printing seconds, the archive's size and the process's peak RSS.
 * BENCH_POSTS=100000 changes the number of posts.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import pino from 'pino'
import { loadConfig } from '../../src/config.js'
import { createDb } from '../../src/core/db.js'
import { migrateToLatest } from '../../src/core/migrate.js'
import { personalDataContributors } from '../../src/features/registry.js'
import { buildServices } from '../../src/services.js'
import { freshDatabase } from '../helpers/db.js'

const DB_NAME = 'hearth_bench_export'
const POSTS = Number(process.env.BENCH_POSTS ?? 10_000)
const THREADS = 500
const OTHERS = 1_000

const url = await freshDatabase(DB_NAME)
const db = createDb(url, 4)
await migrateToLatest(db)
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-export-'))
const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', DATABASE_URL: url, DATA_DIR: dataDir, SECRET_KEY: 'x'.repeat(40) })
const services = await buildServices({ config, db, log: pino({ level: 'silent' }) })

const seconds = (from: number) => `${((performance.now() - from) / 1000).toFixed(2)} s`
async function step(label: string, run: () => Promise<unknown>) {
  const t0 = performance.now()
  await run()
  console.log(`  ${label.padEnd(40)} ${seconds(t0)}`)
}

console.log(`seeding one member with ${POSTS.toLocaleString('en')} posts …`)
await step('members', () => sql`
  insert into users (username, email, password_hash, trust_level)
  select 'm' || g, 'm' || g || '@bench.test', 'x', 2 from generate_series(1::bigint, ${OTHERS + 1}) g`.execute(db))
await step('categories and threads', async () => {
  await sql`insert into categories (name, slug) values ('General', 'general')`.execute(db)
  await sql`
    insert into threads (category_id, author_id, title, slug)
    select 1, case when g % 2 = 0 then 1 else 2 end, 'Thread number ' || g || ' about gardening and soil', 'thread-' || g
    from generate_series(1::bigint, ${THREADS}) g`.execute(db)
})
await step('posts', async () => {
  await sql`
    insert into posts (id, thread_id, parent_id, branch_id, author_id, body_md, body_html, depth, path, like_count, revision_count)
    select g, g, null, g, (select author_id from threads where id = g), 'Opening post ' || g, '<p>Opening post ' || g || '</p>', 0, lpad(g::text, 12, '0'), 0, 0
    from generate_series(1::bigint, ${THREADS}) g`.execute(db)
  await sql`
    insert into posts (id, thread_id, parent_id, branch_id, author_id, body_md, body_html, depth, path, like_count, revision_count, edited_at)
    select g, t, t, g, 1,
      'Reply ' || g || E' from the benchmark member, with a few sentences of text so the export has a realistic size.\n\nA second paragraph with **markdown** and a [link](https://example.com/' || g || ').',
      '<p>Reply ' || g || '</p>', 1, lpad(t::text, 12, '0') || '.' || lpad(g::text, 12, '0'), g % 3,
      case when g % 5 = 0 then 1 else 0 end, case when g % 5 = 0 then now() end
    from (select g, ((g - 1) % ${THREADS}) + 1 as t from generate_series(${THREADS + 1}::bigint, ${THREADS + POSTS}) g) s`.execute(db)
  await sql`select setval(pg_get_serial_sequence('posts', 'id'), ${THREADS + POSTS})`.execute(db)
})
await step('revisions, likes, votes, notifications', async () => {
  await sql`insert into post_revisions (post_id, number, body_md, editor_id) select id, 1, 'An earlier version of ' || id, 1 from posts where author_id = 1 and revision_count = 1`.execute(db)
  await sql`insert into post_likes (post_id, user_id) select g, 1 from generate_series(1::bigint, 2000) g where (select author_id from posts where id = g) <> 1`.execute(db)
  await sql`insert into ideas (author_id, title, body_md, body_html, excerpt) select 2, 'Idea ' || g, 'Body', '<p>Body</p>', 'Body' from generate_series(1, 300) g`.execute(db)
  await sql`insert into idea_votes (idea_id, user_id) select id, 1 from ideas`.execute(db)
  await sql`insert into notifications (user_id, kind, url, payload) select 1, 'reply', '/t/1', jsonb_build_object('text', 'Someone replied to your post ' || g) from generate_series(1, 1000) g`.execute(db)
  await sql`analyze`.execute(db)
})

console.log('exporting member 1:')
let peak = 0
const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
for (let run = 1; run <= 3; run++) {
  const id = randomBytes(24).toString('base64url')
  await db.insertInto('data_exports').values({ id, user_id: 1 }).execute()
  const t0 = performance.now()
  const result = await services.exports.build(id)
  console.log(`  run ${run}: ${seconds(t0)}, archive ${((result.bytes ?? 0) / 1024 / 1024).toFixed(1)} MB`)
}
clearInterval(sample)
console.log(`  peak RSS ${(peak / 1024 / 1024).toFixed(0)} MB`)
console.log('where the time goes (each contributor read on its own):')
for (const contributor of personalDataContributors) {
  const t0 = performance.now()
  const sections = await contributor.exportFor(1, db, { services })
  console.log(`  ${contributor.name.padEnd(16)} ${seconds(t0)}  ${sections.map((x) => `${x.key}: ${x.items.length}`).join(', ')}`)
}
await services.close()
await db.destroy()
fs.rmSync(dataDir, { recursive: true, force: true })
