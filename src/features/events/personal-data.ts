import { plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/** Event RSVPs with answers, check-ins and ratings; hosting; reminders sent; whether a private calendar feed exists. */
export const eventPersonalData: PersonalDataContributor = {
  name: 'events',

  async exportFor(userId, trx) {
    const rsvps = await trx
      .selectFrom('event_rsvps as r')
      .innerJoin('event_occurrences as o', 'o.id', 'r.occurrence_id')
      .innerJoin('events as e', 'e.id', 'o.event_id')
      .select(['e.id as event_id', 'e.title as event', 'o.starts_at', 'r.status', 'r.guests', 'r.waitlist_position', 'r.answers', 'r.checked_in_at', 'r.rating', 'r.rated_at', 'r.created_at', 'r.updated_at'])
      .where('r.user_id', '=', userId)
      .orderBy('o.starts_at')
      .execute()
    const hosting = await trx
      .selectFrom('event_hosts as h')
      .innerJoin('events as e', 'e.id', 'h.event_id')
      .select(['e.id as event_id', 'e.title as event', 'h.created_at'])
      .where('h.user_id', '=', userId)
      .execute()
    const deliveries = await trx.selectFrom('event_deliveries').select(['occurrence_id', 'kind', 'created_at']).where('user_id', '=', userId).orderBy('created_at').execute()
    const key = await trx.selectFrom('event_calendar_keys').select('created_at').where('user_id', '=', userId).executeTakeFirst()
    const zone = await trx.selectFrom('users').select('time_zone').where('id', '=', userId).executeTakeFirst()
    return [
      { key: 'event_rsvps', title: 'Event RSVPs, your answers, check-ins and ratings', items: rsvps.map(plain) },
      { key: 'event_hosting', title: 'Events you host', items: hosting.map(plain) },
      { key: 'event_reminders', title: 'Event reminders and recaps sent to you', items: deliveries.map(plain) },
      {
        key: 'event_calendar',
        title: 'Your calendar settings (the private feed secret itself is never stored)',
        items: [plain({ time_zone: zone?.time_zone ?? null, private_feed_since: key?.created_at ?? null })],
      },
    ]
  },

  async eraseFor(userId, _mode, trx, { services }) {
    await services.meetups.releaseAllFor(userId, trx)
  },
}
