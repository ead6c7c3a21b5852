import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify'

/**
 * A named rate limit to put on several routes at once (a form and its API twin share
 * one budget). Keyed by the member when logged in, else by IP; stored in Redis when
 * configured, so every web instance counts together.
 */
export function rateLimit(app: FastifyInstance, name: string, max: number, timeWindowMs: number): preHandlerAsyncHookHandler {
  return app.rateLimit({
    max,
    timeWindow: timeWindowMs,
    keyGenerator: (req) => (req.user ? `${name}:u${req.user.id}` : `${name}:${req.ip}`),
  }) as preHandlerAsyncHookHandler
}
