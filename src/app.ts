import { randomUUID } from 'node:crypto'
import fastifyCookie from '@fastify/cookie'
import fastifyCsrf from '@fastify/csrf-protection'
import fastifyFormbody from '@fastify/formbody'
import fastifyHelmet from '@fastify/helmet'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifyStatic from '@fastify/static'
import fastifyView from '@fastify/view'
import fastifyWebsocket from '@fastify/websocket'
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from './config.js'
import { SESSION_COOKIE } from './core/auth/cookie-names.js'
import { type Session, type SessionUser, SessionStore } from './core/auth/sessions.js'
import type { Db } from './core/db.js'
import { DomainError, TooManyRequests } from './core/errors.js'
import { registerGuestCache } from './core/guest-cache.js'
import { EventBus } from './core/events.js'
import { isAdmin, isStaff, viewerOf } from './core/guard.js'
import { isApi } from './core/http.js'
import { createLiveHub, type LiveHub, type LiveLimits } from './core/realtime/index.js'
import { paths } from './core/paths.js'
import type { JobQueue } from './core/queue.js'
import { CommunitySettings, instanceSecret } from './core/settings.js'
import { LinkSigner } from './core/signed-tokens.js'
import { createHandlebars, partialFiles } from './core/views.js'
import { accountRoutes } from './features/accounts/routes.js'
import { AccountService } from './features/accounts/service.js'
import { betaRoutes } from './features/beta/routes.js'
import { BetaService } from './features/beta/service.js'
import { adminJobRoutes } from './features/admin-jobs/routes.js'
import { emailRoutes } from './features/email/routes.js'
import { EmailService } from './features/email/service.js'
import { healthRoutes } from './features/health/routes.js'
import { adminRoutes } from './features/admin/routes.js'
import { CategoryService } from './features/discussions/categories.js'
import { discussionRoutes } from './features/discussions/routes.js'
import { SearchService } from './features/discussions/search.js'
import { DiscussionService } from './features/discussions/service.js'
import { ideaRoutes } from './features/ideas/routes.js'
import { IdeaService } from './features/ideas/service.js'
import { registerLiveChannels } from './features/live/channels.js'
import { liveRoutes } from './features/live/routes.js'
import { moderationRoutes } from './features/moderation/routes.js'
import { ModerationService } from './features/moderation/service.js'
import { notificationRoutes } from './features/notifications/routes.js'
import { NotificationService } from './features/notifications/service.js'
import { TrustService } from './features/trust/service.js'

/** What buildApp needs from outside: the resources the entrypoint (or a test) owns. */
export interface AppDeps {
  db: Db
  redis?: Redis | null
  queue?: JobQueue | null
  /** Shared with other in-process consumers (tests, a co-hosted worker); one is made when absent. */
  events?: EventBus
  /** Overrides of the live sockets' limits (tests shrink them). */
  liveLimits?: Partial<LiveLimits & { historyPerChannel: number }>
}

/** The services every feature's routes reach through `app.hearth`. */
export interface Hearth {
  config: Config
  db: Db
  redis: Redis | null
  queue: JobQueue | null
  events: EventBus
  sessions: SessionStore
  accounts: AccountService
  notifications: NotificationService
  settings: CommunitySettings
  categories: CategoryService
  discussions: DiscussionService
  search: SearchService
  ideas: IdeaService
  beta: BetaService
  email: EmailService
  live: LiveHub
  moderation: ModerationService
  trust: TrustService
}

declare module 'fastify' {
  interface FastifyInstance {
    hearth: Hearth
  }
  interface FastifyRequest {
    user: SessionUser | null
    session: Session | null
    authMethod: 'session' | 'token' | null
  }
  interface FastifyContextConfig {
    /** False on the few routes a signed token authorises instead of a session (one-click unsubscribe). */
    csrf?: boolean
  }
  interface FastifyReply {
    /** Values every page template sees (set by @fastify/view's reply decorator). */
    locals: Record<string, unknown>
  }
}

export { SESSION_COOKIE }
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Builds the web application without listening: plugins in a fixed order —
 * external (security, cookies, views, static, rate limits) → app (auth, errors) → features.
 */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const app = fastify({
    logger: { level: config.logLevel, redact: ['req.headers.cookie', 'req.headers.authorization'] },
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
  })

  const secret = await instanceSecret(deps.db, config.secretKey)
  const sessions = new SessionStore(deps.db, config.sessionDays)
  const events = deps.events ?? new EventBus((err, event) => app.log.error({ err, event: event.type }, 'event listener failed'))
  const settings = new CommunitySettings(deps.db)
  const notifications = new NotificationService(deps.db, events)
  const categories = new CategoryService(deps.db)
  const discussions = new DiscussionService(deps.db, categories, settings, notifications, events)
  const ideas = new IdeaService(deps.db, events, notifications, discussions, settings)
  const hearth: Hearth = {
    config,
    db: deps.db,
    redis: deps.redis ?? null,
    queue: deps.queue ?? null,
    events,
    sessions,
    accounts: new AccountService(deps.db, sessions, events),
    notifications,
    settings,
    categories,
    discussions,
    search: new SearchService(deps.db, categories),
    ideas,
    beta: new BetaService(deps.db, events, notifications, ideas, settings),
    email: new EmailService(deps.db, new LinkSigner(secret), config, deps.queue ?? null),
    live: createLiveHub({
      events,
      redis: deps.redis ?? null,
      redisPrefix: config.redisPrefix,
      log: app.log.child({ module: 'live' }),
      limits: deps.liveLimits,
    }),
    moderation: new ModerationService(deps.db, categories, discussions, settings, notifications, events),
    trust: new TrustService(deps.db, settings, notifications),
  }
  hearth.email.subscribe(events)
  registerLiveChannels(hearth)
  app.decorate('hearth', hearth)
  app.decorateRequest('user', null)
  app.decorateRequest('session', null)
  app.decorateRequest('authMethod', null)

  // ── external plugins ───────────────────────────────────────────────────────────
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'https:'],
        connectSrc: ["'self'", config.baseUrl.replace(/^http/, 'ws')],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(config.baseUrl.startsWith('https:') ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    hsts: config.baseUrl.startsWith('https:'),
  })
  await app.register(fastifyCookie, { secret })
  await app.register(fastifyFormbody)
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: 'hearth_csrf',
    cookieOpts: { path: '/', sameSite: 'lax', httpOnly: true, secure: config.cookieSecure, signed: true },
    getToken: (req) => (req.body as Record<string, string> | undefined)?._csrf ?? (req.headers['x-csrf-token'] as string),
  })
  await app.register(fastifyRateLimit, {
    global: false,
    redis: hearth.redis ?? undefined,
    nameSpace: `${config.redisPrefix}:rate:`,
    skipOnError: true,
    errorResponseBuilder: (_req, ctx) =>
      new TooManyRequests(`Too many attempts. Try again in ${Math.ceil(ctx.ttl / 60_000)} minute(s).`),
  })
  const handlebars = createHandlebars()
  await app.register(fastifyView, {
    engine: { handlebars },
    root: paths.views,
    layout: 'layouts/main.hbs',
    viewExt: 'hbs',
    options: { partials: partialFiles() },
    production: config.env !== 'development',
    defaultContext: { communityName: config.communityName },
  })
  await app.register(fastifyStatic, {
    root: paths.static,
    prefix: '/static/',
    maxAge: config.env === 'production' ? '1d' : 0,
  })

  await app.register(fastifyWebsocket, {
    options: { maxPayload: 64 * 1024 },
    // Sockets close with 1001 "going away" so clients reconnect to another instance.
    preClose: async () => hearth.live.close(),
  })

  // ── app plugins: who is asking, cross-site protection, errors ───────────────────
  app.addHook('onRequest', async (req, reply) => {
    const auth = req.headers.authorization
    if (auth?.startsWith('Bearer ')) {
      const found = await sessions.validateApiToken(auth.slice(7).trim())
      if (!found) return reply.code(401).send({ error: 'Invalid API token' })
      req.user = found.user
      req.authMethod = 'token'
      return
    }
    const token = req.cookies[SESSION_COOKIE]
    if (!token) return
    const found = await sessions.validate(token)
    if (!found) {
      reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return
    }
    req.user = found.user
    req.session = found.session
    req.authMethod = 'session'
    if (found.refreshed) setSessionCookie(reply, config, token, found.session.expiresAt)
  })

  app.addHook('preValidation', (req, reply, done) => {
    if (SAFE_METHODS.has(req.method) || req.routeOptions.config?.csrf === false) return done()
    if (!isApi(req)) return app.csrfProtection(req, reply, done)
    if (req.authMethod === 'token') return done()
    // Cookie-authenticated API writes must be same-origin JSON: a cross-site form
    // cannot send JSON, and a cross-site fetch of JSON is stopped by CORS preflight.
    const type = req.headers['content-type'] ?? ''
    if ((req.method === 'POST' || req.method === 'PATCH') && !type.startsWith('application/json')) {
      return reply.code(415).send({ error: 'Send the request body as application/json' })
    }
    if (!sameOrigin(req, config)) return reply.code(403).send({ error: 'Cross-site request refused' })
    done()
  })

  app.addHook('preHandler', async (req, reply) => {
    if (isApi(req) || req.method === 'HEAD' || req.ws) return
    reply.locals = {
      ...reply.locals,
      currentUser: req.user,
      isAdmin: isAdmin(viewerOf(req.user)),
      isStaff: isStaff(viewerOf(req.user)),
      csrfToken: reply.generateCsrf(),
      path: req.url,
      unreadNotifications: req.user && req.method === 'GET' ? await hearth.notifications.unreadCount(req.user.id) : 0,
      isModerator: req.user && req.method === 'GET' ? hearth.moderation.isModerator(await categories.viewer(req.user)) : false,
    }
  })

  registerGuestCache(app, config.guestCacheSeconds)

  app.setErrorHandler(async (err, req, reply) => renderError(err as Error, req, reply))
  app.setNotFoundHandler(async (req, reply) => {
    if (isApi(req)) return reply.code(404).send({ error: 'Not found' })
    return reply.code(404).view('errors/404', { title: 'Not found', ...(await pageLocals(req, reply)) })
  })

  // ── features ──────────────────────────────────────────────────────────────────
  await app.register(healthRoutes)
  await app.register(accountRoutes)
  await app.register(notificationRoutes)
  await app.register(discussionRoutes)
  await app.register(moderationRoutes)
  await app.register(adminRoutes)
  await app.register(ideaRoutes)
  await app.register(betaRoutes)
  await app.register(emailRoutes)
  await app.register(adminJobRoutes)
  await app.register(liveRoutes)

  return app
}

/** Sets the session cookie: httpOnly, SameSite=Lax, Secure under https. */
export function setSessionCookie(reply: FastifyReply, config: Config, token: string, expires: Date): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: config.cookieSecure,
    expires,
  })
}

/** Clears the session cookie. */
export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' })
}

function sameOrigin(req: FastifyRequest, config: Config): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site') return false
  const origin = req.headers.origin
  if (!origin) return true
  return origin === new URL(config.baseUrl).origin || origin === `${req.protocol}://${req.host}`
}

// Locals for pages rendered outside the preHandler (404s, errors before routing).
async function pageLocals(req: FastifyRequest, reply: FastifyReply): Promise<Record<string, unknown>> {
  if (reply.locals?.csrfToken) return {}
  let csrfToken = ''
  try {
    csrfToken = reply.generateCsrf()
  } catch {
    // A page still renders when the CSRF cookie cannot be set (no cookie plugin yet).
  }
  return { currentUser: req.user, csrfToken }
}

async function renderError(err: Error & { statusCode?: number; validation?: unknown }, req: FastifyRequest, reply: FastifyReply) {
  const domain = err instanceof DomainError ? err : null
  let status = domain?.status ?? err.statusCode ?? 500
  if (status < 400 || status > 599) status = 500
  const field = domain && 'field' in domain ? (domain.field as string | undefined) : undefined
  const message =
    status >= 500
      ? 'Something went wrong on our side'
      : (err as { code?: string }).code?.startsWith('FST_CSRF')
        ? 'This form has expired or came from another site. Go back, reload the page and try again.'
        : err.message
  if (status >= 500) req.log.error({ err }, 'request failed')
  else req.log.info({ status, message: err.message }, 'request refused')

  if (isApi(req)) return reply.code(status).send(field ? { error: message, field } : { error: message })
  if (status === 401) return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`)
  const template = status === 404 ? 'errors/404' : status >= 500 ? 'errors/500' : 'errors/4xx'
  try {
    return await reply
      .code(status)
      .view(template, { title: status === 404 ? 'Not found' : 'Error', message, status, requestId: req.id, ...(await pageLocals(req, reply)) })
  } catch (renderErr) {
    req.log.error({ err: renderErr }, 'error page failed to render')
    return reply.code(status).type('text/plain').send(`${message} (request ${req.id})`)
  }
}
