import fs from 'node:fs/promises'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { CompiledQuery, Kysely, type KyselyPlugin, PostgresDialect, type RawBuilder, type Transaction, TransactionBuilder } from 'kysely'
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

/** How long to wait for a connection, and how long one statement may run (0: no limit). */
export interface DbTimeouts {
  connectMs: number
  statementMs: number
  /** How long a pooled connection lives before it is replaced (CONNECTION_LIFETIME_SECONDS; see createDb). */
  lifetimeSeconds?: number
}

/** Defaults for pools built outside the configured entrypoints (tests, benchmarks). */
export const defaultDbTimeouts: DbTimeouts = { connectMs: 5_000, statementMs: 30_000 }

type ErrorLog = (err: Error, what: string) => void

const stderrLog: ErrorLog = (err, what) => process.stderr.write(`hearth: ${what}: ${err.message}\n`)

/**
 * Makes a pool survive its connections dying (a restart, a failover, `pg_terminate_backend`):
 * pg emits 'error' on the pool for an idle client and on a checked-out client between
 * queries, and an 'error' with no listener kills the process. The broken client is dropped
 * by the pool; the next query opens a fresh connection, so service resumes unaided.
 */
export function guardPool(pool: pg.Pool, onError: ErrorLog = stderrLog): pg.Pool {
  pool.on('error', (err) => onError(err, 'database connection lost (idle)'))
  pool.on('connect', (client) => {
    client.on('error', (err) => onError(err, 'database connection lost'))
  })
  return pool
}

// Statement texts that run as named prepared statements (see `prepared`), by text: name.
const preparedNames = new Map<string, string>()
// Call sites mark a handful of texts; past this many, something varies that should not, so the rest run unprepared.
const MAX_PREPARED = 200

/**
 * A pg client that runs the statements marked by `prepared` as named prepared statements:
 * PostgreSQL parses and plans them once per connection (planning costs more than running
 * the hottest, small queries), then reuses the plan.
 */
class PreparingClient extends pg.Client {
  override query(config: unknown, values?: unknown, callback?: unknown): never {
    const name = typeof config === 'string' && typeof callback !== 'function' ? preparedNames.get(config) : undefined
    if (!name) return (super.query as (...args: unknown[]) => never)(config, values, callback)
    const run = () => super.query({ name, text: config as string, values: values as unknown[] })
    return run().catch(async (err: Error & { code?: string }) => {
      // A table changed under the prepared plan (a migration on another instance): prepare it afresh.
      if (err.code !== '0A000') throw err
      const parsed = (this as unknown as { connection?: { parsedStatements?: Record<string, string> } }).connection?.parsedStatements
      if (parsed) delete parsed[name]
      await super.query(`deallocate "${name}"`).catch(() => {})
      return run()
    }) as never
  }
}

/**
 * Runs a query as a named prepared statement on pools made by createDb (one of the few hot,
 * fixed-shape queries: a page's, a session check's). Elsewhere it runs as usual.
 */
export async function prepared<R>(db: DbOrTrx, query: { compile(): CompiledQuery<R> } | RawBuilder<R>): Promise<R[]> {
  // A raw query compiles against the database it runs on; a builder already knows it (and ignores the argument).
  const compiled = (query as RawBuilder<R>).compile(db)
  if (!preparedNames.has(compiled.sql) && preparedNames.size < MAX_PREPARED) {
    preparedNames.set(compiled.sql, nameOf(compiled.sql))
  }
  return (await db.executeQuery(compiled)).rows
}

/** A named parameter of a `preparedTemplate` statement: its value is bound at each run. */
class Slot {
  constructor(readonly name: string) {}
}

// Compiled SQL of templates, by the caller's name for the shape, with each parameter's slot name
// (null: a template that baked a value in, so it is built every time).
const templates = new Map<string, { sql: string; slots: string[] } | null>()

/**
 * As `prepared`, for a large statement whose shape is fixed by `shape` and whose values vary:
 * `build` receives a stand-in (a slot) for each of `values` and runs once per shape; later runs
 * bind the values to the SQL it compiled, so the query builder's Node CPU is paid once. `build`
 * must therefore not branch on the values (what varies the shape belongs in the shape's name),
 * and every other parameter it uses must be a literal (`sql.lit`), or it is built every time.
 */
export async function preparedTemplate<R, V extends Record<string, unknown>>(
  db: DbOrTrx,
  shape: string,
  values: V,
  build: (slots: V) => { compile(): CompiledQuery<R> } | RawBuilder<R>,
): Promise<R[]> {
  let template = templates.get(shape)
  if (template === undefined && templates.size < MAX_PREPARED) {
    const slots = Object.fromEntries(Object.keys(values).map((name) => [name, new Slot(name)])) as unknown as V
    const compiled = (build(slots) as RawBuilder<R>).compile(db)
    const names = compiled.parameters.map((p) => (p instanceof Slot ? p.name : null))
    template = names.every((n) => n !== null) ? { sql: compiled.sql, slots: names as string[] } : null
    templates.set(shape, template)
  }
  if (!template) return prepared(db, build(values))
  if (!preparedNames.has(template.sql) && preparedNames.size < MAX_PREPARED) preparedNames.set(template.sql, nameOf(template.sql))
  return (await db.executeQuery(CompiledQuery.raw(template.sql, template.slots.map((name) => values[name])))).rows as R[]
}

/**
 * The shapes `preparedTemplate` has met so far, and whether each became a template (false: one
 * that bakes a value in and is built on every run). For tests that keep the hot statements templates.
 */
export function preparedShapes(): Map<string, boolean> {
  return new Map([...templates].map(([shape, template]) => [shape, template !== null]))
}

/** The name `prepared` gives a statement's text (a test can EXPLAIN EXECUTE it on the same connection). */
export function nameOf(text: string): string {
  return `hearth_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`
}

// What to run once a transaction begun with `db.transaction()` commits, by its Transaction.
const commitHooks = new WeakMap<object, Set<() => void>>()

/**
 * Runs `fn` once what was just written through `on` is committed: at once for a statement run
 * outside a transaction (it committed on its own), after the commit of a transaction begun with
 * `db.transaction()` (and never when it rolls back; the same `fn` registered twice runs once).
 * In any other transaction (a controlled one, `startTransaction`) it runs at once. `fn` must not
 * throw. The outbox uses it to wake relays only when an event can be seen.
 */
export function afterCommit(on: DbOrTrx, fn: () => void): void {
  const hooks = on.isTransaction ? commitHooks.get(on) : undefined
  if (hooks) hooks.add(fn)
  else fn()
}

/**
 * Kysely whose `transaction()` runs the transaction's `afterCommit` functions once it has
 * committed; so does the instance `withPlugin` makes (tests count queries through one).
 */
class HearthKysely extends Kysely<Database> {
  override transaction(): TransactionBuilder<Database> {
    return withCommitHooks(super.transaction())
  }

  override withPlugin(plugin: KyselyPlugin): Kysely<Database> {
    return committing(super.withPlugin(plugin))
  }
}

/** A Kysely instance (one `withPlugin` made) whose transactions, and those of its own `withPlugin`, run their commit hooks. */
function committing(db: Kysely<Database>): Kysely<Database> {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'transaction') return () => withCommitHooks(target.transaction())
      if (prop === 'withPlugin') return (plugin: KyselyPlugin) => committing(target.withPlugin(plugin))
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

function withCommitHooks(builder: TransactionBuilder<Database>): TransactionBuilder<Database> {
  return new Proxy(builder, {
    get(target, prop) {
      if (prop === 'execute') {
        return async <T>(callback: (trx: Trx) => Promise<T>): Promise<T> => {
          const hooks = new Set<() => void>()
          const result = await target.execute((trx) => {
            commitHooks.set(trx, hooks)
            return callback(trx)
          })
          for (const hook of hooks) hook()
          return result
        }
      }
      const value: unknown = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      // setIsolationLevel, setAccessMode: a new builder, which keeps the hooks too.
      return (...args: unknown[]) => {
        const out: unknown = value.apply(target, args)
        return out instanceof TransactionBuilder ? withCommitHooks(out as TransactionBuilder<Database>) : out
      }
    },
  })
}

/** How long a pooled connection lives (see createDb). */
export const CONNECTION_LIFETIME_SECONDS = 60

/** Creates a Kysely instance over a pg pool for a connection string, with timeouts and pool-error handling. */
export function createDb(connectionString: string, poolSize = 10, timeouts: DbTimeouts = defaultDbTimeouts, onError?: ErrorLog): Db {
  const pool = new pg.Pool({
    Client: PreparingClient,
    connectionString,
    max: poolSize,
    idleTimeoutMillis: 30_000,
    // A connection is replaced after a minute (by default). Its prepared statements keep the plans they were
    // given when first run, and PostgreSQL plans them afresh only when the tables are analyzed: with
    // autovacuum off (or behind), a plan made while a table was nearly empty (held posts, fingerprints
    // and the outbox start so) would scan it whole long after it has grown. A new connection plans
    // again from the tables' current size.
    maxLifetimeSeconds: timeouts.lifetimeSeconds ?? CONNECTION_LIFETIME_SECONDS,
    connectionTimeoutMillis: timeouts.connectMs,
    // Sent at connection start-up, so PostgreSQL itself cancels a runaway statement.
    ...(timeouts.statementMs > 0 ? { statement_timeout: timeouts.statementMs } : {}),
    // A silently dead server (a network partition) is noticed instead of hanging forever.
    keepAlive: true,
  })
  guardPool(pool, onError)
  return new HearthKysely({ dialect: new PostgresDialect({ pool }) })
}

/**
 * Opens the configured database: PostgreSQL at DATABASE_URL, or with none, embedded
 * PostgreSQL (PGlite) stored under DATA_DIR and served on a unix socket so the ordinary
 * pg driver — and therefore every query — works unchanged.
 */
export async function openDatabase(config: Config, log: Logger): Promise<DatabaseHandle> {
  if (config.databaseUrl) {
    const db = createDb(config.databaseUrl, config.databasePoolSize, config.databaseTimeouts, poolErrorLog(log))
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
  const pool = guardPool(
    new pg.Pool({ host: socketDir, port: 5432, user: 'postgres', database: 'postgres', max: 1, connectionTimeoutMillis: config.databaseTimeouts.connectMs }),
    poolErrorLog(log),
  )
  const db = new HearthKysely({ dialect: new PostgresDialect({ pool }) })
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

function poolErrorLog(log: Logger): ErrorLog {
  return (err, what) => log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, what)
}
