import { sql } from 'kysely'
import { leavingMember, plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/** Flags the member made, and the moderation log's entries about them. */
export const moderationPersonalData: PersonalDataContributor = {
  name: 'moderation',

  async exportFor(userId, trx) {
    const [flags, log] = await Promise.all([
      trx.selectFrom('flags').select(['post_id', 'reason', 'note', 'status', 'created_at', 'resolved_at']).where('flagger_id', '=', userId).orderBy('created_at').execute(),
      trx
        .selectFrom('moderation_log')
        .select(['action', 'reason', 'created_at'])
        .where('target_type', '=', 'user')
        .where('target_id', '=', String(userId))
        .orderBy('created_at')
        .execute(),
    ])
    return [
      { key: 'flags', title: 'Posts you flagged', items: flags.map(plain) },
      { key: 'moderation_about_you', title: 'Moderation actions about your account', items: log.map(plain) },
    ]
  },

  async eraseFor(userId, _mode, trx) {
    const { names, email } = await leavingMember(trx, userId)
    // A flag's note is the member's words; the flag itself stays, since it counted towards a decision.
    await trx.updateTable('flags').set({ note: '' }).where('flagger_id', '=', userId).execute()
    await trx.deleteFrom('moderator_offers').where('user_id', '=', userId).execute()
    // The public log keeps what staff did, never the name or address of whom it was done to.
    const words = [...names, email.toLowerCase()].map((w) => w.replace(/[.+*?^$()[\]{}|\\]/g, '\\$&'))
    if (words.length === 0) return
    const pattern = `\\m(${words.join('|')})\\M`
    await sql`
      update moderation_log set
        reason = regexp_replace(reason, ${pattern}, 'a deleted member', 'gi'),
        details = regexp_replace(details::text, ${pattern}, 'a deleted member', 'gi')::jsonb
      where (target_type = 'user' and target_id = ${String(userId)}) or actor_id = ${userId}
        or reason ~* ${pattern} or details::text ~* ${pattern}`.execute(trx)
  },
}
