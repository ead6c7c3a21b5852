import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { queryText, requireAdmin } from '../../core/http.js'

const RetryParams = z.object({ queue: z.string().min(1).max(60), id: z.string().min(1).max(200) })
const JobsQuery = z.object({ retried: queryText })

/** /admin/jobs: every queue's failed jobs, with their reason, attempts and a retry button. */
export async function adminJobRoutes(app: FastifyInstance): Promise<void> {
  const { jobs } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()

  // Declared on the route: the handlers never run for anyone but an admin (404 for everyone else).
  r.get('/admin/jobs', { schema: { querystring: JobsQuery }, preHandler: requireAdmin }, async (req, reply) => {
    return reply.view('admin/jobs', {
      title: 'Background jobs',
      enabled: jobs.enabled,
      ...(await jobs.overview()),
      retried: req.query.retried,
    })
  })

  r.post('/admin/jobs/:queue/:id/retry', { schema: { params: RetryParams }, preHandler: requireAdmin }, async (req, reply) => {
    const { queue, id } = req.params
    await jobs.retry(queue, id)
    return reply.redirect(`/admin/jobs?retried=${encodeURIComponent(id)}`, 303)
  })
}
