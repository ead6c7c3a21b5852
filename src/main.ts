import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { loadConfigOrExit } from './config.js'
import { openDatabase } from './core/db.js'
import { createLogger } from './core/logger.js'
import { migrateToLatest } from './core/migrate.js'
import { JobQueue } from './core/queue.js'
import { createRedis } from './core/redis.js'
import { allJobs } from './jobs.js'

const SHUTDOWN_GRACE_MS = 10_000

/** The web process: opens the database (embedded when no DATABASE_URL), migrates, listens. */
async function main(): Promise<void> {
  const startedAt = performance.now()
  const config = loadConfigOrExit()
  const log = createLogger(config, 'web')
  const database = await openDatabase(config, log)
  if (config.migrateOnStart) {
    const applied = await migrateToLatest(database.db)
    if (applied.length > 0) log.info({ applied }, 'migrations applied')
  }
  const redis = config.redisUrl ? createRedis(config.redisUrl) : null
  const queue = redis ? new JobQueue(redis, config.redisPrefix) : null
  const inProcess = !redis && config.jobsInProcess.enabled
  const app = await buildApp(config, {
    db: database.db,
    redis,
    queue,
    listenUrl: database.kind === 'postgres' ? config.databaseUrl : null,
    inProcessJobs: inProcess ? allJobs : undefined,
  })
  if (redis) log.info('jobs run in the worker (npm run worker): Redis is configured')
  else if (inProcess) {
    log.info(
      { jobs: app.hearth.inProcessJobs?.names, every: config.jobsInProcess.everyMs ? `${config.jobsInProcess.everyMs / 1000}s` : 'their schedules' },
      'jobs run in-process: no Redis configured (trust levels, moderator promotion, session purge, outbox prune); ' +
        'mail, digests and notification mail are off; live events stay in this process; rate limits are per instance',
    )
  } else {
    log.warn('no REDIS_URL and JOBS_IN_PROCESS=false: background jobs are off; live events stay in this process; rate limits are per instance')
  }
  installShutdown(app, async () => {
    await queue?.close()
    redis?.disconnect()
    await database.close()
  })
  await app.listen({ port: config.port, host: config.host })
  log.info(
    { url: config.baseUrl, database: database.kind, startupMs: Math.round(performance.now() - startedAt) },
    `Hearth is ready at ${config.baseUrl}`,
  )
}

/** SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close pools; force exit after 10 s. */
function installShutdown(app: FastifyInstance, closeResources: () => Promise<void>): void {
  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    setTimeout(() => {
      app.log.error('shutdown took too long; exiting')
      process.exit(1)
    }, SHUTDOWN_GRACE_MS).unref()
    try {
      await app.close()
      await closeResources()
      process.exit(0)
    } catch (err) {
      app.log.error({ err }, 'shutdown failed')
      process.exit(1)
    }
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
}

main().catch((err) => {
  process.stderr.write(`Hearth failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
