import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'

// A load balancer's probe must answer quickly even while PostgreSQL or Redis hangs: each
// check gets this long, then counts as down (the probe itself never waits longer).
const CHECK_TIMEOUT_MS = 1_000

/** Liveness and readiness for load balancers and orchestrators. */
export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const { db, redis } = app.hearth

  app.get('/healthz', async () => ({ status: 'ok' }))

  app.get('/readyz', async (req, reply) => {
    const checks: Record<string, 'ok' | 'down' | 'off'> = { database: 'down', redis: redis ? 'down' : 'off' }
    await Promise.all([
      within(sql`select 1`.execute(db), 'database')
        .then(() => (checks.database = 'ok'))
        .catch((err) => req.log.warn({ err }, 'readiness: database down')),
      redis &&
        within(redis.ping(), 'redis')
          .then(() => (checks.redis = 'ok'))
          .catch((err) => req.log.warn({ err }, 'readiness: redis down')),
    ])
    const ready = Object.values(checks).every((c) => c !== 'down')
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks })
  })
}

function within<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  // The abandoned check finishes (or fails) on its own; nobody waits for it.
  work.catch(() => {})
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)
    }),
  ]).finally(() => clearTimeout(timer))
}
