import { renderMarkdown } from '../../core/markdown.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { clearSessionCookie, setSessionCookie } from '../../core/auth/cookies.js'
import type { Trx } from '../../core/db.js'
import type { User } from '../../core/db-types.js'
import { REFERRAL_COOKIE } from '../referrals/routes.js'
import { NotFound, parse } from '../../core/errors.js'
import { can } from '../../core/guard.js'
import { dualRateLimit, passwordCheckLimit, rateLimit, signupRateLimit } from '../../core/rate-limits.js'
import { FormBody, handleForm, requireUser, safeNext } from '../../core/http.js'
import { mailSettings } from '../email/schemas.js'
import { applicationQuestions } from '../spam/service.js'
import { ApiLoginInput, NextQuery, SignupQuery, ProfileParams, ProfileQuery, publicUser, ResetRequestInput, ResetTokenParams, SettingsQuery, TokenInput, TokenParams } from './schemas.js'

const HOUR = 60 * 60 * 1000
/** What a reset request answers when this server sends no mail (no background jobs), for every address alike. */
const RESET_MAIL_OFF = 'This community sends no mail yet, so we cannot mail you a link. Ask an admin: they can make you a one-time reset link.'
/** Reset requests an IP, or an address, may make per hour: enough to retry, too few to mail-bomb anyone. */
export const RESET_REQUESTS_PER_HOUR = 5
/** What a reset request answers, whether or not an account has the address. */
export const RESET_SENT = 'If an account has that address, we have mailed it a link to choose a new password. It works once, for an hour. Check your spam folder if nothing arrives in a few minutes.'

/** Sign-up, log-in, log-out, settings, profiles and the auth API. */
export async function accountRoutes(app: FastifyInstance): Promise<void> {
  const { accounts, sessions, config } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()
  // Per IP per hour and per day, and per subnet (/24, /64): see signupRateLimit.
  const signupLimit = {
    preHandler: signupRateLimit(app, { perHour: config.rateLimits.signup, perDay: config.rateLimits.signupPerDay, perSubnet: config.rateLimits.signupPerSubnet }),
  }
  // Counted per IP and per account named, never per cookie: a fresh cookie (or account) buys no more guesses.
  const loginLimit = {
    preHandler: dualRateLimit(app, 'login', config.rateLimits.login, 15 * 60 * 1000, async (req) => {
      const named = loginName(req)
      return named === null ? null : accounts.loginTarget(named)
    }),
  }
  // Counted per IP and per address asked for: neither a new IP nor a new address buys more mail.
  const resetRequestLimit = {
    preHandler: dualRateLimit(app, 'password-reset', RESET_REQUESTS_PER_HOUR, HOUR, (req) => {
      const parsed = ResetRequestInput.safeParse(req.body ?? {})
      return parsed.success ? `e:${parsed.data.email.toLowerCase()}` : null
    }),
  }
  // Each attempt to use a link hashes a password: limited like log-ins, per IP.
  const resetConfirmLimit = { preHandler: rateLimit(app, 'password-reset-confirm', config.rateLimits.login, 15 * 60 * 1000) }
  // A reset page carries its token in the path: it is never cached and never sent on as a referrer.
  const privatePage = (reply: FastifyReply) => reply.header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer')

  // Re-entering a password in settings is a guess too: limited per IP and per member.
  const recheckLimit = { preHandler: passwordCheckLimit(app, config.rateLimits.login) }

  async function startSession(req: FastifyRequest, reply: FastifyReply, user: User): Promise<void> {
    const { token, session } = await sessions.create(user.id, { userAgent: req.headers['user-agent'], ip: req.ip })
    setSessionCookie(reply, config, token, session.expiresAt)
  }

  // Live sockets of an ended session stop receiving at once, on every instance.
  async function endSession(req: FastifyRequest): Promise<void> {
    if (!req.session) return
    await sessions.invalidate(req.session.id)
  }

  // ── pages ───────────────────────────────────────────────────────────────────
  // A referral link (/r/<code>) leaves its code in a cookie; the sign-up credits it in its own transaction.
  const referral = (req: FastifyRequest) => ({
    referral: req.cookies[REFERRAL_COOKIE] ?? null,
    onCreated: (trx: Trx, user: { id: number }) => app.hearth.referrals.credit(trx, user.id, req.cookies[REFERRAL_COOKIE]),
  })
  const invitedBy = async (req: FastifyRequest) => {
    const code = req.cookies[REFERRAL_COOKIE]
    return code ? await app.hearth.referrals.describe(code) : null
  }

  // What the sign-up form shows besides its fields: the timing token (a fresh one on every
  // render), the mode, the application questions and the invitation (features/spam).
  async function signupPage(invite: string | undefined, req: FastifyRequest) {
    const s = await app.hearth.settings.all()
    const link = req.cookies[REFERRAL_COOKIE]
    return {
      title: 'Sign up',
      started: app.hearth.spam.timer.issue(),
      mode: s.spam_signup_mode,
      invite: invite ?? '',
      // In an invite-only community, a referral link from someone who may invite is the invitation.
      invitedByLink: s.spam_signup_mode === 'invite' && !invite && !!link && (await app.hearth.spam.referralInvitation(link, s)) !== undefined,
      questions: s.spam_signup_mode === 'approval' ? applicationQuestions(s).map((label, i) => ({ name: `answer_${i}`, label })) : [],
    }
  }

  r.get('/signup', { schema: { querystring: SignupQuery } }, async (req, reply) => {
    if (req.user) return reply.redirect('/')
    return reply.view('accounts/signup', { ...(await signupPage(req.query.invite, req)), values: {}, next: safeNext(req.query.next), invitedBy: await invitedBy(req) })
  })

  r.post('/signup', { ...signupLimit, schema: { body: FormBody } }, async (req, reply) => {
    const form = req.body
    const next = safeNext(form.next)
    return handleForm(reply, 'accounts/signup', form, async () => {
      const user = await accounts.signUp(form, { ...referral(req), ip: req.ip, via: 'form' })
      if (req.cookies[REFERRAL_COOKIE]) reply.clearCookie(REFERRAL_COOKIE, { path: '/' })
      await startSession(req, reply, user)
      if (user.approval_status === 'pending') return reply.redirect('/pending?applied=1', 303)
      // The first member is the admin: their next step is setting the community up, not their profile.
      if (user.role === 'admin' && next === '/') return reply.redirect('/admin?welcome=1#checklist', 303)
      return reply.redirect(next === '/' ? `/u/${user.username}?welcome=1` : next, 303)
    }, { ...(await signupPage(typeof form.invite === 'string' ? form.invite : undefined, req)), next, invitedBy: await invitedBy(req) })
  })

  r.get('/login', { schema: { querystring: NextQuery } }, async (req, reply) => {
    const next = safeNext(req.query.next)
    if (req.user) return reply.redirect(next)
    return reply.view('accounts/login', { title: 'Log in', values: {}, next })
  })

  r.post('/login', { ...loginLimit, schema: { body: FormBody } }, async (req, reply) => {
    const form = req.body
    const next = safeNext(form.next)
    return handleForm(reply, 'accounts/login', form, async () => {
      const user = await accounts.logIn(form, { ip: req.ip, via: 'form' })
      await startSession(req, reply, user)
      return reply.redirect(next, 303)
    }, { title: 'Log in', next })
  })

  app.post('/logout', async (req, reply) => {
    await endSession(req)
    clearSessionCookie(reply)
    return reply.redirect('/', 303)
  })

  // ── password reset ────────────────────────────────────────────────────────────
  r.get('/password-reset', async (_req, reply) => reply.view('accounts/password-reset', { title: 'Reset your password', values: {} }))

  r.post('/password-reset', { ...resetRequestLimit, schema: { body: FormBody } }, async (req, reply) => {
    const form = req.body
    return handleForm(reply, 'accounts/password-reset', form, async () => {
      const outcome = await accounts.requestPasswordReset(form, app.hearth.queue !== null)
      if (outcome === 'mail-off') return reply.code(503).view('accounts/password-reset', { title: 'Reset your password', values: {}, mailOff: RESET_MAIL_OFF })
      return reply.code(202).view('accounts/password-reset', { title: 'Reset your password', values: {}, sent: RESET_SENT })
    }, { title: 'Reset your password' })
  })

  r.get('/password-reset/:token', { schema: { params: ResetTokenParams } }, async (req, reply) => {
    privatePage(reply)
    const check = await accounts.checkResetToken(req.params.token)
    return reply
      .code(check.ok ? 200 : 400)
      .view('accounts/password-reset-confirm', { title: 'Choose a new password', token: req.params.token, invalid: check.ok ? null : check.message, values: {} })
  })

  r.post('/password-reset/:token', { ...resetConfirmLimit, schema: { params: ResetTokenParams, body: FormBody } }, async (req, reply) => {
    privatePage(reply)
    const { token } = req.params
    const form = req.body
    return handleForm(reply, 'accounts/password-reset-confirm', form, async () => {
      const { user } = await accounts.resetPassword({ password: form.password, confirm: form.confirm ?? '', token })
      await startSession(req, reply, user)
      return reply.redirect('/settings?saved=password-reset', 303)
    }, { title: 'Choose a new password', token })
  })

  const settingsPage = (req: FastifyRequest, extra: Record<string, unknown> = {}) => settingsView(app, req, extra)

  app.get('/settings', async (req, reply) => reply.view('accounts/settings', await settingsPage(req)))

  r.post('/settings/profile', { schema: { body: FormBody } }, async (req, reply) => {
    const user = requireUser(req)
    const form = req.body
    return handleForm(reply, 'accounts/settings', form, async () => {
      await accounts.updateProfile(user, form)
      return reply.redirect('/settings?saved=profile', 303)
    }, await settingsPage(req))
  })

  r.post('/settings/password', { schema: { body: FormBody }, ...recheckLimit }, async (req, reply) => {
    const user = requireUser(req)
    const form = req.body
    const page = await settingsPage(req)
    return handleForm(reply, 'accounts/settings', { ...page.values }, async () => {
      await accounts.changePassword(user, req.session?.id ?? null, form)
      return reply.redirect('/settings?saved=password', 303)
    }, page)
  })

  r.post('/settings/tokens', { schema: { body: FormBody } }, async (req, reply) => {
    const user = requireUser(req)
    const form = req.body
    const page = await settingsPage(req)
    return handleForm(reply, 'accounts/settings', { ...page.values, tokenName: form.name }, async () => {
      const { token } = await accounts.createApiToken(user, form)
      return reply.view('accounts/settings', await settingsPage(req, { newToken: token }))
    }, page)
  })

  r.post('/settings/tokens/:id/revoke', { schema: { params: TokenParams } }, async (req, reply) => {
    const user = requireUser(req)
    if (!(await sessions.revokeApiToken(user.id, req.params.id))) throw new NotFound()
    return reply.redirect('/settings?saved=token-revoked', 303)
  })

  app.post('/settings/sessions/revoke-others', async (req, reply) => {
    const user = requireUser(req)
    await sessions.invalidateAllFor(user.id, req.session?.id)
    return reply.redirect('/settings?saved=sessions', 303)
  })

  r.get('/u/:username', { schema: { params: ProfileParams, querystring: ProfileQuery } }, async (req, reply) => {
    const found = await accounts.profile(req.params.username)
    // An old name leads to the member's current one, for links and @mentions made before the change.
    if (found.kind === 'renamed') return reply.redirect(`/u/${encodeURIComponent(found.username)}`, 301)
    if (found.kind === 'gone') return reply.code(410).view('accounts/profile-gone', { title: 'Deleted member' })
    const profile = found.user
    const viewer = await app.hearth.categories.viewer(req.user)
    const isSelf = req.user?.id === profile.id
    return reply.view('accounts/profile', {
      title: profile.display_name ?? profile.username,
      profile,
      // A bio is markdown like a post: shown rendered and sanitised, never as raw source.
      bioHtml: profile.bio ? renderMarkdown(profile.bio).html : '',
      recentPosts: await app.hearth.discussions.recentPostsBy(viewer, profile.id),
      isSelf,
      // Members see their own lifecycle stage and what would move them on (owners may switch it off).
      stage: isSelf ? await app.hearth.activity.stageOf(profile.id) : null,
      // Staff see the one-click spammer action on others' profiles (the guard decides ranks when it is used).
      canMarkSpammer: req.user !== null && req.user.id !== profile.id && can(viewer, 'markSpammer', { target: { id: profile.id, role: profile.role, moderatesAny: false } }),
      spammerDone: req.query.spammer !== undefined && req.user?.id !== profile.id,
      welcome: req.query.welcome === '1' && req.user?.id === profile.id,
    })
  })

  // ── JSON API ──────────────────────────────────────────────────────────────────
  app.post('/api/v1/auth/signup', signupLimit, async (req, reply) => {
    const user = await accounts.signUp(req.body, { ...referral(req), ip: req.ip, via: 'api' })
    if (req.cookies[REFERRAL_COOKIE]) reply.clearCookie(REFERRAL_COOKIE, { path: '/' })
    await startSession(req, reply, user)
    return reply.code(201).send({ user: { ...publicUser(user), email: user.email, approvalStatus: user.approval_status } })
  })

  app.post('/api/v1/auth/login', loginLimit, async (req, reply) => {
    const user = await accounts.logIn(parse(ApiLoginInput, req.body), { ip: req.ip, via: 'api' })
    await startSession(req, reply, user)
    return { user: { ...publicUser(user), email: user.email } }
  })

  app.post('/api/v1/auth/logout', async (req, reply) => {
    await endSession(req)
    clearSessionCookie(reply)
    return reply.code(204).send()
  })

  app.post('/api/v1/auth/password-reset', resetRequestLimit, async (req, reply) => {
    const outcome = await accounts.requestPasswordReset(req.body, app.hearth.queue !== null)
    if (outcome === 'mail-off') return reply.code(503).send({ error: RESET_MAIL_OFF })
    return reply.code(202).send({ message: RESET_SENT })
  })

  app.post('/api/v1/auth/password-reset/confirm', resetConfirmLimit, async (req) => {
    const { sessions: ended, tokens } = await accounts.resetPassword(req.body)
    return { ok: true, sessionsEnded: ended, tokensRevoked: tokens }
  })

  app.get('/api/v1/me', async (req) => {
    const user = requireUser(req)
    return {
      user: {
        ...publicUser(user),
        email: user.email,
        emailVerified: user.email_verified_at !== null,
        // A pending deletion, which the member may still cancel (DELETE /api/v1/me/deletion).
        deletion: user.deletion_due_at ? { dueAt: user.deletion_due_at.toISOString(), mode: user.deletion_mode } : null,
      },
    }
  })
}

/** Everything the /settings page shows; other features' settings forms re-render it with their errors. */
export async function settingsView(app: FastifyInstance, req: FastifyRequest, extra: Record<string, unknown> = {}) {
  const { sessions } = app.hearth
  const user = requireUser(req)
  const [tokens, activeSessions, latestExport, nextUsernameChange, s] = await Promise.all([
    sessions.listApiTokens(user.id),
    sessions.listFor(user.id),
    app.hearth.exports.latest(user.id),
    app.hearth.accounts.nextUsernameChange(user),
    app.hearth.settings.all(),
  ])
  return {
    title: 'Settings',
    user,
    tokens,
    sessions: activeSessions.map((s) => ({ ...s, current: s.id === req.session?.id })),
    values: { displayName: user.display_name ?? '', bio: user.bio, digestFrequency: user.digest_frequency, newEmail: '', newUsername: '', deletionMode: '' },
    account: {
      nextUsernameChange,
      usernameChangeDays: s.username_change_days,
      coolingDays: s.account_deletion_cooling_days,
      exportDays: s.data_export_days,
      export: latestExport && latestExport.status !== 'expired' ? { ...latestExport, pending: latestExport.status === 'pending', ready: latestExport.status === 'ready', failed: latestExport.status === 'failed' } : null,
      deletion: user.deletion_due_at ? { dueAt: user.deletion_due_at, erase: user.deletion_mode === 'erase' } : null,
    },
    mail: mailSettings(user),
    // Pages re-rendered after a POST carry whatever query the form was posted with: a bad flag is just not shown.
    saved: SettingsQuery.safeParse(req.query).data?.saved,
    ...extra,
  }
}

/** The account name or address a log-in attempt gives (form or API), if any. */
function loginName(req: FastifyRequest): string | null {
  const body = (req.body ?? {}) as Record<string, unknown>
  const named = [body.login, body.username, body.email].find((v) => typeof v === 'string' && v.trim() !== '')
  return typeof named === 'string' ? named : null
}
