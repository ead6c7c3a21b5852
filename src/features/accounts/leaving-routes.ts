import type { FastifyInstance, FastifyReply } from 'fastify'
import { clearSessionCookie } from '../../core/auth/cookies.js'
import { type DomainError, fieldErrors } from '../../core/errors.js'
import fs from 'node:fs'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { FormBody, IdParams, pathText, queryText, requireAdmin, requireUser } from '../../core/http.js'
import { passwordCheckLimit, rateLimit } from '../../core/rate-limits.js'
import { cursorParam } from '../../core/cursor.js'
import { settingsView } from './routes.js'
import { MEMBER_SORTS, MemberCursor, type DirectoryMember } from './directory.js'
import type { ExportView } from './exports.js'

const DAY = 86_400_000
/** Exports a member may ask for per day. */
const EXPORTS_PER_DAY = 5

const DirectoryParams = z.object({
  sort: z.enum(MEMBER_SORTS).optional().catch(undefined),
  q: z.string().max(40, 'Search for at most 40 characters').optional(),
  cursor: cursorParam(MemberCursor).optional(),
})
const ExportParams = z.object({ id: pathText(64) })
const AdminMemberQuery = z.object({ saved: queryText })

/** A directory row in API answers. */
function memberJson(m: DirectoryMember) {
  return {
    id: m.id,
    username: m.username,
    displayName: m.displayName,
    role: m.role,
    trustLevel: m.trustLevel,
    createdAt: m.createdAt.toISOString(),
    lastSeenAt: m.lastSeenAt?.toISOString() ?? null,
    posts: m.posts,
    likesReceived: m.likesReceived,
    ...(m.suspended ? { suspended: true } : {}),
    ...(m.deleted ? { deleted: true } : {}),
  }
}

function exportJson(e: ExportView | null) {
  if (!e) return { export: null }
  return {
    export: {
      status: e.status,
      createdAt: e.createdAt.toISOString(),
      readyAt: e.readyAt?.toISOString() ?? null,
      expiresAt: e.expiresAt?.toISOString() ?? null,
      sizeBytes: e.sizeBytes,
      url: e.url,
    },
  }
}

/**
 * Runs a settings form whose fields share names with other forms on the page (every
 * password confirmation is `password`): on bad input the page comes back with the errors
 * under this section only, and the typed values (never the password).
 */
async function sectionForm(reply: FastifyReply, section: string, page: Record<string, unknown>, values: Record<string, unknown>, action: () => Promise<unknown>) {
  try {
    return await action()
  } catch (err) {
    const fields = fieldErrors(err)
    if (!fields) throw err
    return reply.code((err as DomainError).status).view('accounts/settings', { ...page, values: { ...(page.values as object), ...values }, sectionErrors: { [section]: fields }, error: (err as Error).message })
  }
}

/** Username changes, the member directory, data exports and account deletion: pages and API. */
export async function leavingRoutes(app: FastifyInstance): Promise<void> {
  const { accounts, members, leaving, exports, categories, config } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()
  const recheckLimit = { preHandler: passwordCheckLimit(app, config.rateLimits.login) }
  const exportLimit = { preHandler: rateLimit(app, 'data-export', EXPORTS_PER_DAY, DAY) }
  const settingsPage = (req: Parameters<typeof settingsView>[1], extra: Record<string, unknown> = {}) => settingsView(app, req, extra)

  // ── username ──────────────────────────────────────────────────────────────────
  r.post('/settings/username', { schema: { body: FormBody }, ...recheckLimit }, async (req, reply) => {
    const user = requireUser(req)
    const form = req.body
    return sectionForm(reply, 'username', await settingsPage(req), { newUsername: form.username ?? '' }, async () => {
      await accounts.changeUsername(user, form)
      return reply.redirect('/settings?saved=username#username', 303)
    })
  })

  r.put('/api/v1/me/username', recheckLimit, async (req) => {
    const user = requireUser(req)
    return accounts.changeUsername(user, req.body)
  })

  // ── the member directory ──────────────────────────────────────────────────────
  r.get('/u', { schema: { querystring: DirectoryParams } }, async (req, reply) => {
    const viewer = await categories.viewer(req.user)
    const page = await members.list(viewer, { sort: req.query.sort, q: req.query.q ?? '', cursor: req.query.cursor ?? '' })
    const link = (cursor: string | null) => {
      const params = new URLSearchParams({ sort: page.sort, ...(page.q ? { q: page.q } : {}), ...(cursor ? { cursor } : {}) })
      return `/u?${params}`
    }
    return reply.view('accounts/directory', {
      title: 'Members',
      members: page.members,
      q: page.q,
      sort: page.sort,
      sorts: [
        { value: 'posts', label: 'Most active', selected: page.sort === 'posts' },
        { value: 'likes', label: 'Most liked', selected: page.sort === 'likes' },
        { value: 'newest', label: 'Newest', selected: page.sort === 'newest' },
        { value: 'name', label: 'Name', selected: page.sort === 'name' },
      ].map((s) => ({ ...s, url: `/u?${new URLSearchParams({ sort: s.value, ...(page.q ? { q: page.q } : {}) })}` })),
      nextUrl: page.nextCursor ? link(page.nextCursor) : null,
      firstUrl: req.query.cursor ? link(null) : null,
    })
  })

  r.get('/api/v1/members', { schema: { querystring: DirectoryParams } }, async (req) => {
    const viewer = await categories.viewer(req.user)
    const page = await members.list(viewer, { sort: req.query.sort, q: req.query.q ?? '', cursor: req.query.cursor ?? '' })
    return { sort: page.sort, q: page.q, members: page.members.map(memberJson), nextCursor: page.nextCursor }
  })

  // ── data export ───────────────────────────────────────────────────────────────
  r.post('/settings/export', exportLimit, async (req, reply) => {
    const user = requireUser(req)
    await exports.request(user)
    return reply.redirect('/settings?saved=export#export', 303)
  })

  r.get('/settings/export/:id', { schema: { params: ExportParams } }, async (req, reply) => {
    const file = await exports.download(req.user ?? null, req.params.id)
    return reply
      .header('Cache-Control', 'private, no-store')
      .header('Referrer-Policy', 'no-referrer')
      .header('Content-Disposition', `attachment; filename="${file.filename}"`)
      .header('Content-Length', String(file.size))
      .type('application/zip')
      .send(fs.createReadStream(file.path))
  })

  r.get('/api/v1/me/export', async (req) => exportJson(await exports.latest(requireUser(req).id)))

  r.post('/api/v1/me/export', exportLimit, async (req, reply) => {
    const user = requireUser(req)
    return reply.code(202).send(exportJson(await exports.request(user)))
  })

  // ── deleting one's account ────────────────────────────────────────────────────
  r.post('/settings/delete', { schema: { body: FormBody }, ...recheckLimit }, async (req, reply) => {
    const user = requireUser(req)
    const form = req.body
    return sectionForm(reply, 'leave', await settingsPage(req), { deletionMode: form.mode ?? '' }, async () => {
      const outcome = await leaving.request(user, form)
      if (outcome.deleted) {
        clearSessionCookie(reply)
        return reply.redirect('/', 303)
      }
      return reply.redirect('/settings?saved=deletion#leave', 303)
    })
  })

  r.post('/settings/delete/cancel', async (req, reply) => {
    const user = requireUser(req)
    await leaving.cancel(user)
    return reply.redirect('/settings?saved=deletion-cancelled#leave', 303)
  })

  r.delete('/api/v1/me', recheckLimit, async (req, reply) => {
    const user = requireUser(req)
    const outcome = await leaving.request(user, req.body ?? {})
    if (outcome.deleted) return reply.code(202).send({ deleted: true })
    return reply.code(202).send({ deleted: false, mode: outcome.mode, dueAt: outcome.dueAt.toISOString() })
  })

  r.delete('/api/v1/me/deletion', async (req) => {
    const user = requireUser(req)
    return { cancelled: await leaving.cancel(user) }
  })

  // ── an admin deletes an account on a member's behalf ──────────────────────────
  r.post('/admin/members/:id/delete', { schema: { params: IdParams, body: FormBody, querystring: AdminMemberQuery } }, async (req, reply) => {
    const admin = await requireAdmin(req)
    const form = req.body
    const outcome = await leaving.adminDelete(admin, req.params.id, { mode: form.mode, when: form.when, reason: form.deleteReason ?? form.reason ?? '' })
    return reply.redirect(`/admin?saved=${outcome.deleted ? 'member-deleted' : 'member-deletion-scheduled'}#members`, 303)
  })

  r.post('/api/v1/admin/members/:id/delete', { schema: { params: IdParams } }, async (req, reply) => {
    const admin = await requireAdmin(req)
    const outcome = await leaving.adminDelete(admin, req.params.id, req.body ?? {})
    return reply.code(outcome.deleted ? 200 : 202).send(outcome.deleted ? { deleted: true } : { deleted: false, mode: outcome.mode, dueAt: outcome.dueAt.toISOString() })
  })
}
