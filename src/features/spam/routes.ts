import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { FormBody, handleForm, IdParams, queryText, requireAdmin, requireUser } from '../../core/http.js'

const DoneQuery = z.object({ done: queryText, applied: queryText, saved: queryText })

/**
 * Spam defence pages and API: the author's held posts (/pending), the approval queue
 * (/mod/approvals), sign-up applications (/mod/applications), the spammer action,
 * invitations (/invites), and watched words and the blocked list (/admin/spam).
 */
export async function spamRoutes(app: FastifyInstance): Promise<void> {
  const { categories, spam, settings } = app.hearth
  const viewerOf = (req: FastifyRequest) => categories.viewer(req.user)
  const r = app.withTypeProvider<ZodTypeProvider>()

  // ── the author's held posts ─────────────────────────────────────────────────
  r.get('/pending', { schema: { querystring: DoneQuery } }, async (req, reply) => {
    const user = requireUser(req)
    const items = await spam.mine(await viewerOf(req))
    return reply.view('spam/pending-list', { title: 'Your posts awaiting review', items, applied: req.query.applied === '1', pendingAccount: user.approval_status === 'pending' })
  })

  const heldPage = async (req: FastifyRequest, id: number) => {
    const held = await spam.heldPost(await viewerOf(req), id)
    return { title: held.item.title ?? `Reply in ${held.item.threadTitle}`, ...held }
  }

  r.get('/pending/:id', { schema: { params: IdParams, querystring: DoneQuery } }, async (req, reply) => {
    requireUser(req)
    const page = await heldPage(req, req.params.id)
    return reply.view('spam/pending', { ...page, values: { title: page.item.title ?? '', body: '' }, saved: req.query.saved === '1' })
  })

  r.post('/pending/:id', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    requireUser(req)
    const form = req.body
    const page = await heldPage(req, req.params.id)
    return handleForm(reply, 'spam/pending', form, async () => {
      await spam.editHeld(await viewerOf(req), req.params.id, form)
      return reply.redirect(`/pending/${req.params.id}?saved=1`, 303)
    }, page)
  })

  r.get('/api/v1/pending', async (req) => {
    requireUser(req)
    const items = await spam.mine(await viewerOf(req))
    return { items: items.map(heldJson) }
  })

  r.patch('/api/v1/pending/:id', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return spam.editHeld(await viewerOf(req), req.params.id, req.body)
  })

  // ── the approval queue ──────────────────────────────────────────────────────
  const queuePage = async (req: FastifyRequest) => {
    const viewer = await viewerOf(req)
    const items = await spam.queue(viewer)
    return {
      title: 'Posts awaiting approval',
      pending: items.filter((i) => i.status === 'pending'),
      flagged: items.filter((i) => i.status === 'flagged'),
      done: DoneQuery.safeParse(req.query).data?.done,
    }
  }

  r.get('/mod/approvals', { schema: { querystring: DoneQuery } }, async (req, reply) => {
    requireUser(req)
    return reply.view('spam/approvals', await queuePage(req))
  })

  r.post('/mod/approvals/:id', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    requireUser(req)
    const form = req.body
    return handleForm(reply, 'spam/approvals', form, async () => {
      const done = await spam.decide(await viewerOf(req), req.params.id, form)
      return reply.redirect(`/mod/approvals?done=${done.action}`, 303)
    }, await queuePage(req))
  })

  r.get('/api/v1/mod/queue', async (req) => {
    requireUser(req)
    const items = await spam.queue(await viewerOf(req))
    return { items: items.map(heldJson) }
  })

  r.post('/api/v1/mod/queue/:id', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return spam.decide(await viewerOf(req), req.params.id, req.body)
  })

  // ── sign-up applications ────────────────────────────────────────────────────
  const applicationsPage = async (req: FastifyRequest) => ({
    title: 'Applications to join',
    applications: await spam.applications(await viewerOf(req)),
    done: DoneQuery.safeParse(req.query).data?.done,
  })

  r.get('/mod/applications', { schema: { querystring: DoneQuery } }, async (req, reply) => {
    requireUser(req)
    return reply.view('spam/applications', await applicationsPage(req))
  })

  r.post('/mod/applications/:id', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    requireUser(req)
    const form = req.body
    return handleForm(reply, 'spam/applications', form, async () => {
      const done = await spam.decideApplication(await viewerOf(req), req.params.id, form)
      return reply.redirect(`/mod/applications?done=${done.status}`, 303)
    }, await applicationsPage(req))
  })

  r.get('/api/v1/mod/applications', async (req) => {
    requireUser(req)
    const items = await spam.applications(await viewerOf(req))
    return { items: items.map((a) => ({ id: a.id, username: a.username, email: a.email, createdAt: a.createdAt.toISOString(), answers: a.answers })) }
  })

  r.post('/api/v1/mod/applications/:id', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return spam.decideApplication(await viewerOf(req), req.params.id, req.body)
  })

  // ── the spammer action ──────────────────────────────────────────────────────
  r.post('/mod/spammer/:id', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const user = requireUser(req)
    const done = await spam.markSpammer(user, req.params.id, req.body)
    return reply.redirect(`/u/${encodeURIComponent(done.username)}?spammer=${done.posts}`, 303)
  })

  r.post('/api/v1/admin/members/:id/spammer', { schema: { params: IdParams } }, async (req) => {
    const user = requireUser(req)
    return spam.markSpammer(user, req.params.id, req.body ?? {})
  })

  // ── invitations ─────────────────────────────────────────────────────────────
  const invitesPage = async (req: FastifyRequest, extra: Record<string, unknown> = {}) => {
    const viewer = await viewerOf(req)
    const s = await settings.all()
    return { title: 'Invitations', invites: await spam.invites(viewer), inviteOnly: s.spam_signup_mode === 'invite', values: {}, ...extra }
  }

  r.get('/invites', async (req, reply) => {
    requireUser(req)
    return reply.view('spam/invites', await invitesPage(req))
  })

  r.post('/invites', { schema: { body: FormBody } }, async (req, reply) => {
    requireUser(req)
    const form = req.body
    return handleForm(reply, 'spam/invites', form, async () => {
      const created = await spam.createInvite(await viewerOf(req), form)
      return reply.view('spam/invites', await invitesPage(req, { created }))
    }, await invitesPage(req))
  })

  r.post('/api/v1/invites', async (req, reply) => {
    requireUser(req)
    const created = await spam.createInvite(await viewerOf(req), req.body ?? {})
    return reply.code(201).send({ id: created.id, url: created.url, maxUses: created.max_uses, expiresAt: created.expires_at.toISOString() })
  })

  // ── watched words and the blocked list (owners) ─────────────────────────────
  const adminPage = async (req: FastifyRequest, extra: Record<string, unknown> = {}) => {
    const user = await requireAdmin(req)
    return {
      title: 'Spam defence',
      watched: await spam.listWatched(user),
      blocked: await spam.listBlocked(user),
      saved: DoneQuery.safeParse(req.query).data?.saved,
      values: { action: 'block' },
      ...extra,
    }
  }

  r.get('/admin/spam', { schema: { querystring: DoneQuery } }, async (req, reply) => reply.view('spam/admin', await adminPage(req)))

  r.post('/admin/spam/watched', { schema: { body: FormBody } }, async (req, reply) => {
    const user = await requireAdmin(req)
    const form = req.body
    return handleForm(reply, 'spam/admin', form, async () => {
      await spam.addWatched(user, form)
      return reply.redirect('/admin/spam?saved=watched#watched', 303)
    }, await adminPage(req))
  })

  r.post('/admin/spam/watched/:id/remove', { schema: { params: IdParams } }, async (req, reply) => {
    const user = await requireAdmin(req)
    await spam.removeWatched(user, req.params.id)
    return reply.redirect('/admin/spam?saved=removed#watched', 303)
  })

  r.post('/admin/spam/blocked/:id/remove', { schema: { params: IdParams } }, async (req, reply) => {
    const user = await requireAdmin(req)
    await spam.removeBlocked(user, req.params.id)
    return reply.redirect('/admin/spam?saved=unblocked#blocked', 303)
  })

  r.get('/api/v1/admin/watched-words', async (req) => {
    const user = await requireAdmin(req)
    return { items: (await spam.listWatched(user)).map((w) => ({ id: w.id, pattern: w.pattern, isRegex: w.is_regex, action: w.action, replacement: w.replacement })) }
  })

  r.post('/api/v1/admin/watched-words', async (req, reply) => {
    const user = await requireAdmin(req)
    return reply.code(201).send(await spam.addWatched(user, req.body))
  })

  r.delete('/api/v1/admin/watched-words/:id', { schema: { params: IdParams } }, async (req, reply) => {
    const user = await requireAdmin(req)
    await spam.removeWatched(user, req.params.id)
    return reply.code(204).send()
  })
}

function heldJson(i: import('./service.js').HeldItem) {
  return {
    id: i.id, status: i.status, kind: i.kind, author: i.author, categoryId: i.categoryId, thread: i.threadTitle, title: i.title,
    excerpt: i.excerpt, reasons: i.reasons, score: i.score, createdAt: i.createdAt.toISOString(), waited: i.waited, postId: i.postId,
  }
}
