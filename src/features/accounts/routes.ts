import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { clearSessionCookie, setSessionCookie } from '../../core/auth/cookies.js'
import type { User } from '../../core/db-types.js'
import { NotFound, parse } from '../../core/errors.js'
import { dualRateLimit, passwordCheckLimit, rateLimit } from '../../core/rate-limits.js'
import { handleForm, requireUser, safeNext } from '../../core/http.js'
import { mailSettings } from '../email/schemas.js'
import { ApiLoginInput, publicUser, TokenInput } from './schemas.js'

type Form = Record<string, string | undefined>

const HOUR = 60 * 60 * 1000

/** Sign-up, log-in, log-out, settings, profiles and the auth API. */
export async function accountRoutes(app: FastifyInstance): Promise<void> {
  const { accounts, sessions, config } = app.hearth
  const signupLimit = { preHandler: rateLimit(app, 'signup', config.rateLimits.signup, HOUR) }
  // Counted per IP and per account named, never per cookie: a fresh cookie (or account) buys no more guesses.
  const loginLimit = {
    preHandler: dualRateLimit(app, 'login', config.rateLimits.login, 15 * 60 * 1000, async (req) => {
      const named = loginName(req)
      return named === null ? null : accounts.loginTarget(named)
    }),
  }
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
  app.get('/signup', async (req, reply) => {
    if (req.user) return reply.redirect('/')
    return reply.view('accounts/signup', { title: 'Sign up', values: {}, next: safeNext((req.query as Form).next) })
  })

  app.post('/signup', signupLimit, async (req, reply) => {
    const form = req.body as Form
    const next = safeNext(form.next)
    return handleForm(reply, 'accounts/signup', form, async () => {
      const user = await accounts.signUp(form)
      await startSession(req, reply, user)
      return reply.redirect(next === '/' ? `/u/${user.username}?welcome=1` : next, 303)
    }, { title: 'Sign up', next })
  })

  app.get('/login', async (req, reply) => {
    const next = safeNext((req.query as Form).next)
    if (req.user) return reply.redirect(next)
    return reply.view('accounts/login', { title: 'Log in', values: {}, next })
  })

  app.post('/login', loginLimit, async (req, reply) => {
    const form = req.body as Form
    const next = safeNext(form.next)
    return handleForm(reply, 'accounts/login', form, async () => {
      const user = await accounts.logIn(form)
      await startSession(req, reply, user)
      return reply.redirect(next, 303)
    }, { title: 'Log in', next })
  })

  app.post('/logout', async (req, reply) => {
    await endSession(req)
    clearSessionCookie(reply)
    return reply.redirect('/', 303)
  })

  const settingsPage = (req: FastifyRequest, extra: Record<string, unknown> = {}) => settingsView(app, req, extra)

  app.get('/settings', async (req, reply) => reply.view('accounts/settings', await settingsPage(req)))

  app.post('/settings/profile', async (req, reply) => {
    const user = requireUser(req)
    const form = req.body as Form
    return handleForm(reply, 'accounts/settings', form, async () => {
      await accounts.updateProfile(user, form)
      return reply.redirect('/settings?saved=profile', 303)
    }, await settingsPage(req))
  })

  app.post('/settings/password', recheckLimit, async (req, reply) => {
    const user = requireUser(req)
    const form = req.body as Form
    const page = await settingsPage(req)
    return handleForm(reply, 'accounts/settings', { ...page.values }, async () => {
      await accounts.changePassword(user, req.session?.id ?? null, form)
      return reply.redirect('/settings?saved=password', 303)
    }, page)
  })

  app.post('/settings/tokens', async (req, reply) => {
    const user = requireUser(req)
    const form = req.body as Form
    const page = await settingsPage(req)
    return handleForm(reply, 'accounts/settings', { ...page.values, tokenName: form.name }, async () => {
      const { name } = parse(TokenInput, form)
      const { token } = await sessions.createApiToken(user.id, name)
      return reply.view('accounts/settings', await settingsPage(req, { newToken: token }))
    }, page)
  })

  app.post('/settings/tokens/:id/revoke', async (req, reply) => {
    const user = requireUser(req)
    if (!(await sessions.revokeApiToken(user.id, (req.params as { id: string }).id))) throw new NotFound()
    return reply.redirect('/settings?saved=token-revoked', 303)
  })

  app.post('/settings/sessions/revoke-others', async (req, reply) => {
    const user = requireUser(req)
    await sessions.invalidateAllFor(user.id, req.session?.id)
    return reply.redirect('/settings?saved=sessions', 303)
  })

  app.get('/u/:username', async (req, reply) => {
    const profile = await accounts.profile((req.params as { username: string }).username)
    const viewer = await app.hearth.categories.viewer(req.user)
    return reply.view('accounts/profile', {
      title: profile.display_name ?? profile.username,
      profile,
      recentPosts: await app.hearth.discussions.recentPostsBy(viewer, profile.id),
      isSelf: req.user?.id === profile.id,
      welcome: (req.query as Form).welcome === '1' && req.user?.id === profile.id,
    })
  })

  // ── JSON API ──────────────────────────────────────────────────────────────────
  app.post('/api/v1/auth/signup', signupLimit, async (req, reply) => {
    const user = await accounts.signUp(req.body)
    await startSession(req, reply, user)
    return reply.code(201).send({ user: { ...publicUser(user), email: user.email } })
  })

  app.post('/api/v1/auth/login', loginLimit, async (req, reply) => {
    const user = await accounts.logIn(parse(ApiLoginInput, req.body))
    await startSession(req, reply, user)
    return { user: { ...publicUser(user), email: user.email } }
  })

  app.post('/api/v1/auth/logout', async (req, reply) => {
    await endSession(req)
    clearSessionCookie(reply)
    return reply.code(204).send()
  })

  app.get('/api/v1/me', async (req) => {
    const user = requireUser(req)
    return { user: { ...publicUser(user), email: user.email, emailVerified: user.email_verified_at !== null } }
  })
}

/** Everything the /settings page shows; other features' settings forms re-render it with their errors. */
export async function settingsView(app: FastifyInstance, req: FastifyRequest, extra: Record<string, unknown> = {}) {
  const { sessions } = app.hearth
  const user = requireUser(req)
  const [tokens, activeSessions] = await Promise.all([sessions.listApiTokens(user.id), sessions.listFor(user.id)])
  return {
    title: 'Settings',
    user,
    tokens,
    sessions: activeSessions.map((s) => ({ ...s, current: s.id === req.session?.id })),
    values: { displayName: user.display_name ?? '', bio: user.bio, digestFrequency: user.digest_frequency, newEmail: '' },
    mail: mailSettings(user),
    saved: (req.query as Form).saved,
    ...extra,
  }
}

/** The account name or address a log-in attempt gives (form or API), if any. */
function loginName(req: FastifyRequest): string | null {
  const body = (req.body ?? {}) as Record<string, unknown>
  const named = [body.login, body.username, body.email].find((v) => typeof v === 'string' && v.trim() !== '')
  return typeof named === 'string' ? named : null
}
