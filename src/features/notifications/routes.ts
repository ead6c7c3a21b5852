import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { parse } from '../../core/errors.js'
import { requireUser } from '../../core/http.js'

const ListQuery = z.object({ before: z.coerce.number().int().positive('Bad page cursor').optional() })
const IdParams = z.object({ id: z.coerce.number().int().positive() })
const ReadInput = z.object({ ids: z.array(z.number().int().positive()).max(500).optional() })

/** /notifications page, the header's unread count, and the notifications API. */
export async function notificationRoutes(app: FastifyInstance): Promise<void> {
  const { notifications } = app.hearth

  app.get('/notifications', async (req, reply) => {
    const user = requireUser(req)
    const { before } = parse(ListQuery, req.query)
    const page = await notifications.list(user.id, before)
    return reply.view('notifications/index', { title: 'Notifications', ...page })
  })

  app.get('/notifications/:id', async (req, reply) => {
    const user = requireUser(req)
    const { id } = parse(IdParams, req.params)
    return reply.redirect(await notifications.open(user.id, id), 303)
  })

  app.post('/notifications/read', async (req, reply) => {
    const user = requireUser(req)
    await notifications.markRead(user.id)
    return reply.redirect('/notifications', 303)
  })

  app.get('/api/v1/notifications', async (req) => {
    const user = requireUser(req)
    const { before } = parse(ListQuery, req.query)
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

  app.post('/api/v1/notifications/read', async (req) => {
    const user = requireUser(req)
    const { ids } = parse(ReadInput, req.body)
    return { marked: await notifications.markRead(user.id, ids) }
  })
}
