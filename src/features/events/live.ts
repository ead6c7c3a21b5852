import type { LiveHub } from '../../core/realtime/index.js'
import { allowed, isChannelId } from '../discussions/live.js'
import type { EventService } from './service.js'

/** The event channel (seats left at each date): for whoever may open the event's page. */
export function liveChannels({ live, meetups }: { live: LiveHub; meetups: EventService }): void {
  live.registerChannel('event', async (user, id) => isChannelId(id) && allowed(meetups.get(Number(id), user)))
}
