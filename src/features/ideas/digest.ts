import { registerDigestSection } from '../digests/sections.js'
import { STATUS_LABELS } from './schemas.js'

/**
 * The digest's co-creation sections: status changes of ideas the member voted on or
 * follows, and beta programs newly open to them that they have not joined.
 */
export function registerIdeaDigest(): void {
  registerDigestSection('ideas', async ({ db, user, since }) => {
    const rows = await db
      .selectFrom('idea_status_changes as s')
      .innerJoin('ideas as i', 'i.id', 's.idea_id')
      .select(['i.id', 'i.title', 's.to_status', 's.created_at'])
      .where('s.created_at', '>', since)
      .where((eb) =>
        eb.or([
          eb.exists(eb.selectFrom('idea_votes as v').select('v.idea_id').whereRef('v.idea_id', '=', 'i.id').where('v.user_id', '=', user.id)),
          eb.exists(
            eb
              .selectFrom('thread_notification_levels as f')
              .select('f.thread_id')
              .whereRef('f.thread_id', '=', 'i.thread_id')
              .where('f.user_id', '=', user.id)
              .where('f.level', '=', 'watching'),
          ),
        ]),
      )
      .orderBy('s.created_at', 'desc')
      .limit(10)
      .execute()
    return {
      title: 'Ideas you follow',
      items: rows.map((r) => ({ title: r.title, url: `/ideas/${r.id}`, detail: `now ${STATUS_LABELS[r.to_status]}` })),
    }
  })

  // Only programs that opened since the last digest: an open program alone must not keep
  // sending someone digests for as long as it runs.
  registerDigestSection('betas', async ({ db, user, since }) => {
    const now = new Date()
    const rows = await db
      .selectFrom('beta_programs as b')
      .select(['b.id', 'b.title', 'b.capacity', 'b.seats_taken', 'b.closes_at'])
      .where('b.opens_at', '<=', now)
      .where('b.opens_at', '>', since)
      .where((eb) => eb.or([eb('b.closes_at', 'is', null), eb('b.closes_at', '>', now)]))
      .where('b.min_trust_level', '<=', user.trust_level)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('beta_signups as s').select('s.id').whereRef('s.program_id', '=', 'b.id').where('s.user_id', '=', user.id))))
      .orderBy('b.opens_at', 'desc')
      .limit(5)
      .execute()
    return {
      title: 'Beta programs open to you',
      items: rows.map((r) => ({
        title: r.title,
        url: `/beta/${r.id}`,
        detail: r.seats_taken < r.capacity ? `${r.capacity - r.seats_taken} seats left` : 'full: join the waitlist',
      })),
    }
  })
}
