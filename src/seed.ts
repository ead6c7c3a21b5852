import { randomBytes } from 'node:crypto'
import cliProgress from 'cli-progress'
import { sql } from 'kysely'
import type { SessionUser } from './core/auth/sessions.js'
import { hashPassword } from './core/auth/passwords.js'
import type { Db } from './core/db.js'
import { renderMarkdown } from './core/markdown.js'
import { IDEA_COMMENTS_CATEGORY, slugify } from './features/discussions/categories.js'
import {
  BIOS, FIRST_NAMES, IDEA_COMMENTS, IDEAS, LAST_NAMES, openingPost, replyText, STATUS_NOTES, TITLES,
} from './seed-text.js'
import type { Services } from './services.js'

export interface SeedOptions {
  users: number
  threads: number
  /** Total posts (openings and replies), spread evenly over the threads; 0 or absent: a varied number per thread. */
  posts?: number
  /** Print a progress bar (default: when stdout is a terminal); otherwise plain progress lines. */
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
const DAY = 86_400_000
/** Every seeded member's password (the admin gets a random one of its own). */
export const SEED_PASSWORD = 'hearth-demo-password'

type Kind = keyof typeof TITLES

interface SeedCategory {
  id: number
  kind: Kind
  /** Relative share of the threads. */
  weight: number
  staffOnly?: boolean
}

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

/** Progress as a bar in a terminal, or a few plain lines (at each quarter) in a log. */
class Progress {
  private readonly started = performance.now()
  private readonly bars: cliProgress.MultiBar | null
  constructor(private readonly tty: boolean, private readonly quiet: boolean) {
    this.bars = tty && !quiet
      ? new cliProgress.MultiBar({ format: ' {task} [{bar}] {value}/{total}', hideCursor: true, noTTYOutput: false }, cliProgress.Presets.shades_classic)
      : null
  }

  task(name: string, total: number): { update(n: number): void } {
    if (this.quiet || total <= 0) return { update() {} }
    if (this.bars) {
      const bar = this.bars.create(total, 0, { task: name.padEnd(9) })
      return { update: (n) => bar.update(Math.min(total, n)) }
    }
    let shown = -1
    return {
      update: (n) => {
        const quarter = Math.floor((Math.min(n, total) / total) * 4)
        if (quarter === shown) return
        shown = quarter
        console.log(`seed: ${name} ${Math.min(n, total)}/${total} (${((performance.now() - this.started) / 1000).toFixed(1)} s)`)
      },
    }
  }

  stop(): void {
    this.bars?.stop()
  }
}

// Picks by weight: the cumulative weights, searched by bisection.
function weighted(weights: number[], rand: () => number): () => number {
  const cumulative: number[] = []
  let sum = 0
  for (const w of weights) cumulative.push((sum += w))
  return () => {
    const x = rand() * sum
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cumulative[mid]! < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

function username(index: number, rand: () => number): string {
  const first = FIRST_NAMES[index % FIRST_NAMES.length]!.toLowerCase()
  const last = LAST_NAMES[Math.floor(index / FIRST_NAMES.length) % LAST_NAMES.length]!.toLowerCase()
  const round = Math.floor(index / (FIRST_NAMES.length * LAST_NAMES.length))
  const style = Math.floor(rand() * 3)
  const base = style === 0 ? `${first}_${last}` : style === 1 ? `${first}${last[0]}` : `${first}-${last}`
  const suffix = round > 0 || style === 1 ? String(index) : ''
  return `${base.slice(0, 20 - suffix.length)}${suffix}`
}

interface ForumOptions extends SeedOptions {
  categories: SeedCategory[]
  /** Varied replies per thread, activity skewed to a few members, joins over months (the demo). */
  lively: boolean
  /** Threads in staff-only categories are started by this member. */
  staffAuthorId?: number
  progressBars: Progress
}

/**
 * Members, threads and nested replies with multi-row inserts, fast enough for benchmark
 * data sets. Lively mode spreads joins over eight months, gives a few members most of the
 * activity, and gives each thread its own number of replies; otherwise every thread gets
 * the same number (benchmarks compare like with like).
 */
async function seedForum(db: Db, options: ForumOptions): Promise<SeedResult & { userIds: number[]; postIds: { id: number; author: number; depth: number }[] }> {
  const rand = random(options.randomSeed ?? Date.now())
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!
  const now = Date.now()
  const span = options.lively ? 240 : 90
  const passwordHash = await hashPassword(SEED_PASSWORD)
  const offset = Number((await db.selectFrom('users').select((eb) => eb.fn.max<number>('id').as('max')).executeTakeFirst())?.max ?? 0)
  const taken = new Set((await db.selectFrom('users').select(sql<string>`lower(username)`.as('u')).execute()).map((r) => r.u))

  // Members: join dates lean recent, and the activity rank decides trust and who posts.
  const userBar = options.progressBars.task('members', options.users)
  const userIds: number[] = []
  const joined: number[] = []
  const activity: number[] = []
  for (let start = 0; start < options.users; start += BATCH) {
    const rows = []
    for (let i = start; i < Math.min(options.users, start + BATCH); i++) {
      let name = username(offset + i, rand)
      while (taken.has(name.toLowerCase())) name = `${name.slice(0, 14)}${Math.floor(rand() * 1e6)}`
      taken.add(name.toLowerCase())
      const rank = rand()
      const joinedAt = now - span * DAY * (1 - rand() ** 0.6) - rand() * DAY
      const weight = 1 / (1 + rank * 60) ** 1.1
      const trust = rank < 0.03 ? 3 : rank < 0.15 ? 2 : rank < 0.55 ? 1 : 0
      const [first, last] = [FIRST_NAMES[(offset + i) % FIRST_NAMES.length]!, LAST_NAMES[Math.floor((offset + i) / FIRST_NAMES.length) % LAST_NAMES.length]!]
      rows.push({
        username: name,
        email: `${name.toLowerCase()}@example.test`,
        password_hash: passwordHash,
        display_name: rand() < 0.7 ? `${first} ${last}` : null,
        bio: options.lively ? pick(BIOS) : '',
        trust_level: options.lively ? trust : (offset + i + 1) % 10 === 0 ? 3 : (offset + i + 1) % 3 === 0 ? 2 : (offset + i + 1) % 2,
        email_verified_at: new Date(joinedAt + 600_000),
        created_at: new Date(joinedAt),
        last_seen_at: new Date(Math.max(joinedAt, now - (rank < 0.3 ? rand() * 3 : rand() * 60) * DAY)),
      })
      joined.push(joinedAt)
      activity.push(options.lively ? weight : 1)
    }
    const inserted = await db.insertInto('users').values(rows).returning('id').execute()
    userIds.push(...inserted.map((u) => u.id))
    userBar.update(Math.min(options.users, start + BATCH))
  }

  const authors = userIds.length > 0 ? userIds : (await db.selectFrom('users').select('id').orderBy('id', 'desc').limit(5_000).execute()).map((u) => u.id)
  if (options.threads > 0 && authors.length === 0) throw new Error('seed threads needs members: pass --users')
  const joinedAt = (index: number) => joined[index] ?? now - span * DAY
  const pickAuthor = userIds.length > 0 ? weighted(activity, rand) : () => Math.floor(rand() * authors.length)
  const pickCategory = weighted(options.categories.map((c) => c.weight), rand)

  const threadBar = options.progressBars.task('threads', options.threads)
  const postBar = options.progressBars.task('posts', options.posts ?? 0)
  const evenReplies = options.posts ? Math.max(0, Math.floor((options.posts - options.threads) / Math.max(1, options.threads))) : 0
  const repliesFor = () => {
    if (!options.lively) return evenReplies
    if (rand() < 0.12) return 0
    return Math.min(60, Math.floor(-Math.log(1 - rand()) * 7) + 1)
  }
  const postIds: { id: number; author: number; depth: number }[] = []
  const usedTitles = new Set<string>()
  let postsMade = 0
  for (let start = 0; start < options.threads; start += BATCH) {
    const count = Math.min(BATCH, options.threads - start)
    const threadRows = Array.from({ length: count }, () => {
      const category = options.categories[pickCategory()]!
      const authorIndex = pickAuthor()
      const author = category.staffOnly && options.staffAuthorId ? options.staffAuthorId : authors[authorIndex]!
      const from = Math.max(joinedAt(authorIndex), now - span * DAY)
      // A title is not repeated while the bank has others (large seeds reuse them, as forums do).
      let title = TITLES[category.kind](pick)
      for (let tries = 0; tries < 8 && usedTitles.has(title); tries++) title = TITLES[category.kind](pick)
      usedTitles.add(title)
      const createdAt = new Date(from + rand() * (now - from) * (options.lively ? rand() ** 0.3 : 1))
      return { category_id: category.id, author_id: author, title, slug: slugify(title), created_at: createdAt }
    })
    const threads = await db.insertInto('threads').values(threadRows).returning(['id', 'created_at', 'author_id']).execute()
    const replyCounts = threads.map(() => repliesFor())
    const total = threads.length + replyCounts.reduce((a, b) => a + b, 0)
    const { rows: ids } = await sql<{ id: number }>`select nextval(pg_get_serial_sequence('posts', 'id'))::bigint as id from generate_series(1, ${total})`.execute(db)
    let next = 0
    const posts = []
    for (const [t, thread] of threads.entries()) {
      const opId = Number(ids[next++]!.id)
      const md = openingPost(pick, rand)
      const tree: { id: number; path: string; depth: number; branch: number }[] = [{ id: opId, path: String(opId).padStart(12, '0'), depth: 0, branch: opId }]
      posts.push({ id: opId, thread_id: thread.id, parent_id: null, branch_id: opId, author_id: thread.author_id, body_md: md, body_html: renderMarkdown(md).html, depth: 0, path: tree[0]!.path, created_at: thread.created_at, post_number: 1 })
      postIds.push({ id: opId, author: thread.author_id, depth: 0 })
      let at = thread.created_at.getTime()
      for (let r = 0; r < replyCounts[t]!; r++) {
        const id = Number(ids[next++]!.id)
        // Most replies answer the opening post or carry on the latest exchange; some pick up an older one.
        const roll = rand()
        const latest = tree[tree.length - 1]!
        let parent = roll < 0.45 ? tree[0]! : roll < 0.8 && latest.depth < 8 ? latest : pick(tree)
        if (!options.lively && rand() < 0.5) parent = tree[0]!
        const depth = parent.depth + 1
        const node = { id, path: `${parent.path}.${String(id).padStart(12, '0')}`, depth, branch: depth === 1 ? id : parent.branch }
        tree.push(node)
        const md = options.lively ? replyText(pick, rand) : openingPost(pick, rand)
        const author = authors[pickAuthor()]!
        at = options.lively ? Math.min(now - 60_000, at + rand() * rand() * 2 * DAY + 60_000) : thread.created_at.getTime() + (r + 1) * 60_000
        posts.push({
          id, thread_id: thread.id, parent_id: parent.id, branch_id: node.branch, author_id: author, body_md: md, body_html: renderMarkdown(md).html,
          // Numbered in the order written, which is the order of their times.
          depth, path: node.path, created_at: new Date(at), post_number: r + 2,
        })
        postIds.push({ id, author, depth })
      }
    }
    for (let i = 0; i < posts.length; i += BATCH) {
      await db.insertInto('posts').values(posts.slice(i, i + BATCH)).execute()
      postsMade += Math.min(BATCH, posts.length - i)
      postBar.update(postsMade)
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
    threadBar.update(start + count)
  }
  return { users: options.users, threads: options.threads, posts: postsMade, categoryIds: options.categories.map((c) => c.id), userIds, postIds }
}

/**
 * Members, four categories, threads and nested replies, fast, for benchmarks (`test/bench/`):
 * every thread gets the same number of replies. Every seeded member's password is SEED_PASSWORD.
 */
export async function seed(db: Db, options: SeedOptions): Promise<SeedResult> {
  let categories: SeedCategory[] = []
  if (options.threads > 0) {
    const demo = [
      { name: 'General', slug: 'general', description: 'Anything about the product', position: 1 },
      { name: 'Help', slug: 'help', description: 'Questions and answers', position: 2 },
      { name: 'Show and tell', slug: 'show-and-tell', description: 'What you built', position: 3 },
      { name: 'Members lounge', slug: 'lounge', description: 'For members only', visibility: 'members' as const, position: 4 },
    ]
    await db.insertInto('categories').values(demo).onConflict((oc) => oc.column('slug').doNothing()).execute()
    const rows = await db.selectFrom('categories').select(['id', 'slug']).where('slug', 'in', demo.map((d) => d.slug)).orderBy('position').execute()
    const kinds: Record<string, Kind> = { general: 'general', help: 'help', 'show-and-tell': 'show', lounge: 'chat' }
    categories = rows.map((c) => ({ id: c.id, kind: kinds[c.slug]!, weight: 1 }))
  }
  const bars = new Progress(options.progress ?? process.stdout.isTTY === true, options.progress === false)
  const result = await seedForum(db, { ...options, categories, lively: false, progressBars: bars })
  bars.stop()
  // Fresh rows have no planner statistics until autovacuum comes round: gather them now, so
  // the first queries on a seeded (or imported) forum are planned from real sizes.
  await sql`analyze`.execute(db)
  return { users: result.users, threads: result.threads, posts: result.posts, categoryIds: result.categoryIds }
}

export interface DemoOptions {
  users: number
  threads: number
  progress?: boolean
  randomSeed?: number
}

export interface DemoResult {
  admin: { username: string; email: string; password: string } | null
  counts: Record<string, number>
}

const DEMO_CATEGORIES = [
  { name: 'Announcements', slug: 'announcements', description: 'News from the team: releases, maintenance and events.', color: '#b45309', who_can_start: 'staff' as const, kind: 'news' as const, weight: 0.5 },
  { name: 'General', slug: 'general', description: 'Anything about the product and how you use it.', color: '#2563eb', kind: 'general' as const, weight: 2 },
  { name: 'Help and questions', slug: 'help', description: 'Stuck? Ask here; someone has probably solved it before.', color: '#16a34a', kind: 'help' as const, weight: 3.5 },
  { name: 'Feature feedback', slug: 'feedback', description: 'What works, what does not, and what you miss. Ideas go on the idea board.', color: '#9333ea', kind: 'feedback' as const, weight: 1.5 },
  { name: 'Show and tell', slug: 'show-and-tell', description: 'Templates, setups and things you built with it.', color: '#db2777', kind: 'show' as const, weight: 1 },
  { name: 'Members lounge', slug: 'lounge', description: 'Off-topic chat for signed-in members.', color: '#0891b2', visibility: 'members' as const, kind: 'chat' as const, weight: 1.5 },
]

async function sessionUser(db: Db, id: number): Promise<SessionUser> {
  const { password_hash: _hash, ...user } = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  return user
}

/**
 * A demo community that looks lived in (`npm run seed`): an admin with a random password,
 * categories with descriptions and colours, members who joined over eight months with
 * very different activity, threads with natural titles and varied nested replies, likes,
 * ideas in every status with votes and comments (eight for under 50 members, else eighteen), a beta program with a waitlist, category
 * moderators and flags waiting in the review queue. Ideas, votes, the beta and flags go
 * through the services, so their counts and rules hold as in real use.
 */
export async function seedDemo(services: Services, options: DemoOptions): Promise<DemoResult> {
  const { db } = services
  const rand = random(options.randomSeed ?? Date.now())
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!
  const bars = new Progress(options.progress ?? process.stdout.isTTY === true, options.progress === false)
  const outboxBefore = Number((await db.selectFrom('outbox').select((eb) => eb.fn.max<number>('id').as('max')).executeTakeFirst())?.max ?? 0)

  // The admin, unless the community has one: the first account, with a password of its own.
  let admin: DemoResult['admin'] = null
  const existingAdmin = await db.selectFrom('users').select('id').where('role', '=', 'admin').orderBy('id').executeTakeFirst()
  let adminId = existingAdmin?.id
  if (!adminId) {
    let name = 'owner'
    for (let n = 2; await db.selectFrom('users').select('id').where(sql`lower(username)`, '=', name).executeTakeFirst(); n++) name = `owner${n}`
    const password = randomBytes(12).toString('base64url')
    const created = await services.accounts.signUp({ username: name, email: `${name}@example.test`, password }, { role: 'admin' })
    await db.updateTable('users').set({ created_at: new Date(Date.now() - 250 * DAY), email_verified_at: new Date(), trust_level: 4, display_name: 'Community owner' }).where('id', '=', created.id).execute()
    adminId = created.id
    admin = { username: name, email: created.email, password }
  }

  for (const [position, c] of DEMO_CATEGORIES.entries()) {
    await db
      .insertInto('categories')
      .values({ name: c.name, slug: c.slug, description: c.description, color: c.color, who_can_start: c.who_can_start ?? 'members', visibility: c.visibility ?? 'public', position: position + 1 })
      .onConflict((oc) => oc.column('slug').doNothing())
      .execute()
  }
  const rows = await db.selectFrom('categories').select(['id', 'slug']).where('slug', 'in', DEMO_CATEGORIES.map((c) => c.slug)).execute()
  const categories: SeedCategory[] = DEMO_CATEGORIES.map((c) => ({ id: rows.find((r) => r.slug === c.slug)!.id, kind: c.kind, weight: c.weight, staffOnly: c.who_can_start === 'staff' }))
  services.community.changed()

  const forum = await seedForum(db, { users: options.users, threads: options.threads, randomSeed: options.randomSeed, categories, lively: true, staffAuthorId: adminId, progressBars: bars })
  await db.updateTable('threads').set({ pinned: true }).where('category_id', '=', categories[0]!.id).where('id', '=', (eb) => eb.selectFrom('threads').select((e) => e.fn.min<number>('id').as('m')).where('category_id', '=', categories[0]!.id)).execute()

  // Likes: most posts get a few, some get many, the opening posts a few more; never one's own.
  const likeBar = bars.task('likes', forum.postIds.length)
  const members = forum.userIds
  let likes: { post_id: number; user_id: number; created_at: Date }[] = []
  let liked = 0
  for (const [i, post] of forum.postIds.entries()) {
    const n = Math.min(members.length - 1, Math.floor(-Math.log(1 - rand()) * (post.depth === 0 ? 2.5 : 1.2)))
    const chosen = new Set<number>()
    for (let k = 0; k < n * 2 && chosen.size < n; k++) {
      const who = pick(members)
      if (who !== post.author) chosen.add(who)
    }
    for (const user of chosen) likes.push({ post_id: post.id, user_id: user, created_at: new Date() })
    if (likes.length >= 5 * BATCH || i === forum.postIds.length - 1) {
      if (likes.length > 0) await db.insertInto('post_likes').values(likes).onConflict((oc) => oc.doNothing()).execute()
      liked += likes.length
      likes = []
      likeBar.update(i + 1)
    }
  }
  await sql`update posts p set like_count = l.n from (select post_id, count(*)::int as n from post_likes group by post_id) l where p.id = l.post_id`.execute(db)

  // Staff: two experienced members moderate the busiest categories.
  const adminUser = await sessionUser(db, adminId)
  const veterans = await db.selectFrom('users').select(['id', 'username']).where('id', 'in', members.length ? members : [0]).orderBy('trust_level', 'desc').orderBy('id').limit(2).execute()
  for (const [i, v] of veterans.entries()) {
    await db.updateTable('users').set({ trust_level: 3 }).where('id', '=', v.id).where('trust_level', '<', 3).execute()
    await services.categories.appointModerator(adminId, categories[i === 0 ? 2 : 5]!.id, v.username)
  }

  // Ideas in every status, with votes and comments, through the idea service.
  const engaged = await db.selectFrom('users').select('id').where('id', 'in', members.length ? members : [0]).where('trust_level', '>=', 1).execute()
  const voters = engaged.map((u) => u.id)
  // A small community gets fewer ideas; the first six already cover every status.
  const ideas = options.users < 50 ? IDEAS.slice(0, 8) : IDEAS
  const ideaBar = bars.task('ideas', ideas.length)
  const statuses = ['open', 'under_review', 'planned', 'in_progress', 'done', 'declined', 'open', 'planned', 'open', 'under_review', 'in_progress', 'done'] as const
  let ideaCount = 0
  let inProgressIdea: number | null = null
  for (const [i, idea] of ideas.entries()) {
    if (voters.length === 0) break
    const author = await sessionUser(db, pick(voters))
    const created = await services.ideas.propose(author, idea)
    ideaCount += 1
    const votes = Math.min(voters.length, Math.floor(rand() * rand() * 40) + (i % 3 === 0 ? 12 : 1))
    const votedBy = new Set<number>()
    while (votedBy.size < votes) votedBy.add(pick(voters))
    for (const id of votedBy) await services.ideas.vote(await sessionUser(db, id), created.id)
    const status = statuses[i % statuses.length]!
    if (status !== 'open') {
      await services.ideas.changeStatus(adminUser, created.id, { status, note: STATUS_NOTES[status] })
      if (status === 'in_progress') inProgressIdea ??= created.id
    }
    const thread = await db.selectFrom('ideas').select('thread_id').where('id', '=', created.id).executeTakeFirstOrThrow()
    const comments = Math.floor(rand() * 4)
    for (let c = 0; c < comments && thread.thread_id; c++) {
      const who = await sessionUser(db, pick(voters))
      await services.discussions.reply(await services.categories.viewer(who), thread.thread_id, { body: pick(IDEA_COMMENTS) })
    }
    ideaBar.update(i + 1)
  }

  // A beta program for the idea in progress: more sign-ups than seats, so a waitlist forms.
  let signups = 0
  if (voters.length > 0) {
    // Up to twelve distinct voters, drawn at random; the seats are two fewer (at least one).
    const pool = [...voters]
    const testers: number[] = []
    while (testers.length < Math.min(voters.length, 12)) testers.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!)
    const program = await services.beta.create(adminUser, {
      title: 'Desktop app beta',
      description: 'Try the new desktop app before everyone else and tell us what breaks.',
      ideaId: inProgressIdea ?? undefined,
      capacity: Math.max(1, Math.min(8, testers.length - 2)),
      questions: [{ id: 'device', label: 'Which computer will you test on?', type: 'single_choice', required: true, choices: ['Windows', 'macOS', 'Linux'] }],
    })
    for (const id of testers) {
      await services.beta.signUp(await sessionUser(db, id), program.id, { answers: { device: pick(['Windows', 'macOS', 'Linux']) } })
      signups += 1
    }
  }

  // Flags waiting in the review queue: members of trust level 1+ flag replies by others.
  let flags = 0
  const flaggable = [...new Set(forum.postIds.filter((p) => p.depth > 0))].sort(() => rand() - 0.5)
  for (let i = 0; i < Math.min(5, flaggable.length) && voters.length > 1; i++) {
    const post = flaggable[i]!
    const flagger = voters.find((v) => v !== post.author && rand() < 0.5) ?? voters.find((v) => v !== post.author)
    if (!flagger) continue
    const viewer = await services.categories.viewer(await sessionUser(db, flagger))
    const reason = pick(['spam', 'off_topic', 'inappropriate', 'other'] as const)
    await services.moderation.flag(viewer, post.id, { reason, note: reason === 'other' ? 'This looks like an advert for another product.' : '' })
    flags += 1
  }

  // What the seed wrote through the services is history, not news: nobody is mailed or pinged about it.
  await db.deleteFrom('outbox').where('id', '>', outboxBefore).execute()
  bars.stop()
  await sql`analyze`.execute(db)
  return {
    admin,
    counts: {
      members: forum.users, categories: categories.length, threads: forum.threads, posts: forum.posts, likes: liked, ideas: ideaCount,
      'beta sign-ups': signups, flags,
    },
  }
}

/** Empties the community for a fresh demo: every member, post, idea and log, keeping settings and the idea discussions category. */
export async function resetCommunity(db: Db): Promise<void> {
  const { rows } = await sql<{ tablename: string }>`
    select tablename from pg_tables where schemaname = current_schema()
      and tablename not in ('community_settings', 'categories', 'kysely_migration', 'kysely_migration_lock')`.execute(db)
  await sql`truncate ${sql.join(rows.map((r) => sql.id(r.tablename)))} restart identity cascade`.execute(db)
  await db.deleteFrom('categories').where('slug', '!=', IDEA_COMMENTS_CATEGORY).execute()
}
