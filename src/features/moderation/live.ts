import type { LiveHub } from '../../core/realtime/index.js'
import type { CategoryService } from '../discussions/categories.js'
import { canModerate, isModerator } from '../../core/guard.js'

/** The review queue's channel: staff, and category moderators only for their categories' events. */
export function liveChannels({ live, categories }: { live: LiveHub; categories: CategoryService }): void {
  live.registerChannel(
    'mod',
    async (user) => {
      if (!user) return false
      return isModerator(await categories.viewer(user))
    },
    { mayReceive: async (user, categoryId) => !!user && canModerate(await categories.viewer(user), categoryId) },
  )
}
