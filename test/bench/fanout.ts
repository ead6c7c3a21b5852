/**
 * The watcher fan-out: `npm run bench:fanout`.
 * On a fresh database, BENCH_WATCHERS members (default 20,000) watch one thread; then
 * BENCH_POSTS posts (default 5) are fanned out by the notifications consumer's statement, as
 * the outbox relay runs it. The first post inserts a notification per watcher; later ones
 * bump the same unread rows ("N new replies"). Prints the time and statements per fan-out.
 */
import { cpus, loadavg } from 'node:os'
import { sql } from 'kysely'
import { createDb } from '../../src/core/db.js'
import { migrateToLatest } from '../../src/core/migrate.js'
import { Outbox } from '../../src/core/outbox.js'
import { CategoryService } from '../../src/features/discussions/categories.js'
import { NotificationService } from '../../src/features/notifications/service.js'
import { freshDatabase } from '../helpers/db.js'
import { QueryCounter } from '../helpers/query-counter.js'

const WATCHERS = Number(process.env.BENCH_WATCHERS ?? 20_000)
const POSTS = Number(process.env.BENCH_POSTS ?? 5)
const counter = new QueryCounter()
const plain = createDb(await freshDatabase(`hearth_bench_fanout_${process.pid}`), 4)
await migrateToLatest(plain)
const db = plain.withPlugin(counter)

console.log(`machine load: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min) on ${cpus().length} cores`)
await sql`insert into users (username, email, password_hash) select 'w' || g, 'w' || g || '@example.test', 'x' from generate_series(1, ${WATCHERS + 1}) g`.execute(db)
const category = await db.insertInto('categories').values({ name: 'General', slug: 'general' }).returning('id').executeTakeFirstOrThrow()
const thread = await db.insertInto('threads').values({ category_id: category.id, author_id: 1, title: 'Busy thread', slug: 'busy-thread', last_poster_id: 1 }).returning('id').executeTakeFirstOrThrow()
await sql`insert into thread_notification_levels (user_id, thread_id, level) select id, ${thread.id}, 'watching' from users where id > 1`.execute(db)
await sql`analyze`.execute(db)

const notifications = new NotificationService(db, new Outbox(db), new CategoryService(db))
for (let i = 1; i <= POSTS; i++) {
  const event = await db.insertInto('outbox').values({ type: 'post.notify', payload: '{}', channels: [] }).returning('id').executeTakeFirstOrThrow()
  counter.roundTrips = 0
  const t0 = performance.now()
  const told = await db.transaction().execute((trx) =>
    notifications.fanOutPost(trx, event.id, {
      threadId: thread.id, postId: i, categoryId: category.id, authorId: 1, title: 'Busy thread', url: `/t/${thread.id}/busy-thread#p${i}`, text: 'w1 posted in “Busy thread”', notified: [],
    }),
  )
  console.log(`post ${i}: ${told.toLocaleString('en')} watchers told in ${(performance.now() - t0).toFixed(0)} ms, ${counter.roundTrips} statements (${i === 1 ? 'new rows' : 'bumped rows'})`)
}
const { rows } = await sql<{ n: number; c: number }>`select count(*)::int as n, max(count)::int as c from notifications`.execute(db)
console.log(`notifications: ${rows[0]!.n.toLocaleString('en')} rows, each counting ${rows[0]!.c} posts; events: ${(await sql<{ n: number }>`select count(*)::int as n from outbox where type like 'notification.%'`.execute(db)).rows[0]!.n.toLocaleString('en')}`)
await db.destroy()
