import { plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/** Beta sign-ups with their answers. */
export const betaPersonalData: PersonalDataContributor = {
  name: 'beta',

  async exportFor(userId, trx) {
    const signups = await trx
      .selectFrom('beta_signups as s')
      .innerJoin('beta_programs as b', 'b.id', 's.program_id')
      .select(['s.program_id', 'b.title as program', 's.status', 's.waitlist_position', 's.answers', 's.created_at', 's.updated_at'])
      .where('s.user_id', '=', userId)
      .orderBy('s.created_at')
      .execute()
    return [{ key: 'beta_signups', title: 'Beta sign-ups and your answers', items: signups.map(plain) }]
  },

  async eraseFor(userId, _mode, trx, { services }) {
    await services.beta.releaseAllFor(userId, trx)
  },
}
