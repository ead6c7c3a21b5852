import { canModerate, isModerator } from '../../core/guard.js'
import type { Hearth } from '../../fastify-types.js'

const isId = (id: string) => /^[1-9]\d{0,15}$/.test(id)
const allowed = (p: Promise<unknown>) => p.then(() => true, () => false)

/**
 * Opens the live channels of each feature with the same access rules as its pages:
 * a socket may subscribe to a category or thread only if the member may see it, and every
 * event carrying a category reaches only those who may see that category.
 */
export function registerLiveChannels(hearth: Hearth): void {
  const { live, categories, discussions, ideas, beta } = hearth
  live.setCategoryVisibility(async (user, categoryId) => allowed(categories.byId(await categories.viewer(user), categoryId)))
  live.registerChannel('category', async (user, id) => isId(id) && allowed(categories.byId(await categories.viewer(user), Number(id))))
  live.registerChannel('thread', async (user, id) => isId(id) && allowed(discussions.visibleThread(await categories.viewer(user), Number(id))))
  live.registerChannel('idea', async (_user, id) => isId(id) && allowed(ideas.get(Number(id))))
  live.registerChannel('beta', async (user, id) => isId(id) && allowed(beta.get(Number(id), user)))
  // The review queue's events reach staff, and category moderators only for their categories.
  live.registerChannel(
    'mod',
    async (user) => {
      if (!user) return false
      return isModerator(await categories.viewer(user))
    },
    { mayReceive: async (user, categoryId) => !!user && canModerate(await categories.viewer(user), categoryId) },
  )
}
