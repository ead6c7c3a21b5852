import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { KyselyPlugin } from 'kysely'
import { type AppDeps, buildApp } from '../../src/app.js'
import { type Config, loadConfig } from '../../src/config.js'
import type { Db } from '../../src/core/db.js'
import { JobQueue } from '../../src/core/queue.js'
import { createRedis } from '../../src/core/redis.js'
import { createTestDatabase, type TestDatabase } from './db.js'

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** The subset of tap's Test that helpers need (teardown registration). */
export interface Teardown {
  teardown(fn: () => unknown): void
}

export interface TestApp {
  app: FastifyInstance
  db: Db
  database: TestDatabase
  config: Config
  redis: Redis | null
  queue: JobQueue | null
}

export interface BuildOptions {
  /** Environment overrides, as a deployment would set them. */
  env?: Record<string, string>
  /** Connect Redis (rate limits, queue); off by default so most tests need only PostgreSQL. */
  redis?: boolean
  /** Reuse a database instead of creating one (several instances on one database). */
  database?: TestDatabase
  /** Kysely plugins on the app's connection (e.g. a query counter). */
  plugins?: KyselyPlugin[]
  /** Live socket limits for this instance (small ones make limits testable). */
  liveLimits?: AppDeps['liveLimits']
  /** Told of every route as the app registers it. */
  onRoute?: AppDeps['onRoute']
}

/** A test configuration: a Redis prefix of its own, generous rate limits, quiet logs. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    REDIS_PREFIX: `hearth_test_${randomBytes(4).toString('hex')}`,
    RATE_LIMIT_SIGNUP: '1000',
    RATE_LIMIT_LOGIN: '1000',
    RATE_LIMIT_POST: '1000',
    RATE_LIMIT_SIGNUP_DAY: '100000',
    RATE_LIMIT_SIGNUP_SUBNET: '100000',
    GUEST_CACHE_SECONDS: '0',
    DATABASE_URL: 'postgres://unused.invalid/db',
    // Each app keeps its uploads in a folder of its own (removed on teardown by build).
    UPLOADS_DIR: path.join(os.tmpdir(), `hearth-test-uploads-${randomBytes(6).toString('hex')}`),
    ...env,
  })
}

/** Builds the real app on a fresh PostgreSQL database of its own; closes everything on teardown. */
export async function build(t: Teardown, options: BuildOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase())
  const config = testConfig({ ...(options.redis ? { REDIS_URL } : {}), ...options.env })
  const redis = options.redis ? createRedis(REDIS_URL) : null
  const queue = redis ? new JobQueue(redis, config.redisPrefix) : null
  const db = (options.plugins ?? []).reduce((d, plugin) => d.withPlugin(plugin), database.db)
  const app = await buildApp(config, { db, redis, queue, liveLimits: options.liveLimits, onRoute: options.onRoute, listenUrl: database.url })
  t.teardown(async () => {
    await app.close()
    await queue?.close()
    if (redis) {
      const keys = await redis.keys(`${config.redisPrefix}*`)
      if (keys.length > 0) await redis.del(...keys)
      redis.disconnect()
    }
    if (!options.database) await database.drop()
    if (!options.env?.UPLOADS_DIR) await fs.rm(config.uploadsDir, { recursive: true, force: true })
  })
  return { app, db: database.db, database, config, redis, queue }
}
