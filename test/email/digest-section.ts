import { registerDigestSection } from '../../src/features/digests/sections.js'

/**
 * A real digest section for the machinery's tests (the discussion, idea and beta sections
 * come with those features): the member's own notifications since their last digest.
 * Imported by the tests and preloaded into spawned workers with `--import`.
 */
registerDigestSection('test-notifications', async ({ db, user, since }) => {
  const rows = await db
    .selectFrom('notifications')
    .select(['id', 'url', 'payload'])
    .where('user_id', '=', user.id)
    .where('created_at', '>', since)
    .orderBy('id')
    .execute()
  return { title: 'For you', items: rows.map((r) => ({ title: String(r.payload.text), url: r.url })) }
})
