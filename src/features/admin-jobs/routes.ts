import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { parse } from '../../core/errors.js'
import { requireAdmin } from '../../core/http.js'
import { JobAdminService } from './service.js'

const RetryParams = z.object({ queue: z.string().min(1).max(60), id: z.string().min(1).max(200) })

/** /admin/jobs: every queue's failed jobs, with their reason, attempts and a retry button. */
export async function adminJobRoutes(app: FastifyInstance): Promise<void> {
  const jobs = new JobAdminService(app.hearth.queue)

  // Declared on the route: the handlers never run for anyone but an admin (404 for everyone else).
  const adminOnly = { preHandler: requireAdmin }

  app.get('/admin/jobs', adminOnly, async (req, reply) => {
    const [counts, failed] = await Promise.all([jobs.counts(), jobs.failed()])
    return reply.view('admin/jobs', {
      title: 'Background jobs',
      enabled: jobs.enabled,
      counts,
      failed,
      retried: (req.query as { retried?: string }).retried,
    })
  })

  app.post('/admin/jobs/:queue/:id/retry', adminOnly, async (req, reply) => {
    const { queue, id } = parse(RetryParams, req.params)
    await jobs.retry(queue, id)
    return reply.redirect(`/admin/jobs?retried=${encodeURIComponent(id)}`, 303)
  })
}
