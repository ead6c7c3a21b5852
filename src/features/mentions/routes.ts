import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { requireMember } from '../../core/http.js'
import { rateLimit } from '../../core/rate-limits.js'
import { MemberLookupQuery } from './schemas.js'

/** Lookups per member per minute: a lookup per typed character stays far below it, a scraper does not. */
export const LOOKUPS_PER_MINUTE = 120

/** The composer's member lookup for @-mentions (JSON only; the composer works without it). */
export async function mentionRoutes(app: FastifyInstance): Promise<void> {
  const { categories, mentions } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()

  r.get(
    '/api/v1/users/search',
    { schema: { querystring: MemberLookupQuery }, preHandler: [requireMember, rateLimit(app, 'member-lookup', LOOKUPS_PER_MINUTE, 60_000)] },
    async (req, reply) => {
      const users = await mentions.suggest(await categories.viewer(req.user), req.query)
      // Private to the member asking (the order depends on what they may see); fine to reuse while typing.
      reply.header('cache-control', 'private, max-age=30')
      return { users }
    },
  )
}
