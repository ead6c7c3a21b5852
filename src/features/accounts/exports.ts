import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { sql } from 'kysely'
import yazl from 'yazl'
import type { SessionUser } from '../../core/auth/sessions.js'
import type { Config } from '../../config.js'
import type { Db } from '../../core/db.js'
import type { DataExportStatus } from '../../core/db-types.js'
import { NotFound } from '../../core/errors.js'
import { ensure, viewerOf } from '../../core/guard.js'
import type { JobQueue } from '../../core/queue.js'
import type { CommunitySettings } from '../../core/settings.js'
import type { NotificationService } from '../notifications/service.js'
import type { PersonalDataContext, PersonalDataContributor, PersonalDataSection } from './personal-data-registry.js'

/** Where an export's archive lives: DATA_DIR/exports/<id>.zip (the id is random, 32 characters). */
export function exportFilePath(config: Pick<Config, 'dataDir'>, id: string): string {
  return path.join(config.dataDir, 'exports', `${id}.zip`)
}

/** An export as the member sees it. */
export interface ExportView {
  id: string
  status: DataExportStatus
  createdAt: Date
  readyAt: Date | null
  expiresAt: Date | null
  sizeBytes: number | null
  url: string | null
}

const EXPORT_ID = /^[A-Za-z0-9_-]{32}$/

/**
 * Data exports (GDPR art. 15/20): a member asks from /settings, a job gathers everything
 * every feature registered (src/features/registry.ts) into a ZIP of JSON files and a
 * readable page, the member is notified (and mailed, if they want account mail), and
 * only they can download it until the link expires; an hourly job removes expired files.
 */
export class DataExportService {
  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly settings: CommunitySettings,
    private readonly notifications: NotificationService,
    private readonly queue: JobQueue | null,
    private readonly contributors: () => readonly PersonalDataContributor[],
    private readonly context: () => PersonalDataContext,
  ) {}

  /**
   * Asks for an export. While one is being built, asking again returns it instead of
   * starting another. Without background jobs (embedded mode) it is built right away.
   */
  async request(user: SessionUser): Promise<ExportView> {
    ensure(viewerOf(user), 'manageAccount', undefined)
    const id = randomBytes(24).toString('base64url')
    const row = await this.db.transaction().execute(async (trx) => {
      // One request at a time per member, even from two tabs at once.
      await sql`select pg_advisory_xact_lock(hashtext('hearth.export'), ${user.id}::int)`.execute(trx)
      const pending = await trx.selectFrom('data_exports').selectAll().where('user_id', '=', user.id).where('status', '=', 'pending').executeTakeFirst()
      if (pending) return { row: pending, created: false }
      return { row: await trx.insertInto('data_exports').values({ id, user_id: user.id }).returningAll().executeTakeFirstOrThrow(), created: true }
    })
    if (row.created) {
      if (this.queue) await this.queue.enqueue('account.export', { exportId: row.row.id }, { jobId: `export-${row.row.id}` })
      else await this.build(row.row.id)
    }
    return (await this.latest(user.id))!
  }

  /** The member's most recent export, or null. */
  async latest(userId: number): Promise<ExportView | null> {
    const row = await this.db.selectFrom('data_exports').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').limit(1).executeTakeFirst()
    if (!row) return null
    return {
      id: row.id,
      status: row.status,
      createdAt: row.created_at,
      readyAt: row.ready_at,
      expiresAt: row.expires_at,
      sizeBytes: row.size_bytes,
      url: row.status === 'ready' ? `/settings/export/${row.id}` : null,
    }
  }

  /** The archive to send to its member; NotFound for anyone else, for an expired link and for a made-up one. */
  async download(user: SessionUser | null, id: string): Promise<{ path: string; filename: string; size: number }> {
    if (!user || !EXPORT_ID.test(id)) throw new NotFound()
    const row = await this.db
      .selectFrom('data_exports')
      .select(['id', 'status', 'expires_at', 'size_bytes', 'created_at'])
      .where('id', '=', id)
      .where('user_id', '=', user.id)
      .executeTakeFirst()
    if (!row || row.status !== 'ready' || !row.expires_at || row.expires_at <= new Date()) throw new NotFound('This export is not available (it may have expired): ask for a new one in your settings')
    const file = exportFilePath(this.config, row.id)
    const stat = await fs.promises.stat(file).catch(() => null)
    if (!stat) throw new NotFound('This export is not available: ask for a new one in your settings')
    return { path: file, filename: `${this.config.communityName.replace(/[^A-Za-z0-9_-]+/g, '-')}-data-${row.created_at.toISOString().slice(0, 10)}.zip`, size: stat.size }
  }

  /**
   * Builds one export (the `account.export` job): reads every contributor's sections in
   * one repeatable-read snapshot, writes the ZIP beside its final name and renames it into
   * place, then marks the export ready and notifies the member. Skips an export that is
   * gone or no longer pending, so a repeated job does nothing.
   */
  async build(exportId: string): Promise<{ built: boolean; bytes?: number }> {
    const row = await this.db.selectFrom('data_exports').select(['id', 'user_id', 'status']).where('id', '=', exportId).executeTakeFirst()
    if (!row || row.status !== 'pending') return { built: false }
    const sections = await this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const all: PersonalDataSection[] = []
        for (const contributor of this.contributors()) all.push(...(await contributor.exportFor(row.user_id, trx, this.context())))
        return all
      })
    const file = exportFilePath(this.config, row.id)
    await fs.promises.mkdir(path.dirname(file), { recursive: true })
    const partial = `${file}.part`
    await writeArchive(partial, sections, { community: this.config.communityName, generatedAt: new Date() })
    await fs.promises.rename(partial, file)
    const bytes = (await fs.promises.stat(file)).size
    const days = (await this.settings.all({ fresh: true })).data_export_days
    const expiresAt = new Date(Date.now() + days * 86_400_000)
    await this.db.transaction().execute(async (trx) => {
      const done = await trx
        .updateTable('data_exports')
        .set({ status: 'ready', size_bytes: bytes, ready_at: new Date(), expires_at: expiresAt })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .returning('id')
        .executeTakeFirst()
      if (!done) return
      await this.notifications.create(trx, [
        {
          userId: row.user_id,
          kind: 'account.export_ready',
          url: `/settings/export/${row.id}`,
          text: `Your data export is ready to download until ${expiresAt.toUTCString()}.`,
          payload: { exportId: row.id },
        },
      ])
    })
    return { built: true, bytes }
  }

  /** Marks an export failed (its job gave up), so the member can ask again. */
  async fail(exportId: string, error: string): Promise<void> {
    await this.db.updateTable('data_exports').set({ status: 'failed', error: error.slice(0, 500) }).where('id', '=', exportId).where('status', '=', 'pending').execute()
  }

  /** Removes the files of expired exports (the hourly `account.exports_purge` job); returns how many. */
  async purgeExpired(now = new Date()): Promise<number> {
    const expired = await this.db
      .updateTable('data_exports')
      .set({ status: 'expired' })
      .where('status', '=', 'ready')
      .where('expires_at', '<=', now)
      .returning('id')
      .execute()
    for (const e of expired) await fs.promises.rm(exportFilePath(this.config, e.id), { force: true })
    return expired.length
  }
}

/** Writes the archive: `index.html` to read, `data/<key>.json` per section, `files/…` from the registry. */
async function writeArchive(file: string, sections: PersonalDataSection[], meta: { community: string; generatedAt: Date }): Promise<void> {
  const zip = new yazl.ZipFile()
  const done = pipeline(zip.outputStream, fs.createWriteStream(file))
  const manifest = { community: meta.community, generatedAt: meta.generatedAt.toISOString(), sections: sections.map((s) => ({ key: s.key, title: s.title, count: s.items.length })) }
  zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'data/index.json')
  for (const s of sections) {
    zip.addBuffer(Buffer.from(JSON.stringify(s.items, null, 2)), `data/${s.key}.json`)
    for (const f of s.files ?? []) {
      if (fs.existsSync(f.path)) zip.addFile(f.path, `files/${f.name.replace(/^\/+/, '').replace(/\.\.+/g, '.')}`)
    }
  }
  zip.addBuffer(Buffer.from(readablePage(sections, meta)), 'index.html')
  zip.end()
  await done
}

const escapeHtml = (v: string) => v.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function cell(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'object') return `<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre>`
  const text = String(value)
  return text.includes('\n') ? `<pre>${escapeHtml(text)}</pre>` : escapeHtml(text)
}

/** A self-contained page (no scripts, no outside requests) showing every section as a table. */
function readablePage(sections: PersonalDataSection[], meta: { community: string; generatedAt: Date }): string {
  const parts: string[] = [
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Your data at ${escapeHtml(meta.community)}</title>`,
    '<style>body{font:15px/1.5 system-ui,sans-serif;margin:1rem auto;max-width:70rem;padding:0 1rem}table{border-collapse:collapse;width:100%;margin-bottom:2rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}pre{white-space:pre-wrap;margin:0;font:inherit}.muted{color:#666}</style>',
    '</head><body>',
    `<h1>Your data at ${escapeHtml(meta.community)}</h1>`,
    `<p class="muted">Generated ${escapeHtml(meta.generatedAt.toUTCString())}. The same data is in the <code>data/</code> folder as JSON.</p>`,
    '<ul>',
    ...sections.map((s) => `<li><a href="#${escapeHtml(s.key)}">${escapeHtml(s.title)}</a> (${s.items.length})</li>`),
    '</ul>',
  ]
  for (const s of sections) {
    parts.push(`<h2 id="${escapeHtml(s.key)}">${escapeHtml(s.title)}</h2>`)
    if (s.items.length === 0) {
      parts.push('<p class="muted">Nothing.</p>')
      continue
    }
    const columns = [...new Set(s.items.flatMap((i) => Object.keys(i)))]
    parts.push('<table><thead><tr>', ...columns.map((c) => `<th>${escapeHtml(c)}</th>`), '</tr></thead><tbody>')
    for (const item of s.items) parts.push('<tr>', ...columns.map((c) => `<td>${cell(item[c])}</td>`), '</tr>')
    parts.push('</tbody></table>')
    if (s.files?.length) parts.push('<p>Files:</p><ul>', ...s.files.map((f) => `<li><a href="files/${escapeHtml(f.name)}">${escapeHtml(f.name)}</a></li>`), '</ul>')
  }
  parts.push('</body></html>')
  return parts.join('')
}
