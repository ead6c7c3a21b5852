import fs from 'node:fs/promises'
import path from 'node:path'
import { Kysely, PostgresDialect, type Transaction } from 'kysely'
import pg from 'pg'
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import type { Database } from './db-types.js'

// int8 (ids, counts) as numbers: ids stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10))

export type Db = Kysely<Database>
export type Trx = Transaction<Database>
/** A service method's optional transaction: `trx ?? db`. */
export type DbOrTrx = Db | Trx

export interface DatabaseHandle {
  db: Db
  /** `embedded` when running on PGlite under DATA_DIR. */
  kind: 'postgres' | 'embedded'
  close(): Promise<void>
}

/** Creates a Kysely instance over a pg pool for a connection string. */
export function createDb(connectionString: string, poolSize = 10): Db {
  const pool = new pg.Pool({ connectionString, max: poolSize, idleTimeoutMillis: 30_000 })
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
}

/**
 * Opens the configured database: PostgreSQL at DATABASE_URL, or with none, embedded
 * PostgreSQL (PGlite) stored under DATA_DIR and served on a unix socket so the ordinary
 * pg driver — and therefore every query — works unchanged.
 */
export async function openDatabase(config: Config, log: Logger): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    const db = createDb(config.databaseUrl, config.databasePoolSize)
    return { db, kind: 'postgres', close: () => db.destroy() }
  }
  const { PGlite } = await import('@electric-sql/pglite')
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket')
  const pgDir = path.join(config.dataDir, 'pg')
  await fs.mkdir(pgDir, { recursive: true })
  log.info({ dir: pgDir }, 'no DATABASE_URL: using embedded PostgreSQL (PGlite)')
  // A trial install needs little cache; PGlite's default 128MB of shared buffers doubles idle memory.
  const pglite = await PGlite.create(pgDir, { postgresqlconf: ['shared_buffers = 16MB', 'work_mem = 4MB'] })
  const socketDir = path.join(config.dataDir, 'run')
  await fs.mkdir(socketDir, { recursive: true })
  const socketPath = path.join(socketDir, '.s.PGSQL.5432')
  await fs.rm(socketPath, { force: true })
  const server = new PGLiteSocketServer({ db: pglite, path: socketPath, maxConnections: 1 })
  await server.start()
  // PGlite runs one connection at a time; a pool of one queues the rest in the driver.
  const pool = new pg.Pool({ host: socketDir, port: 5432, user: 'postgres', database: 'postgres', max: 1 })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return {
    db,
    kind: 'embedded',
    async close() {
      await db.destroy()
      await server.stop()
      await pglite.close()
    },
  }
}
