import type { FastifyInstance, FastifyRequest } from 'fastify'
import { SESSION_COOKIE } from '../../core/auth/cookies.js'
import type { LiveIdentity } from '../../core/realtime/index.js'

/** The `/live` websocket: the hub handles subscriptions, authorization and delivery. */
export async function liveRoutes(app: FastifyInstance): Promise<void> {
  const { live, sessions, config } = app.hearth
  const allowedOrigin = new URL(config.baseUrl).origin

  app.get(
    '/live',
    {
      websocket: true,
      // A page on another site must not open a socket with this member's cookies.
      preValidation: async (req, reply) => {
        const origin = req.headers.origin
        if (origin && origin !== allowedOrigin && origin !== `${req.protocol}://${req.host}`) {
          return reply.code(403).send({ error: 'Cross-site socket refused' })
        }
      },
    },
    (socket, req) => live.accept(socket, identity(req)),
  )

  function identity(req: FastifyRequest): LiveIdentity {
    if (req.authMethod === 'session') {
      const token = req.cookies[SESSION_COOKIE]!
      return { user: req.user, sessionId: req.session!.id, revalidate: async () => (await sessions.validate(token))?.user ?? null }
    }
    if (req.authMethod === 'token') {
      const token = req.headers.authorization!.slice(7).trim()
      return { user: req.user, sessionId: null, revalidate: async () => (await sessions.validateApiToken(token))?.user ?? null }
    }
    return { user: null, sessionId: null, revalidate: null }
  }
}
