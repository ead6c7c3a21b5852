import type { LiveHub } from '../../core/realtime/index.js'
import type { CategoryService } from './categories.js'
import type { DiscussionService } from './service.js'

/** A number in a channel name, as the pages' ids are: anything else subscribes to nothing. */
export const isChannelId = (id: string) => /^[1-9]\d{0,15}$/.test(id)
/** True when the lookup finds a thing the member may see (it throws NotFound otherwise). */
export const allowed = (p: Promise<unknown>) => p.then(() => true, () => false)

/**
 * Category and thread channels, with the pages' access rules: a socket follows a category
 * or thread only if the member may see it, and every event carrying a category reaches
 * only those who may see that category.
 */
export function liveChannels({ live, categories, discussions }: { live: LiveHub; categories: CategoryService; discussions: DiscussionService }): void {
  live.setCategoryVisibility(async (user, categoryId) => allowed(categories.byId(await categories.viewer(user), categoryId)))
  live.registerChannel('category', async (user, id) => isChannelId(id) && allowed(categories.byId(await categories.viewer(user), Number(id))))
  live.registerChannel('thread', async (user, id) => isChannelId(id) && allowed(discussions.visibleThread(await categories.viewer(user), Number(id))))
}
