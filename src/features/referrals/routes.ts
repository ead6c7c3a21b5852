import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { NotFound } from '../../core/errors.js'
import { type Viewer, viewerOf } from '../../core/guard.js'
import { FormBody, handleForm, IdParams, pathText, queryText, requireAdmin, requireMember } from '../../core/http.js'

/** Holds the code of the first referral link a visitor followed, until they sign up. */
export const REFERRAL_COOKIE = 'hearth_ref'
const REFERRAL_DAYS = 30

const CodeParams = z.object({ code: pathText(40) })
const CreatedQuery = z.object({ created: queryText })

/** /r/<code> (follow a link), /invite (a member's own link and invitees), /admin/referrals (campaigns). */
export async function referralRoutes(app: FastifyInstance): Promise<void> {
  const { referrals, config } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()

  r.get('/r/:code', { schema: { params: CodeParams } }, async (req, reply) => {
    const link = await referrals.visit(req.params.code)
    if (!link) throw new NotFound('This invite link does not work any more')
    if (req.user) return reply.redirect('/', 302)
    // The first link a visitor arrived through gets the credit: a later one does not replace it.
    if (!req.cookies[REFERRAL_COOKIE]) {
      reply.setCookie(REFERRAL_COOKIE, link.code, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: config.cookieSecure,
        maxAge: REFERRAL_DAYS * 86_400,
      })
    }
    return reply.redirect('/signup', 302)
  })

  r.get('/invite', { preHandler: requireMember }, async (req, reply) => {
    const user = req.user!
    const [{ code }, invitees] = await Promise.all([referrals.linkFor(user.id), referrals.invitees(user.id)])
    const count = (stage: string) => invitees.filter((i) => i.stage === stage).length
    return reply.view('referrals/invite', {
      title: 'Invite people',
      link: new URL(`/r/${code}`, config.baseUrl).toString(),
      invitees,
      joined: invitees.length,
      active: count('active') + count('participant'),
      participants: count('participant'),
    })
  })

  r.get('/api/v1/me/referrals', { preHandler: requireMember }, async (req) => {
    const user = req.user!
    const [{ code }, invitees] = await Promise.all([referrals.linkFor(user.id), referrals.invitees(user.id)])
    return { link: new URL(`/r/${code}`, config.baseUrl).toString(), invitees }
  })

  r.get('/admin/referrals', { schema: { querystring: CreatedQuery }, preHandler: requireAdmin }, async (req, reply) => {
    return reply.view('referrals/admin', await adminPage(viewerOf(req.user!), { created: req.query.created }))
  })

  r.post('/admin/referrals', { schema: { body: FormBody }, preHandler: requireAdmin }, async (req, reply) => {
    const form = req.body
    return handleForm(
      reply,
      'referrals/admin',
      form,
      async () => {
        const { code } = await referrals.createCampaign(viewerOf(req.user!), form.name ?? '')
        return reply.redirect(`/admin/referrals?created=${code}`, 303)
      },
      await adminPage(viewerOf(req.user!)),
    )
  })

  r.post('/admin/referrals/:id/disable', { schema: { params: IdParams, body: FormBody }, preHandler: requireAdmin }, async (req, reply) => {
    await referrals.disable(viewerOf(req.user!), req.params.id)
    return reply.redirect('/admin/referrals', 303)
  })

  async function adminPage(viewer: Viewer, extra: Record<string, unknown> = {}) {
    return {
      title: 'Referral links',
      links: (await referrals.links(viewer)).map((l) => ({
        ...l,
        url: new URL(`/r/${l.code}`, config.baseUrl).toString(),
      })),
      ...extra,
    }
  }
}
