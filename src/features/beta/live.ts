import type { LiveHub } from '../../core/realtime/index.js'
import { allowed, isChannelId } from '../discussions/live.js'
import type { BetaService } from './service.js'

/** The beta program channel: only for members who may see the program (members-only ones hide from guests). */
export function liveChannels({ live, beta }: { live: LiveHub; beta: BetaService }): void {
  live.registerChannel('beta', async (user, id) => isChannelId(id) && allowed(beta.get(Number(id), user)))
}
