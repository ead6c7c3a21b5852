import fastifyMultipart from '@fastify/multipart'
import type { FastifyInstance, FastifyRequest } from 'fastify'

/** One file a multipart form or API request carried (see `attachedFile`). */
export interface AttachedFile {
  field: string
  filename: string
  data: Buffer
  /** Cut off at the hard limit: the file was larger than any community may allow. */
  truncated: boolean
}

/** The most bytes of one file the server reads; community settings allow at most this. */
export const HARD_FILE_LIMIT = 20 * 1024 * 1024

const files = new WeakMap<FastifyRequest, AttachedFile[]>()

/**
 * Multipart bodies (`multipart/form-data`): forms that carry a file (reply, new thread, idea,
 * avatar) and `POST /api/v1/uploads`. Text fields become the body as an ordinary form's would
 * (so CSRF, text rules and the routes' form handling see no difference). Files are read into
 * memory, up to HARD_FILE_LIMIT, only on routes marked `config: { uploads: true }`; anywhere
 * else a file part is drained and dropped. The upload service checks everything else.
 */
export async function registerMultipart(app: FastifyInstance): Promise<void> {
  await app.register(fastifyMultipart, {
    attachFieldsToBody: 'keyValues',
    throwFileSizeLimit: false,
    limits: { fileSize: HARD_FILE_LIMIT, files: 2, fields: 50, fieldSize: 1024 * 1024, parts: 60 },
    async onFile(part) {
      if (!this.routeOptions.config?.uploads) {
        part.file.resume()
        return
      }
      const chunks: Buffer[] = []
      for await (const chunk of part.file) chunks.push(chunk as Buffer)
      const data = Buffer.concat(chunks)
      // A form's empty file input still sends a part (no name, no bytes): that is no file.
      if (data.length === 0 && !part.filename) return
      const list = files.get(this) ?? []
      list.push({ field: part.fieldname, filename: part.filename ?? '', data, truncated: part.file.truncated })
      files.set(this, list)
    },
  })
}

/** The first file the request carried (on a route marked `uploads`), or null. */
export function attachedFile(req: FastifyRequest): AttachedFile | null {
  return files.get(req)?.[0] ?? null
}
