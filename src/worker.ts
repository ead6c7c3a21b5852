import { loadConfigOrExit } from './config.js'
import { openDatabase } from './core/db.js'
import { createLogger } from './core/logger.js'
import { migrateToLatest } from './core/migrate.js'
import { createBlockingRedis, createRedis } from './core/redis.js'
import { startWorker } from './worker-runtime.js'
import { allJobs } from './jobs.js'

/** The worker process: runs every feature's BullMQ jobs and keeps their schedules declared. */
async function main(): Promise<void> {
  const config = loadConfigOrExit()
  const log = createLogger(config, 'worker')
  if (!config.redisUrl) {
    log.fatal('the worker needs REDIS_URL: set it to your Redis server, e.g. redis://127.0.0.1:6379')
    process.exit(1)
  }
  if (!config.databaseUrl) {
    log.fatal('the worker needs DATABASE_URL: the embedded database belongs to a single web process')
    process.exit(1)
  }
  const database = await openDatabase(config, log)
  if (config.migrateOnStart) await migrateToLatest(database.db)
  const redis = createRedis(config.redisUrl)
  const running = await startWorker({
    definitions: allJobs,
    db: database.db,
    config,
    log,
    commandConnection: redis,
    workerConnection: createBlockingRedis(config.redisUrl),
    listenUrl: config.databaseUrl,
  })
  const shutdown = async () => {
    log.info('worker shutting down')
    setTimeout(() => process.exit(1), 10_000).unref()
    await running.close()
    redis.disconnect()
    await database.close()
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutdown())
  process.once('SIGINT', () => void shutdown())
  log.info({ jobs: allJobs.map((j) => j.name) }, 'worker ready')
}

main().catch((err) => {
  process.stderr.write(`Hearth worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})

