import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'

// A load balancer's probe must answer quickly even while Redis is unreachable.
const PING_TIMEOUT_MS = 1_000

/** Liveness and readiness for load balancers and orchestrators. */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const { db, redis } = app.hearth

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (req, reply) => {
    const checks: Record<string, 'ok' | 'down' | 'off'> = { database: 'down', redis: redis ? 'down' : 'off' }
    await Promise.all([
      sql`select 1`
        .execute(db)
        .then(() => (checks.database = 'ok'))
        .catch((err) => req.log.warn({ err }, 'readiness: database down')),
      redis &&
        Promise.race([redis.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('ping timed out')), PING_TIMEOUT_MS).unref())])
        .then(() => (checks.redis = 'ok'))
        .catch((err) => req.log.warn({ err }, 'readiness: redis down')),
    ])
    const ready = Object.values(checks).every((c) => c !== 'down')
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks })
  })
}
