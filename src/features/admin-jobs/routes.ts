import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { NotFound, parse } from '../../core/errors.js'

const RetryParams = z.object({ queue: z.string().min(1).max(60), id: z.string().min(1).max(200) })

// Admin pages do not exist for anyone else: 404, not 403.
function requireAdmin(req: FastifyRequest): void {
  if (req.user?.role !== 'admin') throw new NotFound()
}

/** /admin/jobs: every queue's failed jobs, with their reason, attempts and a retry button. */
export async function adminJobRoutes(app: FastifyInstance): Promise<void> {
  const { jobs } = app.hearth

  app.get('/admin/jobs', async (req, reply) => {
    requireAdmin(req)
    return reply.view('admin/jobs', {
      title: 'Background jobs',
      enabled: jobs.enabled,
      ...(await jobs.overview()),
      retried: (req.query as { retried?: string }).retried,
    })
  })

  app.post('/admin/jobs/:queue/:id/retry', async (req, reply) => {
    requireAdmin(req)
    const { queue, id } = parse(RetryParams, req.params)
    await jobs.retry(queue, id)
    return reply.redirect(`/admin/jobs?retried=${encodeURIComponent(id)}`, 303)
  })
}
