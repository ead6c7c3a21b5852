import cliProgress from 'cli-progress'
import { sql } from 'kysely'
import { hashPassword } from './core/auth/passwords.js'
import type { Db } from './core/db.js'
import { renderMarkdown } from './core/markdown.js'
import { slugify } from './features/discussions/categories.js'

export interface SeedOptions {
  users: number
  threads: number
  posts: number
  /** Print a progress bar (default: when stdout is a terminal). */
  progress?: boolean
  /** Deterministic data for benchmarks. */
  randomSeed?: number
}

export interface SeedResult {
  users: number
  threads: number
  posts: number
  categoryIds: number[]
}

const BATCH = 1_000
export const SEED_PASSWORD = 'hearth-demo-password'

const FIRST = ['ada', 'bo', 'cy', 'dee', 'eli', 'fay', 'gus', 'hal', 'ivy', 'jo', 'kit', 'lu', 'max', 'nia', 'oz', 'pia']
const LAST = ['baker', 'cole', 'diaz', 'egan', 'frost', 'gray', 'hale', 'ito', 'jones', 'khan', 'lopez', 'moss']
const TOPICS = ['dark mode', 'the mobile app', 'exporting reports', 'the API', 'keyboard shortcuts', 'pricing', 'the beta', 'integrations', 'notifications', 'search', 'offline sync', 'team accounts']
const OPENERS = ['How do I', 'Feedback on', 'Problem with', 'Ideas for', 'Question about', 'Love the new', 'Workaround for', 'Best practices for']
const BODIES = [
  'I have been using this for a while and wanted to share some thoughts about **{t}**.',
  'Has anyone found a good way to handle {t}? I tried the settings page but could not find it.',
  'Quick tip: you can combine {t} with a saved filter. Works great for our team.',
  '> quoting the docs here\n\nThis does not match what I see with {t}. Is this a bug?',
  'Steps to reproduce:\n\n1. Open {t}\n2. Click *save*\n3. Nothing happens\n\n```\nError: request failed (500)\n```',
  '+1 to this. We would pay for better {t}.',
  'Thanks, that fixed it! For anyone else: restart after changing {t}.',
  'I disagree a bit: {t} is fine as it is, the problem is discoverability.',
]

/** A small deterministic PRNG (mulberry32), so benchmark data sets are the same every run. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}

/**
 * Fills the database with realistic demo data — members, categories, threads and nested
 * replies — using multi-row inserts, fast enough for benchmark data sets. Every seeded
 * member's password is SEED_PASSWORD.
 */
export async function seed(db: Db, options: SeedOptions): Promise<SeedResult> {
  const rand = random(options.randomSeed ?? Date.now())
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!
  const showProgress = options.progress ?? process.stdout.isTTY
  const bars = new cliProgress.MultiBar(
    { format: ' {task} [{bar}] {value}/{total}', hideCursor: true, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  )
  const bar = (task: string, total: number) => (showProgress && total > 0 ? bars.create(total, 0, { task: task.padEnd(8) }) : null)

  const passwordHash = await hashPassword(SEED_PASSWORD)
  const offset = Number((await db.selectFrom('users').select((eb) => eb.fn.max<number>('id').as('max')).executeTakeFirst())?.max ?? 0)
  const userBar = bar('members', options.users)
  for (let start = 0; start < options.users; start += BATCH) {
    const rows = []
    for (let i = start; i < Math.min(options.users, start + BATCH); i++) {
      const n = offset + i + 1
      const first = FIRST[n % FIRST.length]!
      const last = LAST[(n >> 4) % LAST.length]!
      rows.push({
        username: `${first}_${last}${n}`,
        email: `${first}_${last}${n}@example.test`,
        password_hash: passwordHash,
        display_name: `${cap(first)} ${cap(last)}`,
        trust_level: n % 10 === 0 ? 3 : n % 3 === 0 ? 2 : n % 2,
        email_verified_at: new Date(),
        last_seen_at: new Date(Date.now() - (n % 90) * 86_400_000),
      })
    }
    await db.insertInto('users').values(rows).execute()
    userBar?.update(Math.min(options.users, start + BATCH))
  }

  let categoryIds: number[] = []
  if (options.threads > 0) {
    const demo = [
      { name: 'General', slug: 'general', description: 'Anything about the product', position: 1 },
      { name: 'Help', slug: 'help', description: 'Questions and answers', position: 2 },
      { name: 'Show and tell', slug: 'show-and-tell', description: 'What you built', position: 3 },
      { name: 'Members lounge', slug: 'lounge', description: 'For members only', visibility: 'members' as const, position: 4 },
    ]
    await db.insertInto('categories').values(demo).onConflict((oc) => oc.column('slug').doNothing()).execute()
    const rows = await db.selectFrom('categories').select('id').where('slug', 'in', demo.map((d) => d.slug)).orderBy('position').execute()
    categoryIds = rows.map((c) => c.id)
  }
  const authors = (await db.selectFrom('users').select('id').orderBy('id', 'desc').limit(5_000).execute()).map((u) => u.id)
  if (options.threads > 0 && authors.length === 0) throw new Error('seed threads needs members: pass --users')

  const bodies = BODIES.flatMap((b) => TOPICS.map((t) => b.replaceAll('{t}', t))).map((md) => ({ md, html: renderMarkdown(md).html }))
  const threadBar = bar('threads', options.threads)
  const postBar = bar('posts', options.posts)
  const repliesPerThread = options.threads > 0 ? Math.max(0, Math.floor((options.posts - options.threads) / options.threads)) : 0
  let postsMade = 0
  const now = Date.now()
  for (let start = 0; start < options.threads; start += BATCH) {
    const count = Math.min(BATCH, options.threads - start)
    const threadRows = Array.from({ length: count }, () => {
      const title = `${pick(OPENERS)} ${pick(TOPICS)}`
      return { category_id: pick(categoryIds), author_id: pick(authors), title, slug: slugify(title), created_at: new Date(now - rand() * 90 * 86_400_000) }
    })
    const threads = await db.insertInto('threads').values(threadRows).returning(['id', 'created_at', 'author_id']).execute()
    const replies = threads.length * repliesPerThread
    const { rows: ids } = await sql<{ id: number }>`select nextval(pg_get_serial_sequence('posts', 'id'))::bigint as id from generate_series(1, ${threads.length + replies})`.execute(db)
    let next = 0
    const posts = []
    for (const thread of threads) {
      const opId = Number(ids[next++]!.id)
      const body = pick(bodies)
      const tree: { id: number; path: string; depth: number; branch: number }[] = [{ id: opId, path: String(opId).padStart(12, '0'), depth: 0, branch: opId }]
      posts.push({ id: opId, thread_id: thread.id, parent_id: null, branch_id: opId, author_id: thread.author_id, body_md: body.md, body_html: body.html, depth: 0, path: tree[0]!.path, created_at: thread.created_at, post_number: 1 })
      for (let r = 0; r < repliesPerThread; r++) {
        const id = Number(ids[next++]!.id)
        // Half the replies answer the opening post, the rest a random earlier reply.
        const parent = rand() < 0.5 ? tree[0]! : pick(tree)
        const depth = parent.depth + 1
        const node = { id, path: `${parent.path}.${String(id).padStart(12, '0')}`, depth, branch: depth === 1 ? id : parent.branch }
        tree.push(node)
        const reply = pick(bodies)
        posts.push({
          id, thread_id: thread.id, parent_id: parent.id, branch_id: node.branch, author_id: pick(authors), body_md: reply.md, body_html: reply.html,
          depth, path: node.path, created_at: new Date(thread.created_at.getTime() + (r + 1) * 60_000), post_number: r + 2,
        })
      }
    }
    for (let i = 0; i < posts.length; i += BATCH) {
      await db.insertInto('posts').values(posts.slice(i, i + BATCH)).execute()
      postsMade += Math.min(BATCH, posts.length - i)
      postBar?.update(Math.min(options.posts, postsMade))
    }
    const threadIds = threads.map((t) => t.id)
    await sql`
      update threads t set reply_count = s.replies, last_post_at = s.last_at, last_poster_id = s.last_author, last_post_number = s.replies + 1
      from (
        select distinct on (thread_id) thread_id, count(*) over (partition by thread_id) - 1 as replies, created_at as last_at, author_id as last_author
        from posts where thread_id = any(${threadIds}) order by thread_id, created_at desc, id desc
      ) s where t.id = s.thread_id`.execute(db)
    await sql`
      update posts p set reply_count = c.n
      from (select parent_id, count(*) as n from posts where thread_id = any(${threadIds}) and parent_id is not null group by parent_id) c
      where p.id = c.parent_id`.execute(db)
    threadBar?.update(start + count)
  }
  bars.stop()
  // Fresh rows have no planner statistics until autovacuum comes round: gather them now, so
  // the first queries on a seeded (or imported) forum are planned from real sizes.
  await sql`analyze`.execute(db)
  return { users: options.users, threads: options.threads, posts: postsMade, categoryIds }
}
