import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { defaultAvatarSvg } from '../../core/avatars.js'
import { fieldErrors, Invalid, NotFound } from '../../core/errors.js'
import { FormBody, idField, pathText, requireUser } from '../../core/http.js'
import { attachedFile } from '../../core/multipart.js'
import { rateLimit } from '../../core/rate-limits.js'
import { settingsView } from '../accounts/routes.js'
import type { ReceivedFile, UploadView } from './service.js'

/** Uploads a minute per member (forms and API share it); the daily quota is in community settings. */
export const UPLOADS_PER_MINUTE = 20
const YEAR = 365 * 24 * 60 * 60
const UploadParams = z.object({ name: pathText(80) })
const AvatarParams = z.object({ id: idField(), file: pathText(16) })

/**
 * Images: the upload API, the files themselves, generated avatars, and the avatar part of
 * /settings. Forms that carry an image with a post (reply, new thread, idea) use
 * `imageFromForm` in their own routes.
 */
export async function uploadRoutes(app: FastifyInstance): Promise<void> {
  const { uploads, categories } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()
  const uploadLimit = rateLimit(app, 'upload', UPLOADS_PER_MINUTE, 60_000)

  r.post('/api/v1/uploads', { config: { uploads: true }, preHandler: uploadLimit }, async (req, reply) => {
    requireUser(req)
    const file = receivedFile(req)
    if (!file) throw Invalid.field('file', 'Attach an image as the multipart field "file"')
    const upload = await uploads.createImage(await categories.viewer(req.user), file, 'file')
    return reply.code(201).send(uploadJson(upload))
  })

  app.get('/api/v1/me/uploads', async (req) => {
    const user = requireUser(req)
    return { uploads: (await uploads.listForUser(user.id)).map(uploadJson) }
  })

  // The files: named by their content, so cached for good; served so that no browser will
  // ever run one (exact type, nosniff, a CSP that allows nothing, a sandbox).
  r.get('/uploads/:name', { schema: { params: UploadParams } }, async (req, reply) => {
    const { name } = req.params
    const etag = `"${name}"`
    if (req.headers['if-none-match'] === etag) {
      imageHeaders(reply, etag)
      return reply.code(304).send()
    }
    const file = await uploads.open(name)
    if (!file) throw new NotFound('No such image')
    imageHeaders(reply, etag)
    return reply
      .type(file.contentType)
      .header('content-length', file.size)
      .header('content-disposition', `inline; filename="${name}"`)
      .send(file.stream)
  })

  // A generated avatar: the colour comes from the member id, the letters from the address.
  r.get('/avatars/:id/:file', { schema: { params: AvatarParams } }, async (req, reply) => {
    const found = /^([A-Z0-9]{1,2})\.svg$/.exec(req.params.file)
    if (!found) throw new NotFound()
    imageHeaders(reply, `"${req.params.id}-${found[1]}"`)
    return reply
      .type('image/svg+xml')
      .header('content-disposition', `inline; filename="avatar.svg"`)
      .send(defaultAvatarSvg(req.params.id, found[1]!))
  })

  // ── the avatar in /settings ─────────────────────────────────────────────────────
  r.post('/settings/avatar', { config: { uploads: true }, preHandler: uploadLimit, schema: { body: FormBody } }, async (req, reply) => {
    requireUser(req)
    const file = receivedFile(req)
    try {
      if (!file) throw Invalid.field('avatar', 'Choose an image for your avatar')
      await uploads.setAvatar(await categories.viewer(req.user), file)
    } catch (err) {
      const fields = fieldErrors(err)
      if (!fields) throw err
      return reply.code((err as { status: number }).status).view('accounts/settings', await settingsView(app, req, { errors: fields }))
    }
    return reply.redirect('/settings?saved=avatar#avatar', 303)
  })

  r.post('/settings/avatar/remove', { schema: { body: FormBody } }, async (req, reply) => {
    requireUser(req)
    await uploads.removeAvatar(await categories.viewer(req.user))
    return reply.redirect('/settings?saved=avatar-removed#avatar', 303)
  })
}

function imageHeaders(reply: FastifyReply, etag: string) {
  reply
    .header('cache-control', `public, max-age=${YEAR}, immutable`)
    .header('etag', etag)
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    // Feed readers and mail show post images from elsewhere; the names cannot be guessed.
    .header('cross-origin-resource-policy', 'cross-origin')
}

/** The file a request carried, as the upload service takes it. */
export function receivedFile(req: FastifyRequest): ReceivedFile | null {
  const file = attachedFile(req)
  return file ? { data: file.data, filename: file.filename, truncated: file.truncated } : null
}

/**
 * For a post form that may carry an image (no JavaScript: the file field): stores it and
 * appends its markdown to the body. Answers the form to go on with, or the field errors
 * to show (the form is shown again with them, nothing is posted).
 */
export async function imageFromForm(
  app: FastifyInstance,
  req: FastifyRequest,
  form: Record<string, string>,
): Promise<{ form: Record<string, string>; errors?: Record<string, string>; status?: number }> {
  const file = receivedFile(req)
  if (!file) return { form }
  try {
    const upload = await app.hearth.uploads.createImage(await app.hearth.categories.viewer(req.user), file, 'image')
    const body = (form.body ?? '').trimEnd()
    return { form: { ...form, body: `${body}${body ? '\n\n' : ''}${upload.markdown}` } }
  } catch (err) {
    const fields = fieldErrors(err)
    if (!fields) throw err
    return { form, errors: fields, status: (err as { status: number }).status }
  }
}

function uploadJson(u: UploadView) {
  return { id: u.id, url: u.url, width: u.width, height: u.height, contentType: u.contentType, bytes: u.bytes, markdown: u.markdown, createdAt: u.createdAt.toISOString() }
}
