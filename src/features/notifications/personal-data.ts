import { sql } from 'kysely'
import { leavingMember, plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/** The member's notifications, and their name in others' notifications about them. */
export const notificationPersonalData: PersonalDataContributor = {
  name: 'notifications',

  async exportFor(userId, trx) {
    const rows = await trx.selectFrom('notifications').select(['kind', 'payload', 'url', 'read_at', 'emailed_at', 'created_at']).where('user_id', '=', userId).orderBy('id').execute()
    return [{ key: 'notifications', title: 'Your notifications', items: rows.map(plain) }]
  },

  async eraseFor(userId, _mode, trx) {
    await trx.deleteFrom('notifications').where('user_id', '=', userId).execute()
    const { names } = await leavingMember(trx, userId)
    if (names.length === 0) return
    // "alice replied to you" in someone else's list becomes "a deleted member replied to you".
    const pattern = `\\m(${names.join('|')})\\M`
    await sql`
      update notifications set
        payload = regexp_replace(payload::text, ${pattern}, 'a deleted member', 'gi')::jsonb,
        url = regexp_replace(url, ${pattern}, 'a-deleted-member', 'gi')
      where actor_id = ${userId}`.execute(trx)
  },
}
