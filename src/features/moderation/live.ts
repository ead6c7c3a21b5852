import type { LiveHub } from '../../core/realtime/index.js'
import type { CategoryService } from '../discussions/categories.js'
import { canModerate, isStaff } from '../discussions/policy.js'

/** The review queue's channel: staff, and category moderators only for their categories' events. */
export function liveChannels({ live, categories }: { live: LiveHub; categories: CategoryService }): void {
  live.registerChannel(
    'mod',
    async (user) => {
      if (!user) return false
      const viewer = await categories.viewer(user)
      return isStaff(viewer) || viewer.moderates.size > 0
    },
    { mayReceive: async (user, categoryId) => !!user && canModerate(await categories.viewer(user), categoryId) },
  )
}
