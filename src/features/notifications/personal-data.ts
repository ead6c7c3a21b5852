import { sql } from 'kysely'
import { leavingMember, plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/** The member's notifications, and their name in others' notifications about them. */
export const notificationPersonalData: PersonalDataContributor = {
  name: 'notifications',

  async exportFor(userId, trx) {
    const [rows, threads, categories, mutes] = await Promise.all([
      trx.selectFrom('notifications').select(['kind', 'payload', 'url', 'read_at', 'emailed_at', 'created_at']).where('user_id', '=', userId).orderBy('id').execute(),
      trx.selectFrom('thread_notification_levels as l').innerJoin('threads as t', 't.id', 'l.thread_id').select(['l.thread_id', 't.title', 'l.level']).where('l.user_id', '=', userId).orderBy('l.thread_id').execute(),
      trx.selectFrom('category_notification_levels as l').innerJoin('categories as c', 'c.id', 'l.category_id').select(['l.category_id', 'c.name', 'l.level']).where('l.user_id', '=', userId).orderBy('l.category_id').execute(),
      trx.selectFrom('user_mutes as m').innerJoin('users as u', 'u.id', 'm.muted_user_id').select(['u.username as muted']).where('m.user_id', '=', userId).execute(),
    ])
    return [
      { key: 'notifications', title: 'Your notifications', items: rows.map(plain) },
      { key: 'notification_levels', title: 'Threads and categories you watch, track or muted', items: [...threads, ...categories].map(plain) },
      { key: 'muted_members', title: 'Members you muted', items: mutes.map(plain) },
    ]
  },

  async eraseFor(userId, _mode, trx) {
    await trx.deleteFrom('notifications').where('user_id', '=', userId).execute()
    await trx.deleteFrom('thread_notification_levels').where('user_id', '=', userId).execute()
    await trx.deleteFrom('category_notification_levels').where('user_id', '=', userId).execute()
    await trx.deleteFrom('user_mutes').where((eb) => eb.or([eb('user_id', '=', userId), eb('muted_user_id', '=', userId)])).execute()
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
