import { createReadStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'

/**
 * Where uploaded files live. Keys are flat names Hearth makes itself (a content hash, an
 * optional size, an extension: `3f…9a.jpg`, `3f…9a-96.webp`), never a member's file name.
 *
 * To keep files elsewhere (an S3-compatible bucket), implement these four methods and pass
 * the implementation to `buildServices` (`ServiceDeps.uploadStorage`): `put` must be
 * idempotent for the same key and content (two members may upload the same picture),
 * `stream` and `get` answer null for a missing key, and `delete` of a missing key succeeds.
 */
export interface UploadStorage {
  /** Stores the bytes under the key (replacing what was there: the key names its content). */
  put(key: string, data: Buffer, contentType: string): Promise<void>
  /** The whole file, or null. */
  get(key: string): Promise<Buffer | null>
  /** A stream of the file with its size, or null; the caller consumes or destroys the stream. */
  stream(key: string): Promise<{ stream: Readable; size: number } | null>
  /** Removes the file; a missing one is not an error. */
  delete(key: string): Promise<void>
}

/** The names UploadService gives files; anything else is refused before it reaches a path. */
export const STORAGE_KEY = /^[a-f0-9]{32}(?:-[0-9]{2,4})?\.(?:jpg|png|webp|gif)$/

function checkKey(key: string): void {
  if (!STORAGE_KEY.test(key)) throw new Error(`not an upload key: ${JSON.stringify(key)}`)
}

/**
 * Files in a folder on this machine (`UPLOADS_DIR`, by default `./data/uploads`), in
 * sub-folders by the first two characters of the key so no folder grows huge. Writes go to
 * a temporary name first and are renamed into place, so a reader never sees half a file.
 * Several web instances need a shared folder (a volume) or another storage.
 */
export class LocalFolderStorage implements UploadStorage {
  constructor(readonly dir: string) {}

  private pathOf(key: string): string {
    checkKey(key)
    return path.join(this.dir, key.slice(0, 2), key)
  }

  async put(key: string, data: Buffer): Promise<void> {
    const target = this.pathOf(key)
    await fs.mkdir(path.dirname(target), { recursive: true })
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`
    await fs.writeFile(temp, data, { mode: 0o644 })
    await fs.rename(temp, target)
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await fs.readFile(this.pathOf(key))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
  }

  async stream(key: string): Promise<{ stream: Readable; size: number } | null> {
    const file = this.pathOf(key)
    try {
      const handle = await fs.open(file, 'r')
      const { size } = await handle.stat()
      return { stream: createReadStream(file, { fd: handle }), size }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw err
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true })
  }
}
