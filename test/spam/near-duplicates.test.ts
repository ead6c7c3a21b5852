import { sql } from 'kysely'
import t from 'tap'
import type { SessionUser } from '../../src/core/auth/sessions.js'
import { simhash, simhashProbes } from '../../src/features/spam/fingerprint.js'
import { nearDuplicateCounts } from '../../src/features/spam/service.js'
import { DUPLICATES_COUNTED } from '../../src/features/spam/signals.js'
import { build } from '../helpers/app.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { nodes, type PlanNode } from '../helpers/plans.js'

/** A small deterministic generator of 64-bit values (as signed decimal strings, like simhash). */
function generator(seed: number) {
  let state = BigInt(seed)
  return () => {
    state = (state * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn
    return state
  }
}

const asSigned = (x: bigint) => BigInt.asIntN(64, x).toString()
const probesOf = (fingerprint: string | null) => ({ ordinary: simhashProbes(fingerprint, false), spam: simhashProbes(fingerprint, true) })

/** x with `bits` distinct random bits flipped. */
function flip(x: bigint, bits: number, next: () => bigint): bigint {
  const positions = new Set<number>()
  while (positions.size < bits) positions.add(Number(next() >> 58n))
  let y = BigInt.asUintN(64, x)
  for (const p of positions) y ^= 1n << BigInt(p)
  return y
}

const SPAM = 'Buy cheap watches today at our amazing online store with free shipping on every single order you place'
// The same flood reworded (one word) and reordered (simhash is a bag of words).
const REWORDED = 'Free shipping on every single order you place: buy cheap watches today at our amazing online shop'
const DISTINCT = 'I tried the new dark mode on my phone and the contrast of the sidebar is too low to read in daylight'

t.test('a reworded, reordered flood is caught as a near-duplicate; a distinct post is not', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.regular, f.cats.open.id)
  await replyTo(f.regular, thread.id, SPAM)

  const screen = async (userId: number, body: string) => {
    const user = (await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow()) as unknown as SessionUser
    const viewer = await app.hearth.categories.viewer(user)
    return app.hearth.spam.screen(viewer, { kind: 'reply', categoryId: f.cats.open.id, threadId: thread.id, parentId: null, title: null, body, html: `<p>${body}</p>`, meta: {} })
  }
  const byMember = await screen(f.member.id, REWORDED)
  t.ok(byMember.reasons.some((r) => r === 'nearly the same text as recent posts (1 by others)'), `another member's reworded copy is caught: ${byMember.reasons.join('; ')}`)
  const own = await screen(f.regular.id, REWORDED)
  t.ok(own.reasons.some((r) => r === 'nearly the same text as recent posts (1 of their own)'), `the author's own copy is caught: ${own.reasons.join('; ')}`)
  const distinct = await screen(f.member.id, DISTINCT)
  t.notOk(distinct.reasons.some((r) => r.startsWith('nearly the same text')), `a distinct post is not: ${distinct.reasons.join('; ')}`)

  // A known spammer's text weighs most, however old.
  await db.insertInto('post_fingerprints').values({ author_id: f.newbie.id, simhash: simhash(DISTINCT)!, known_spam: true, created_at: new Date(Date.now() - 365 * 86_400_000) }).execute()
  await t.rejects(screen(f.member.id, DISTINCT), { message: /spam filter refused/ }, 'a copy of a known spammer’s text is refused')
  const { rows: spamFacts } = await sql<{ known_spam: number }>`select ${nearDuplicateCounts(f.member.id, simhash(DISTINCT), probesOf(simhash(DISTINCT)))}`.execute(db)
  t.equal(spamFacts[0]!.known_spam, 1, 'found as known spam')

  // A flood from many members is counted up to the cap, and the reason says so.
  await db.insertInto('post_fingerprints').values(Array.from({ length: 30 }, () => ({ author_id: f.admin.id, simhash: simhash(SPAM)! }))).execute()
  const flood = await screen(f.member.id, REWORDED)
  t.ok(flood.reasons.includes(`nearly the same text as recent posts (${DUPLICATES_COUNTED} or more by others)`), flood.reasons.join('; '))

  // The bands follow every write: five per fingerprint, gone with it.
  const count = async () => (await sql<{ prints: number; bands: number }>`
    select (select count(*) from post_fingerprints)::int as prints, (select count(*) from post_fingerprint_bands)::int as bands`.execute(db)).rows[0]!
  const before = await count()
  t.equal(before.bands, before.prints * 5, 'five bands per fingerprint')
  await db.updateTable('post_fingerprints').set({ known_spam: true }).where('author_id', '=', f.admin.id).execute()
  const spamKeys = await sql<{ n: number }>`select count(*)::int as n from post_fingerprint_bands where key >= 65536`.execute(db)
  t.equal(spamKeys.rows[0]!.n, 31 * 5, 'marking texts as spam moves their bands')
  // Each band carries its fingerprint's simhash and author (a probe judges from the index alone), through every write.
  await db.updateTable('post_fingerprints').set({ simhash: simhash(DISTINCT)! }).where('author_id', '=', f.admin.id).where('id', '=', (eb) => eb.selectFrom('post_fingerprints').select((e) => e.fn.max('id').as('id')).where('author_id', '=', f.admin.id)).execute()
  const stale = await sql<{ n: number }>`
    select count(*)::int as n from post_fingerprint_bands b left join post_fingerprints f on f.id = b.fingerprint_id
    where f.id is null or b.simhash <> f.simhash or b.author_id is distinct from f.author_id`.execute(db)
  t.equal(stale.rows[0]!.n, 0, 'every band has its fingerprint’s simhash and author')
  await db.deleteFrom('post_fingerprints').where('author_id', '=', f.admin.id).execute()
  const after = await count()
  t.equal(after.bands, after.prints * 5, 'deleted fingerprints take their bands along')
  t.equal(after.prints, before.prints - 30)
})

t.test('every fingerprint up to 8 bits away is found, none further; the check reads the few sharing a band, not every recent post', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  // As before autovacuum comes round: no statistics, so the plan must not depend on them.
  for (const table of ['post_fingerprints', 'post_fingerprint_bands']) {
    await sql`alter table ${sql.table(table)} set (autovacuum_enabled = off)`.execute(db)
  }
  const next = generator(20261201)
  // Written by others: the screened member's own recent texts are read from their own (see nearDuplicateCounts).
  const authors = [f.regular.id, f.admin.id, f.categoryMod.id, f.newbie.id]
  const insertRandom = async (n: number) => {
    for (let done = 0; done < n; done += 2_000) {
      const batch = Array.from({ length: Math.min(2_000, n - done) }, (_, i) => ({ author_id: authors[i % authors.length]!, simhash: asSigned(next()) }))
      await db.insertInto('post_fingerprints').values(batch).execute()
    }
  }
  const examine = async (authorId: number, fingerprint: string) => {
    const { rows } = await sql<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>`explain (analyze, format json) select ${nearDuplicateCounts(authorId, fingerprint, probesOf(fingerprint))}`.execute(db)
    const plan = nodes(rows[0]!['QUERY PLAN'][0].Plan)
    const scans = plan.filter((n) => n['Relation Name'] === 'post_fingerprints' || n['Relation Name'] === 'post_fingerprint_bands')
    const { rows: counts } = await sql<{ known_spam: number; by_others: number; by_author: number }>`select ${nearDuplicateCounts(authorId, fingerprint, probesOf(fingerprint))}`.execute(db)
    return {
      counts: counts[0]!,
      seqScans: scans.filter((n) => n['Node Type'] === 'Seq Scan').length,
      // Fingerprint and band rows read from the tables, over every loop: the rows the check looked at.
      examined: scans.filter((n) => n['Node Type'] !== 'Bitmap Index Scan').reduce((sum, n) => sum + (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1), 0),
      // Index entries a probe's bitmap collected (a flooded band value has many).
      entries: plan.filter((n) => n['Node Type'] === 'Bitmap Index Scan').reduce((sum, n) => sum + (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1), 0),
    }
  }

  await insertRandom(500)
  await sql`delete from pg_statistic where starelid in ('post_fingerprints'::regclass, 'post_fingerprint_bands'::regclass)`.execute(db)
  const target = next()
  const few = await examine(f.member.id, asSigned(target))
  t.equal(few.seqScans, 0, 'no scan of every fingerprint')
  await insertRandom(20_000)
  const many = await examine(f.member.id, asSigned(target))
  t.equal(many.seqScans, 0, 'still index lookups with 20,500 fingerprints')
  t.comment(`rows examined for an unrelated text: ${few.examined} among 500 recent, ${many.examined} among 2,000 recent of 20,500 (a scan would read 500 and 2,000)`)
  t.ok(many.examined < 100, `an unrelated text examines only the few fingerprints that share a band value (${many.examined})`)
  t.same(many.counts, { known_spam: 0, by_others: 0, by_author: 0 }, 'random fingerprints are not near-duplicates')

  // Planted near-duplicates: one at each distance 1–8 (by others), and eight at distance 9–12 (too far).
  const near = Array.from({ length: 8 }, (_, i) => asSigned(flip(target, i + 1, next)))
  const far = Array.from({ length: 8 }, (_, i) => asSigned(flip(target, 9 + (i % 4), next)))
  await db.insertInto('post_fingerprints').values([...near, ...far].map((h) => ({ author_id: f.regular.id, simhash: h }))).execute()
  // Exactly eight bits apart in many different ways: the band guarantee, not luck.
  const eights = Array.from({ length: 40 }, () => asSigned(flip(target, 8, next)))
  await db.insertInto('post_fingerprints').values(eights.map((h) => ({ author_id: f.admin.id, simhash: h }))).execute()
  const found = await examine(f.categoryMod.id, asSigned(target))
  t.equal(found.counts.by_others, DUPLICATES_COUNTED, 'near-duplicates by others are counted (up to the cap)')
  const own = await examine(f.regular.id, asSigned(target))
  t.equal(own.counts.by_author, 8, 'all eight within 8 bits are found among the author\'s own, none of the far ones')
  for (const h of eights) {
    const alone = await sql<{ n: number }>`
      select count(*)::int as n from post_fingerprint_bands b join post_fingerprints f on f.id = b.fingerprint_id
      where b.key = any(simhash_probes(${asSigned(target)}::bigint, false)) and f.simhash = ${h}::bigint
        and simhash_near_band(f.simhash, ${asSigned(target)}::bigint) = (b.key >> 13) & 7`.execute(db)
    if (alone.rows[0]!.n !== 1) t.fail(`a fingerprint 8 bits away is found exactly once, under its first near band (${h}: ${alone.rows[0]!.n})`)
  }

  // A flood: 3,000 copies by others; counting stops at the cap instead of reading them all.
  await db.insertInto('post_fingerprints').values(Array.from({ length: 3_000 }, () => ({ author_id: f.newbie.id, simhash: asSigned(target) }))).execute()
  const flood = await examine(f.member.id, asSigned(target))
  t.equal(flood.counts.by_others, DUPLICATES_COUNTED)
  t.ok(flood.examined < 100, `a flood of copies reads a bounded number of rows (${flood.examined})`)
  t.ok(flood.entries <= 2 * 2_000, `and index entries of the recent window only (${flood.entries})`)
})

t.test('the probes computed in Node are exactly the SQL function\'s (migration 0190), for any fingerprint', async (t) => {
  const { db } = await build(t)
  const next = generator(20261201)
  const values = ['0', '-1', '1', '9223372036854775807', '-9223372036854775808', '-4611686018427387904', ...Array.from({ length: 300 }, () => asSigned(next()))]
  for (const knownSpam of [false, true]) {
    const { rows } = await sql<{ h: string; probes: number[] }>`
      select h::text as h, (select array_agg(p order by p) from unnest(simhash_probes(h, ${knownSpam})) p) as probes
      from unnest(${values}::bigint[]) h`.execute(db)
    let same = 0
    for (const row of rows) {
      const mine = [...simhashProbes(row.h, knownSpam)].sort((a, b) => a - b)
      if (JSON.stringify(mine) === JSON.stringify(row.probes)) same++
      else t.fail(`probes of ${row.h} (known spam: ${knownSpam}) differ: ${JSON.stringify(mine)} vs ${JSON.stringify(row.probes)}`)
    }
    t.equal(same, values.length, `all ${values.length} fingerprints give the same 69 probes (known spam: ${knownSpam})`)
    t.equal(new Set(simhashProbes(values[7]!, knownSpam)).size, 69, 'and 69 distinct ones')
  }
  t.same(simhashProbes(null, false), [], 'no fingerprint, no probes')
})
