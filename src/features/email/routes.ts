import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { FormBody, handleForm, requireUser } from '../../core/http.js'
import { passwordCheckLimit, rateLimit } from '../../core/rate-limits.js'
import { settingsView } from '../accounts/routes.js'
import type { LinkOutcome } from './service.js'
import { LinkToken, type UnsubscribeScope } from './schemas.js'

const HOUR = 60 * 60 * 1000

const STOPPED: Record<UnsubscribeScope, string> = {
  digest: 'the email digest',
  notifications: 'notification mail (replies, mentions, ideas and betas)',
  all: 'every digest and notification mail',
}

/** Mail links that work without a log-in (verify, unsubscribe) and the mail part of /settings. */
export async function emailRoutes(app: FastifyInstance): Promise<void> {
  const { email } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()

  // RFC 8058 lets a mail client post the one-click body as multipart/form-data: the app's
  // multipart support (src/core/multipart.ts) reads it like a form; its content is not needed.

  function tokenOf(query: unknown): string | null {
    const parsed = LinkToken.safeParse(query)
    return parsed.success ? parsed.data.token : null
  }

  function refused(reply: FastifyReply, outcome: LinkOutcome<unknown> & { ok: false }) {
    return reply.code(400).view('mail/link', { title: 'Link not valid', ok: false, message: outcome.message })
  }

  const badLink = { ok: false as const, message: 'This link is not valid. It may have been copied incompletely. Nothing was changed.' }

  app.get('/email/verify', async (req, reply) => {
    const token = tokenOf(req.query)
    const outcome = token ? await email.confirmEmail(token) : badLink
    if (!outcome.ok) return refused(reply, outcome)
    return reply.view('mail/link', {
      title: 'Address confirmed',
      ok: true,
      message: `Thank you: ${outcome.value.email} is confirmed.`,
    })
  })

  // Opening the link only asks: mail scanners follow links, and must not unsubscribe anyone.
  app.get('/email/unsubscribe', async (req, reply) => {
    const token = tokenOf(req.query)
    const outcome = token ? email.readUnsubscribe(token) : badLink
    if (!outcome.ok) return refused(reply, outcome)
    return reply.view('mail/unsubscribe', { title: 'Unsubscribe', token, stops: STOPPED[outcome.value.scope] })
  })

  // The signed token is the authorisation here (RFC 8058 one-click posts carry no cookies).
  app.post('/email/unsubscribe', { config: { csrf: false } }, async (req, reply) => {
    const token = tokenOf(req.query)
    const outcome = token ? await email.unsubscribe(token) : badLink
    if (!outcome.ok) return refused(reply, outcome)
    return reply.view('mail/link', {
      title: 'Unsubscribed',
      ok: true,
      message: `You will no longer get ${STOPPED[outcome.value.scope]}. You can turn mail back on in your settings.`,
    })
  })

  // ── /settings: address, verification, notification mail ─────────────────────────
  r.post('/settings/email', { schema: { body: FormBody }, preHandler: passwordCheckLimit(app, app.hearth.config.rateLimits.login) }, async (req, reply) => {
    const user = requireUser(req)
    const form = req.body
    const page = await settingsView(app, req)
    return handleForm(reply, 'accounts/settings', { ...page.values, newEmail: form.email }, async () => {
      await email.changeEmail(user, form)
      return reply.redirect('/settings?saved=email#email', 303)
    }, page)
  })

  app.post('/settings/email/verify', { preHandler: rateLimit(app, 'verify-mail', 3, HOUR) }, async (req, reply) => {
    const user = requireUser(req)
    const queued = user.email_verified_at ? true : await email.requestVerification(user.id)
    return reply.redirect(`/settings?saved=${queued ? 'verification' : 'mail-off'}#email`, 303)
  })

  r.post('/settings/mail', { schema: { body: FormBody } }, async (req, reply) => {
    const user = requireUser(req)
    await email.updateMailPreferences(user, req.body)
    return reply.redirect('/settings?saved=mail#email', 303)
  })
}
