import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { FormBody, handleForm, IdParams, idField, pathText, requireUser, safeNext } from '../../core/http.js'
import { NOTIFICATION_LEVELS } from './schemas.js'

const ListQuery = z.object({ before: idField('Bad page cursor').optional() })
// No body at all (a token-authenticated call) marks everything read.
const ReadInput = z.object({ ids: z.array(z.number().int().positive()).max(500).optional() }).default({})

const SlugParams = z.object({ slug: pathText(100) })
const UsernameParams = z.object({ username: pathText(40) })
const SettingsQuery = z.object({ saved: z.string().max(20).optional() })
const LevelBody = z.object({ level: z.unknown() }).passthrough()

/**
 * /notifications page, the header's unread count, and the notifications API; notification
 * levels on threads and categories, muted members and the like switch (/settings/notifications).
 */
export async function notificationRoutes(app: FastifyInstance): Promise<void> {
  const { notifications, notificationLevels: levels, categories } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()
  const viewerOf = async (req: FastifyRequest) => categories.viewer(requireUser(req))

  // ── levels and mutes: pages (forms work without JavaScript) ─────────────────────
  const settingsPage = async (req: FastifyRequest, extra: Record<string, unknown> = {}) => ({
    title: 'Notification settings',
    levelOptions: NOTIFICATION_LEVELS,
    ...(await levels.overview(await viewerOf(req))),
    ...extra,
  })

  r.get('/settings/notifications', { schema: { querystring: SettingsQuery } }, async (req, reply) =>
    reply.view('notifications/settings', await settingsPage(req, { saved: req.query.saved, values: {} })),
  )

  r.post('/t/:id/notification-level', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const viewer = await viewerOf(req)
    const saved = await levels.setThreadLevel(viewer, req.params.id, req.body)
    const back = safeNext(req.body.next, `${saved.url}?level=saved`)
    return reply.redirect(back, 303)
  })

  r.post('/c/:slug/notification-level', { schema: { params: SlugParams, body: FormBody } }, async (req, reply) => {
    const viewer = await viewerOf(req)
    const category = await categories.bySlug(viewer, req.params.slug)
    const saved = await levels.setCategoryLevel(viewer, category.id, req.body)
    return reply.redirect(safeNext(req.body.next, `${saved.url}?level=saved`), 303)
  })

  r.post('/settings/notifications/likes', { schema: { body: FormBody } }, async (req, reply) => {
    await levels.setLikeNotifications(await viewerOf(req), { likes: req.body.likes === 'on' })
    return reply.redirect('/settings/notifications?saved=likes', 303)
  })

  r.post('/settings/mutes', { schema: { body: FormBody } }, async (req, reply) => {
    const viewer = await viewerOf(req)
    const form = req.body
    return handleForm(reply, 'notifications/settings', form, async () => {
      await levels.mute(viewer, form)
      return reply.redirect('/settings/notifications?saved=muted#mutes', 303)
    }, await settingsPage(req))
  })

  r.post('/settings/mutes/:username/delete', { schema: { params: UsernameParams } }, async (req, reply) => {
    await levels.unmute(await viewerOf(req), req.params.username)
    return reply.redirect('/settings/notifications?saved=unmuted#mutes', 303)
  })

  // ── levels and mutes: API ───────────────────────────────────────────────────────
  r.get('/api/v1/me/notification-levels', async (req) => {
    const o = await levels.overview(await viewerOf(req))
    return {
      threads: o.threads.map((t) => ({ threadId: t.id, title: t.title, url: t.url, level: t.level, reason: t.reason })),
      categories: o.categories.map((c) => ({ categoryId: c.id, name: c.name, url: c.url, level: c.level })),
      likeNotifications: o.likeNotifications,
    }
  })

  r.get('/api/v1/threads/:id/notification-level', { schema: { params: IdParams } }, async (req) => {
    const level = await levels.forThread(await viewerOf(req), req.params.id)
    return { threadId: req.params.id, ...level }
  })

  r.put('/api/v1/threads/:id/notification-level', { schema: { params: IdParams, body: LevelBody } }, async (req) => {
    const { threadId, level } = await levels.setThreadLevel(await viewerOf(req), req.params.id, req.body)
    return { threadId, level }
  })

  r.delete('/api/v1/threads/:id/notification-level', { schema: { params: IdParams } }, async (req) => {
    const viewer = await viewerOf(req)
    await levels.clearThreadLevel(viewer, req.params.id)
    return { threadId: req.params.id, ...(await levels.forThread(viewer, req.params.id)) }
  })

  r.put('/api/v1/categories/:id/notification-level', { schema: { params: IdParams, body: LevelBody } }, async (req) => {
    const { categoryId, level } = await levels.setCategoryLevel(await viewerOf(req), req.params.id, req.body)
    return { categoryId, level }
  })

  r.patch('/api/v1/me/notification-settings', { schema: { body: z.object({ likes: z.boolean() }) } }, async (req) => {
    return { likeNotifications: (await levels.setLikeNotifications(await viewerOf(req), req.body)).likes }
  })

  r.get('/api/v1/me/mutes', async (req) => {
    const mutes = await levels.mutes(await viewerOf(req))
    return { mutes: mutes.map((m) => ({ username: m.username, since: m.since.toISOString() })) }
  })

  r.put('/api/v1/me/mutes/:username', { schema: { params: UsernameParams } }, async (req) => levels.mute(await viewerOf(req), req.params))

  r.delete('/api/v1/me/mutes/:username', { schema: { params: UsernameParams } }, async (req) => levels.unmute(await viewerOf(req), req.params.username))

  // ── notifications ───────────────────────────────────────────────────────────────

  r.get('/notifications', { schema: { querystring: ListQuery } }, async (req, reply) => {
    const user = requireUser(req)
    const { before } = req.query
    const page = await notifications.list(user.id, before)
    return reply.view('notifications/index', { title: 'Notifications', ...page })
  })

  r.get('/notifications/:id', { schema: { params: IdParams } }, async (req, reply) => {
    const user = requireUser(req)
    const { id } = req.params
    return reply.redirect(await notifications.open(user.id, id), 303)
  })

  app.post('/notifications/read', async (req, reply) => {
    const user = requireUser(req)
    await notifications.markRead(user.id)
    return reply.redirect('/notifications', 303)
  })

  r.get('/api/v1/notifications', { schema: { querystring: ListQuery } }, async (req) => {
    const user = requireUser(req)
    const { before } = req.query
    const page = await notifications.list(user.id, before)
    return {
      unread: await notifications.unreadCount(user.id),
      items: page.items.map((n) => ({
        id: n.id,
        kind: n.kind,
        url: n.url,
        text: n.payload.text,
        actor: n.actor_username,
        count: n.count,
        updatedAt: (n.updated_at ?? n.created_at).toISOString(),
        read: n.read_at !== null,
        createdAt: n.created_at.toISOString(),
      })),
      nextBefore: page.nextBefore,
    }
  })

  r.post('/api/v1/notifications/read', { schema: { body: ReadInput } }, async (req) => {
    const user = requireUser(req)
    const { ids } = req.body
    return { marked: await notifications.markRead(user.id, ids) }
  })
}
