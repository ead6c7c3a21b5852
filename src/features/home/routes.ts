import type { FastifyInstance } from 'fastify'

/** The front page. */
export async function homeRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (_req, reply) => reply.view('home/index', { title: 'Home' }))
}
