import type { Readable } from 'node:stream'
import { AVATAR_SIZES } from '../../core/avatars.js'
import { sql } from 'kysely'
import type { Db, DbOrTrx } from '../../core/db.js'
import type { UploadKind } from '../../core/db-types.js'
import { Invalid, TooLarge, TooManyRequests, Unauthorized, UnsupportedType } from '../../core/errors.js'
import { ensure, type Viewer } from '../../core/guard.js'
import type { CommunitySettings, CommunitySettingsValues } from '../../core/settings.js'
import { CONTENT_TYPES, type ImageLimits, type ProcessedImage, processAvatar, processImage, sniff, UNSUPPORTED } from './images.js'
import { STORAGE_KEY, type UploadStorage } from './storage.js'

/** A file as a form or the API received it. */
export interface ReceivedFile {
  data: Buffer
  /** The name the member's device gave it: only used for the image's alt text. */
  filename: string
  /** True when the file was cut off at the server's hard limit (it was too large). */
  truncated: boolean
}

/** One upload as the API, the account export and the member's own lists show it. */
export interface UploadView {
  id: number
  kind: UploadKind
  url: string
  /** Every URL the upload is served at (an avatar has one per size). */
  urls: string[]
  width: number
  height: number
  contentType: string
  bytes: number
  name: string
  /** What to put in a post to show it. */
  markdown: string
  createdAt: Date
}

const MB = 1024 * 1024

/** The URL of a stored file. */
export function uploadUrl(key: string): string {
  return `/uploads/${key}`
}

/** Alt text from a file name: `holiday_photo-2.jpg` → `holiday photo 2`; never markdown syntax. */
export function altFromName(filename: string): string {
  const text = filename
    .replace(/\.[a-z0-9]{1,5}$/i, '')
    .replace(/[[\]()\\<>*_`!#|~-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 100)
    .trim()
  return text || 'image'
}

/**
 * Images members upload: for posts (`createImage`) and as avatars (`setAvatar`). Every
 * file is sniffed (its bytes decide what it is), size- and pixel-checked, re-encoded
 * without metadata and stored under a content hash through an `UploadStorage`; each upload
 * is a row of `uploads` owned by its member, so an account export or deletion finds them
 * all (`listForUser`, `deleteAllForUser`).
 */
export class UploadService {
  constructor(
    private readonly db: Db,
    readonly storage: UploadStorage,
    private readonly settings: CommunitySettings,
  ) {}

  /** The limits pictures are processed under, from community settings. */
  static limits(s: CommunitySettingsValues): ImageLimits {
    return { maxPixels: s.upload_max_megapixels * 1_000_000, maxDimension: s.upload_max_dimension }
  }

  /** Stores an image for a post; answers where it is served and the markdown that shows it. */
  async createImage(viewer: Viewer, file: ReceivedFile, field = 'image'): Promise<UploadView> {
    const s = await this.settings.all()
    const user = this.check(viewer, s)
    const kind = await this.accept(file, s, field)
    await this.checkQuota(this.db, user, s, 0, field)
    const image = await processImage(file.data, kind, UploadService.limits(s), field)
    const row = await this.store(user, 'image', [image], image, file, s, field)
    return view(row)
  }

  /**
   * Sets the member's avatar from an image: a square crop in each of AVATAR_SIZES. The
   * previous avatar's files go (unless another upload shares them).
   */
  async setAvatar(viewer: Viewer, file: ReceivedFile, field = 'avatar'): Promise<UploadView> {
    const s = await this.settings.all()
    const user = this.check(viewer, s)
    await this.accept(file, s, field)
    await this.checkQuota(this.db, user, s, 0, field)
    const { hash, files } = await processAvatar(file.data, UploadService.limits(s), field)
    const largest = files[files.length - 1]!
    const named = files.map((f, i) => ({ ...f, key: `${hash}-${AVATAR_SIZES[i]}.webp` }))
    const row = await this.store(user, 'avatar', named, largest, file, s, field, async (trx) => {
      const previous = await trx.selectFrom('users').select('avatar_key').where('id', '=', user.id).executeTakeFirst()
      await trx.updateTable('users').set({ avatar_key: hash }).where('id', '=', user.id).execute()
      return previous?.avatar_key ?? null
    })
    return view(row)
  }

  /** Back to the generated avatar; the uploaded one's files and rows go. */
  async removeAvatar(viewer: Viewer): Promise<void> {
    const user = viewer.user
    if (!user) throw new Unauthorized()
    const stale = await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ avatar_key: null }).where('id', '=', user.id).execute()
      return trx.deleteFrom('uploads').where('user_id', '=', user.id).where('kind', '=', 'avatar').returning('keys').execute()
    })
    await this.deleteUnreferenced(stale.flatMap((r) => r.keys))
  }

  /** Every upload of a member, newest first (for the account export and their settings). */
  async listForUser(userId: number, trx?: DbOrTrx): Promise<UploadView[]> {
    const rows = await (trx ?? this.db).selectFrom('uploads').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute()
    return rows.map(view)
  }

  /**
   * Deletes every upload of a member: their rows, their avatar, and each stored file no
   * other member's upload shares. Posts that showed the images show their alt text then.
   * Account deletion calls this before the member's row goes. Answers how many uploads went.
   */
  async deleteAllForUser(userId: number): Promise<number> {
    const rows = await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ avatar_key: null }).where('id', '=', userId).execute()
      return trx.deleteFrom('uploads').where('user_id', '=', userId).returning('keys').execute()
    })
    await this.deleteUnreferenced(rows.flatMap((r) => r.keys))
    return rows.length
  }

  /** A stored file by its name in the URL, with its content type; null when there is none. */
  async open(name: string): Promise<{ stream: Readable; size: number; contentType: string } | null> {
    if (!STORAGE_KEY.test(name)) return null
    const found = await this.storage.stream(name)
    if (!found) return null
    return { ...found, contentType: CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1)]! }
  }

  // ── steps ─────────────────────────────────────────────────────────────────────

  private check(viewer: Viewer, s: CommunitySettingsValues) {
    ensure(viewer, 'upload', { minTrustLevel: s.upload_min_trust_level })
    return viewer.user!
  }

  // The file's own limits: present, not too large, and an image Hearth takes by its bytes.
  private async accept(file: ReceivedFile, s: CommunitySettingsValues, field: string) {
    if (file.data.length === 0 && !file.truncated) throw Invalid.field(field, 'Choose an image to upload')
    if (file.truncated || file.data.length > s.upload_max_file_kb * 1024) {
      throw new TooLarge(`This file is too large; images can be up to ${formatSize(s.upload_max_file_kb * 1024)}`, field)
    }
    const kind = await sniff(file.data)
    if (!kind) throw new UnsupportedType(UNSUPPORTED, field)
    return kind
  }

  // The member's day: uploads and stored bytes over the last 24 hours, with this one added.
  private async checkQuota(trx: DbOrTrx, user: NonNullable<Viewer['user']>, s: CommunitySettingsValues, adding: number, field: string) {
    const newcomer = user.trust_level === 0 && user.role === 'member'
    const maxCount = newcomer ? s.tl0_upload_daily_count : s.upload_daily_count
    const maxBytes = (newcomer ? s.tl0_upload_daily_mb : s.upload_daily_mb) * MB
    const used = await trx
      .selectFrom('uploads')
      .select([sql<number>`count(*)::int`.as('n'), sql<number>`coalesce(sum(byte_size), 0)::bigint`.as('bytes')])
      .where('user_id', '=', user.id)
      .where('created_at', '>', sql<Date>`now() - interval '1 day'`)
      .executeTakeFirstOrThrow()
    if (used.n + (adding > 0 ? 1 : 0) > maxCount || (adding === 0 && used.n >= maxCount)) {
      throw new TooManyRequestsField(`You have uploaded ${used.n} images today, the most a member at your trust level can; try again tomorrow`, field)
    }
    if (Number(used.bytes) + adding > maxBytes) {
      throw new TooManyRequestsField(`You have used today's ${formatSize(maxBytes)} of uploads; try again tomorrow`, field)
    }
  }

  // One member's uploads are stored one at a time (an advisory lock on the member), so two
  // at once cannot both fit in the last bit of a quota; the files are written inside the
  // transaction, so a row never exists without its files.
  private async store(
    user: NonNullable<Viewer['user']>,
    kind: UploadKind,
    files: (ProcessedImage & { key?: string })[],
    main: ProcessedImage,
    file: ReceivedFile,
    s: CommunitySettingsValues,
    field: string,
    alongside?: (trx: DbOrTrx) => Promise<string | null>,
  ) {
    const keyed = files.map((f) => ({ ...f, key: f.key ?? `${f.hash}.${f.ext}` }))
    const bytes = keyed.reduce((sum, f) => sum + f.data.length, 0)
    let replaced: string | null = null
    const row = await this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext('hearth:uploads'), ${user.id}::int)`.execute(trx)
      await this.checkQuota(trx, user, s, bytes, field)
      const inserted = await trx
        .insertInto('uploads')
        .values({
          user_id: user.id,
          kind,
          hash: main.hash,
          keys: keyed.map((f) => f.key),
          content_type: main.contentType,
          byte_size: bytes,
          original_bytes: file.data.length,
          width: main.width,
          height: main.height,
          original_name: file.filename.slice(0, 200),
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      if (alongside) {
        replaced = await alongside(trx)
        if (replaced) {
          await trx.deleteFrom('uploads').where('user_id', '=', user.id).where('kind', '=', 'avatar').where('hash', '=', replaced).where('id', '!=', inserted.id).execute()
        }
      }
      for (const f of keyed) await this.storage.put(f.key, f.data, f.contentType)
      return inserted
    })
    if (replaced && replaced !== main.hash) await this.deleteUnreferenced(AVATAR_SIZES.map((size) => `${replaced}-${size}.webp`))
    return row
  }

  // Removes stored files no upload lists any more (two members can share a picture).
  private async deleteUnreferenced(keys: string[]) {
    if (keys.length === 0) return
    const still = await this.db
      .selectFrom('uploads')
      .select(sql<string>`unnest(keys)`.as('key'))
      .where(sql<boolean>`keys && ${sql.val(keys)}::text[]`)
      .execute()
    const kept = new Set(still.map((r) => r.key))
    for (const key of new Set(keys)) if (!kept.has(key)) await this.storage.delete(key)
  }
}

/** 429 naming the file field: the daily quota is spent (a form shows it beside the file input). */
export class TooManyRequestsField extends TooManyRequests {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message)
  }
}

function view(row: { id: number; kind: UploadKind; keys: string[]; width: number; height: number; content_type: string; byte_size: number; original_name: string; created_at: Date }): UploadView {
  const main = row.keys[row.keys.length - 1]!
  const url = uploadUrl(main)
  const alt = altFromName(row.original_name)
  return {
    id: row.id,
    kind: row.kind,
    url,
    urls: row.keys.map(uploadUrl),
    width: row.width,
    height: row.height,
    contentType: row.content_type,
    bytes: row.byte_size,
    name: row.original_name,
    markdown: `![${alt}](${url})`,
    createdAt: row.created_at,
  }
}

function formatSize(bytes: number): string {
  return bytes >= MB ? `${Math.round((bytes / MB) * 10) / 10} MB` : `${Math.round(bytes / 1024)} KB`
}
