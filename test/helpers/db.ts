import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { createDb, type Db, defaultDbTimeouts } from '../../src/core/db.js'
import { migrateToLatest } from '../../src/core/migrate.js'
import { paths } from '../../src/core/paths.js'

/** The server tests create their databases on; trust auth on the dev machines and CI. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL)
  url.pathname = `/${database}`
  return url.toString()
}

// The template's name carries a hash of the migrations, so a changed migration builds a new one.
function templateName(): string {
  const hash = createHash('sha256')
  for (const file of fs.readdirSync(paths.migrations).sort()) {
    hash.update(file).update(fs.readFileSync(path.join(paths.migrations, file)))
  }
  return `hearth_tpl_${hash.digest('hex').slice(0, 12)}`
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

async function exists(client: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name])
  return (rowCount ?? 0) > 0
}

let templateReady: Promise<string> | undefined

/** Builds (once, across parallel test files) a migrated template database. */
function ensureTemplate(): Promise<string> {
  templateReady ??= withAdmin(async (client) => {
    const template = templateName()
    if (await exists(client, template)) return template
    await client.query('select pg_advisory_lock(hashtext($1))', ['hearth-test-template'])
    try {
      if (await exists(client, template)) return template
      const building = `${template}_building`
      await client.query(`drop database if exists ${building} with (force)`)
      await client.query(`create database ${building}`)
      const db = createDb(urlFor(building), 2)
      try {
        await migrateToLatest(db)
      } finally {
        await db.destroy()
      }
      await client.query(`alter database ${building} rename to ${template}`)
      return template
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', ['hearth-test-template'])
    }
  })
  return templateReady
}

export interface TestDatabase {
  name: string
  url: string
  db: Db
  drop(): Promise<void>
}

/** A fresh, migrated database of this test file's own, cloned from the template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = await ensureTemplate()
  const name = `hearth_t_${process.pid}_${randomBytes(4).toString('hex')}`
  await withAdmin(async (client) => {
    // Cloning needs the template free of other clones' copy sessions; serialise the copies.
    await client.query('select pg_advisory_lock(hashtext($1))', ['hearth-test-clone'])
    try {
      await client.query(`create database ${name} template ${template}`)
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', ['hearth-test-clone'])
    }
  })
  const url = urlFor(name)
  // Race tests queue hundreds of requests on 20 connections; on a loaded test machine a
  // request may wait longer for one than production's 5 s before it counts as an outage.
  const db = createDb(url, 20, { ...defaultDbTimeouts, connectMs: 60_000 })
  return {
    name,
    url,
    db,
    async drop() {
      await db.destroy()
      await withAdmin(async (client) => {
        // pg's pool resolves end() before its sockets close; a forced drop would kill those
        // closing connections and surface as an error in the test, so wait for them first.
        for (let i = 0; i < 50; i++) {
          const { rows } = await client.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name])
          if (rows[0].n === 0) break
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        await client.query(`drop database if exists ${name} with (force)`)
      })
    },
  }
}

/** A new, empty database for a benchmark (dropped first if a previous run left it); returns its URL. */
export async function freshDatabase(name: string): Promise<string> {
  await withAdmin(async (client) => {
    await client.query(`drop database if exists ${name} with (force)`)
    await client.query(`create database ${name}`)
  })
  return urlFor(name)
}
