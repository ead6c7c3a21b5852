import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { queryText, requireAdmin } from '../../core/http.js'

const ThemeQuery = z.object({ v: queryText })

/** The community's public face: /about and /theme.css, and its identity over the API (the /admin form is in features/admin). */
export async function communityRoutes(app: FastifyInstance): Promise<void> {
  const { community, categories } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()

  // The accent and category colours as a stylesheet (strict CSP: pages carry no inline
  // styles). Pages ask for the current version, which is cached for good; any other
  // version gets the current stylesheet, briefly cached.
  r.get('/theme.css', { schema: { querystring: ThemeQuery } }, async (req, reply) => {
    const { css, version } = await community.themeStylesheet()
    reply.header('Cache-Control', req.query.v === version ? 'public, max-age=31536000, immutable' : 'public, max-age=60')
    return reply.type('text/css; charset=utf-8').send(css)
  })

  r.get('/about', { config: { guestCache: true } }, async (req, reply) => {
    const about = await community.about(await categories.viewer(req.user))
    return reply.view('community/about', { title: 'About', ...about })
  })

  r.get('/api/v1/about', async (req) => {
    const [identity, about] = await Promise.all([community.identity(), community.about(await categories.viewer(req.user))])
    const { themeVersion: _version, ...shown } = identity
    return { ...shown, ...about }
  })

  r.patch('/api/v1/community', async (req) => {
    const user = await requireAdmin(req)
    const current = await community.formValues()
    const identity = await community.update(user, { ...current, ...(req.body && typeof req.body === 'object' ? req.body : {}) })
    app.guestCacheClear?.()
    return identity
  })
}
