import { sql } from 'kysely'
import { plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/** A member's poll votes: which poll (its thread) and what they chose. */
export const pollPersonalData: PersonalDataContributor = {
  name: 'polls',

  async exportFor(userId, trx) {
    const votes = await trx
      .selectFrom('poll_ballots as b')
      .innerJoin('polls as p', 'p.id', 'b.poll_id')
      .innerJoin('threads as t', 't.id', 'p.thread_id')
      .select(['b.poll_id', 'p.title as poll', 't.title as thread', 'b.created_at', 'b.updated_at'])
      .select(sql<string[]>`array(select o.label from poll_votes v join poll_options o on o.id = v.option_id where v.poll_id = b.poll_id and v.user_id = b.user_id order by v.rank nulls last, o.position)`.as('choices'))
      .where('b.user_id', '=', userId)
      .orderBy('b.created_at')
      .execute()
    return [{ key: 'poll_votes', title: 'Your votes in polls', items: votes.map(plain) }]
  },

  // A leaving member's votes go in either mode: a vote without its voter cannot be kept
  // exact (nobody could change or take it back), and a public poll would still show it.
  async eraseFor(userId, _mode, trx) {
    await trx.deleteFrom('poll_ballots').where('user_id', '=', userId).execute()
  },
}
