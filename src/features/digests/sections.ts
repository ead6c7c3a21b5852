import { sql } from 'kysely'
import type { Db } from '../../core/db.js'
import type { User } from '../../core/db-types.js'

/** One line of a digest: something to read, linked (absolute or site-relative URL). */
export interface DigestItem {
  title: string
  url: string
  detail?: string
}

/** A block of a digest. `stats` make a short header; only `items` make a digest worth sending. */
export interface DigestSection {
  title: string
  items: DigestItem[]
  stats?: { label: string; value: number }[]
}

/** What a section provider is asked: for whom, and since when. */
export interface DigestContext {
  db: Db
  user: Pick<User, 'id' | 'username' | 'trust_level' | 'role' | 'digest_frequency'>
  since: Date
}

export type DigestSectionProvider = (ctx: DigestContext) => Promise<DigestSection | null>

const providers = new Map<string, DigestSectionProvider>()

/**
 * Adds a section to every digest, in registration order (a second registration under the
 * same name replaces the first). Providers must respect what the member may see:
 * category visibility, mutes, and leave out trust-level-0 authors.
 */
export function registerDigestSection(name: string, provider: DigestSectionProvider): void {
  providers.set(name, provider)
}

/** Runs every provider for one member; sections without items or stats are dropped. */
export async function buildDigestSections(ctx: DigestContext): Promise<DigestSection[]> {
  const sections: DigestSection[] = []
  for (const provider of providers.values()) {
    const section = await provider(ctx)
    if (section && (section.items.length > 0 || (section.stats?.length ?? 0) > 0)) sections.push(section)
  }
  return sections
}

/** A digest with nothing to read is not sent: the stats header alone does not count. */
export function isEmptyDigest(sections: DigestSection[]): boolean {
  return sections.every((s) => s.items.length === 0)
}

// The header is the same for every member with the same window; a fan-out of thousands
// of digests asks the database once a minute per window, not once per mail.
const STATS_TTL_MS = 60_000
const statsCache = new Map<string, { at: number; stats: { label: string; value: number }[] }>()

registerDigestSection('stats', async ({ db, since }) => {
  const windowStart = new Date(Math.floor(since.getTime() / 3_600_000) * 3_600_000)
  const key = windowStart.toISOString()
  const cached = statsCache.get(key)
  if (cached && Date.now() - cached.at < STATS_TTL_MS) return { title: 'At a glance', items: [], stats: cached.stats }
  const row = await db
    .selectFrom('users')
    .select([
      (eb) => eb.fn.countAll<number>().as('members'),
      sql<number>`count(*) filter (where created_at >= ${windowStart})`.as('joined'),
    ])
    .executeTakeFirstOrThrow()
  const stats = [
    { label: 'members', value: Number(row.members) },
    { label: 'joined since your last digest', value: Number(row.joined) },
  ]
  if (statsCache.size > 500) statsCache.clear()
  statsCache.set(key, { at: Date.now(), stats })
  return { title: 'At a glance', items: [], stats }
})
