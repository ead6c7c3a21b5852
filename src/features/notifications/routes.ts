import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { IdParams, idField, requireUser } from '../../core/http.js'

const ListQuery = z.object({ before: idField('Bad page cursor').optional() })
// No body at all (a token-authenticated call) marks everything read.
const ReadInput = z.object({ ids: z.array(z.number().int().positive()).max(500).optional() }).default({})

/** /notifications page, the header's unread count, and the notifications API. */
export async function notificationRoutes(app: FastifyInstance): Promise<void> {
  const { notifications } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()

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
