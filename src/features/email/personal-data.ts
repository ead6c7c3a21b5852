import { plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/** The log of mail sent to the member. */
export const emailPersonalData: PersonalDataContributor = {
  name: 'email',

  async exportFor(userId, trx) {
    const rows = await trx.selectFrom('email_log').select(['kind', 'period_key', 'status', 'created_at']).where('user_id', '=', userId).orderBy('id').execute()
    return [{ key: 'email_log', title: 'Mail we sent you', items: rows.map(plain) }]
  },

  async eraseFor(userId, _mode, trx) {
    await trx.deleteFrom('email_log').where('user_id', '=', userId).execute()
  },
}
