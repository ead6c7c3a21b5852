import type { LiveHub } from '../../core/realtime/index.js'
import { allowed, isChannelId } from '../discussions/live.js'
import type { IdeaService } from './service.js'

/** The idea channel: anyone who may open the idea's page may follow it. */
export function liveChannels({ live, ideas }: { live: LiveHub; ideas: IdeaService }): void {
  live.registerChannel('idea', async (_user, id) => isChannelId(id) && allowed(ideas.get(Number(id))))
}
