import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { NotFound } from '../../core/errors.js'
import { queryText } from '../../core/http.js'

const RetryParams = z.object({ queue: z.string().min(1).max(60), id: z.string().min(1).max(200) })
const JobsQuery = z.object({ retried: queryText })

// Admin pages do not exist for anyone else: 404, not 403.
function requireAdmin(req: FastifyRequest): void {
  if (req.user?.role !== 'admin') throw new NotFound()
}

/** /admin/jobs: every queue's failed jobs, with their reason, attempts and a retry button. */
export async function adminJobRoutes(app: FastifyInstance): Promise<void> {
  const { jobs } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()

  r.get('/admin/jobs', { schema: { querystring: JobsQuery } }, async (req, reply) => {
    requireAdmin(req)
    return reply.view('admin/jobs', {
      title: 'Background jobs',
      enabled: jobs.enabled,
      ...(await jobs.overview()),
      retried: req.query.retried,
    })
  })

  r.post('/admin/jobs/:queue/:id/retry', { schema: { params: RetryParams } }, async (req, reply) => {
    requireAdmin(req)
    const { queue, id } = req.params
    await jobs.retry(queue, id)
    return reply.redirect(`/admin/jobs?retried=${encodeURIComponent(id)}`, 303)
  })
}
