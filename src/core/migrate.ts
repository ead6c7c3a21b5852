import fs from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { sql } from 'kysely'
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration'
import type { Db } from './db.js'
import { paths } from './paths.js'

/** Loads `migrations/NNNN_*.ts` (or the compiled `.js`) in name order. */
class FolderMigrationProvider implements MigrationProvider {
  constructor(private readonly folder: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await fs.readdir(this.folder)).filter((f) => /^\d{4}_.+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    const migrations: Record<string, Migration> = {}
    for (const file of files.sort()) {
      const module = (await import(pathToFileURL(path.join(this.folder, file)).href)) as Migration
      migrations[file.replace(/\.(ts|js)$/, '')] = module
    }
    return migrations
  }
}

/** Brings the schema to the newest migration; returns the names it applied. */
export async function migrateToLatest(db: Db, folder = paths.migrations): Promise<string[]> {
  // A migration may rewrite a large table: lift the statement timeout for this one connection.
  const { error, results } = await db.connection().execute(async (conn) => {
    await sql`set statement_timeout = 0`.execute(conn)
    try {
      return await new Migrator({ db: conn, provider: new FolderMigrationProvider(folder) }).migrateToLatest()
    } finally {
      await sql`reset statement_timeout`.execute(conn).catch(() => {})
    }
  })
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message ?? String(error)}`, {
      cause: error,
    })
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
