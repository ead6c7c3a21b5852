import { randomUUID } from 'node:crypto'
import fastifyCookie from '@fastify/cookie'
import fastifyCsrf from '@fastify/csrf-protection'
import fastifyFormbody from '@fastify/formbody'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifyStatic from '@fastify/static'
import fastifyView from '@fastify/view'
import fastifyWebsocket from '@fastify/websocket'
import fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import helmet from 'helmet'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import { SESSION_COOKIE, setSessionCookie } from './core/auth/cookies.js'
import { type PendingViewer, sessionRef, type ValidSession } from './core/auth/sessions.js'
import { cachingSigner } from './core/auth/signer.js'
import type { Db } from './core/db.js'
import { DomainError, Invalid, isDatabaseUnavailable, NotFound, TooManyRequests, Unavailable } from './core/errors.js'
import { registerGuestCache } from './core/guest-cache.js'
import { isAdmin, isStaff, viewerOf } from './core/guard.js'
import { isApi } from './core/http.js'
import { isBadText, refuseBadText, safeLocation } from './core/input.js'
import { registerMultipart } from './core/multipart.js'
import { paths } from './core/paths.js'
import { fallbackRateLimitStore } from './core/rate-limits.js'
import type { JobQueue } from './core/queue.js'
import { createLiveHub, type LiveOptions } from './core/realtime/index.js'
import { createHandlebars, partialFiles } from './core/views.js'
import type { Hearth } from './fastify-types.js'
import { leavingRoutes } from './features/accounts/leaving-routes.js'
import { accountRoutes } from './features/accounts/routes.js'
import { activityRoutes } from './features/activity/routes.js'
import { referralRoutes } from './features/referrals/routes.js'
import { adminJobRoutes } from './features/admin-jobs/routes.js'
import { adminRoutes } from './features/admin/routes.js'
import { betaRoutes } from './features/beta/routes.js'
import { eventRoutes } from './features/events/routes.js'
import { spamRoutes } from './features/spam/routes.js'
import { notificationLevelHelper } from './features/notifications/level-html.js'
import { editorHelper, imageFieldPartial } from './features/discussions/editor-html.js'
import { postPartial } from './features/discussions/post-html.js'
import { discussionRoutes } from './features/discussions/routes.js'
import { communityRoutes } from './features/community/routes.js'
import { emailRoutes } from './features/email/routes.js'
import { healthRoutes } from './features/health/routes.js'
import { ideaRoutes } from './features/ideas/routes.js'
import { mentionRoutes } from './features/mentions/routes.js'
import { registerLiveChannels } from './features/live/channels.js'
import { liveRoutes } from './features/live/routes.js'
import { moderationRoutes } from './features/moderation/routes.js'
import { notificationRoutes } from './features/notifications/routes.js'
import { uploadRoutes } from './features/uploads/routes.js'
import { pollRoutes } from './features/polls/routes.js'
import { surveyRoutes } from './features/surveys/routes.js'
import { startInProcessJobs } from './in-process-jobs.js'
import { buildServices, type Services } from './services.js'
import type { JobDefinition } from './worker-runtime.js'

/** What buildApp needs from outside: the resources the entrypoint (or a test) owns. */
export interface AppDeps {
  db: Db
  redis?: Redis | null
  queue?: JobQueue | null
  /** The database's connection string for the outbox relay's LISTEN; null on embedded PostgreSQL. */
  listenUrl?: string | null
  /** A service graph built by the caller; one is built (and closed with the app) when absent. */
  services?: Services
  /** Overrides of the live sockets' limits (tests shrink them). */
  liveLimits?: LiveOptions
  /** Told of every route as it is registered (the route-walking test lists them this way). */
  onRoute?: (route: RouteOptions) => void
  /** Without a queue: the scheduled jobs this process should run itself (src/in-process-jobs.ts). */
  inProcessJobs?: JobDefinition[]
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Builds the web application without listening: plugins in a fixed order —
 * external (security, cookies, views, static, rate limits) → app (auth, errors) → features.
 */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = fastify({
    logger: { level: config.logLevel, redact: ['req.headers.cookie', 'req.headers.authorization'] },
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: (err, req, reply) => refuseBadUrl(app, err, req, reply),
  })
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  if (deps.onRoute) app.addHook('onRoute', deps.onRoute)

  const log = app.log as unknown as Logger
  const services =
    deps.services ??
    (await buildServices({ config, db: deps.db, log, redis: deps.redis, queue: deps.queue, listenUrl: deps.listenUrl, live: deps.liveLimits }))
  const inProcessJobs =
    deps.inProcessJobs && !services.queue
      ? startInProcessJobs({ definitions: deps.inProcessJobs, services, config, log: log.child({ module: 'jobs' }), everyMs: config.jobsInProcess.everyMs })
      : null
  if (inProcessJobs) app.addHook('onClose', async () => inProcessJobs.close())
  const hearth: Hearth = {
    ...services,
    live: createLiveHub({ fanout: services.fanout, log: log.child({ module: 'live' }), limits: deps.liveLimits }),
    inProcessJobs,
  }
  const { sessions, categories, secret } = hearth
  registerLiveChannels(hearth)
  // The first page should not wait for the community's name and colours. A database that is
  // not answering yet must not keep the server (and its readiness probe) from starting.
  await hearth.community.identity().catch((err) => hearth.log.warn({ err }, 'community identity not loaded yet'))
  app.decorate('hearth', hearth)
  app.decorateRequest('user', null)
  app.decorateRequest('session', null)
  app.decorateRequest('authMethod', null)
  app.decorateRequest('sessionRef', null)

  // ── external plugins ───────────────────────────────────────────────────────────
  // Security headers (helmet), built once: @fastify/helmet built the middleware, parsing the
  // whole policy again, on every request (a sixth of a cached page's CPU).
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        // Images come from this site only: posts show uploads, never another site's pictures.
        imgSrc: ["'self'", 'data:'],
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
  app.addHook('onRequest', (req, reply, done) => securityHeaders(req.raw, reply.raw, (err) => done(err as Error | undefined)))
  await app.register(fastifyCookie, { secret: cachingSigner(secret) })
  await app.register(fastifyFormbody)
  await registerMultipart(app)
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: 'hearth_csrf',
    cookieOpts: { path: '/', sameSite: 'lax', httpOnly: true, secure: config.cookieSecure, signed: true },
    getToken: (req) => (req.body as Record<string, string> | undefined)?._csrf ?? (req.headers['x-csrf-token'] as string),
  })
  await app.register(fastifyRateLimit, {
    global: false,
    // Redis when it answers, this process's memory when it does not (src/core/rate-limits.ts).
    store: fallbackRateLimitStore(hearth.redis, `${config.redisPrefix}:rate:`) as never,
    skipOnError: false,
    errorResponseBuilder: (_req, ctx) =>
      new TooManyRequests(`Too many attempts. Try again in ${Math.ceil(ctx.ttl / 60_000)} minute(s).`),
  })
  const handlebars = createHandlebars({ html: true })
  // The post partial is a function (the hottest markup: up to 200 times a page), see post-html.ts.
  handlebars.registerPartial('post', postPartial(handlebars))
  // A member's notification-level form (thread and category pages) and the composers' body
  // field are helpers, written as functions (level-html.ts, editor-html.ts).
  handlebars.registerHelper('notificationLevelForm', notificationLevelHelper(handlebars))
  handlebars.registerHelper('editorField', editorHelper(handlebars))
  handlebars.registerPartial('image-field', imageFieldPartial(handlebars))
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

  // ── app plugins: clean input, who is asking, cross-site protection, errors ──────
  // One rule for text that PostgreSQL, UTF-8 and HTTP headers cannot carry (see core/input.ts):
  // a path parameter, query value or body field holding NUL or a lone surrogate is a 400
  // naming the field, before any route or service sees it.
  app.addHook('onRequest', async (req, reply) => {
    // A bad cookie is dropped, not refused: cookies are set by the browser (or planted by a
    // sibling subdomain), so a 400 on every request would lock the person out until they
    // found and cleared it. A dropped session cookie reads as logged out, like an expired one.
    for (const [name, value] of Object.entries(req.cookies)) {
      if (!isBadText(name) && !(value && isBadText(value))) continue
      delete req.cookies[name]
      if (name === SESSION_COOKIE) reply.clearCookie(SESSION_COOKIE, { path: '/' })
    }
    refuseBadText(req.params)
    refuseBadText(req.query)
  })
  app.addHook('preValidation', async (req) => refuseBadText(req.body))
  // Redirect targets are checked where they are chosen (safeNext); this is the net under them:
  // Node throws on CR, LF or non-Latin-1 in a header, which would turn a redirect into a 500.
  app.addHook('onSend', async (_req, reply, payload) => {
    const location = reply.getHeader('location')
    if (typeof location === 'string') reply.header('location', safeLocation(location))
    return payload
  })

  // Unread notification counts read with the session, for the page header.
  const unreadOf = new WeakMap<FastifyRequest, number>()
  // What a checked session means for the request (or a dropped cookie, when it is not valid).
  const applySession = (req: FastifyRequest, reply: FastifyReply, token: string, found: ValidSession | null, page: boolean) => {
    if (!found) {
      reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return
    }
    req.user = found.user
    if (!longLived(req)) categories.remember(found.user, found.moderates)
    if (page) unreadOf.set(req, found.unread)
    req.session = found.session
    req.authMethod = 'session'
    if (found.refreshed) setSessionCookie(reply, config, token, found.session.expiresAt)
  }
  app.addHook('onRequest', async (req, reply) => {
    const auth = req.headers.authorization
    if (auth?.startsWith('Bearer ')) {
      const found = await sessions.validateApiToken(auth.slice(7).trim())
      if (!found) return reply.code(401).send({ error: 'Invalid API token' })
      req.user = found.user
      if (!longLived(req)) categories.remember(found.user, found.moderates)
      req.authMethod = 'token'
      return
    }
    const token = req.cookies[SESSION_COOKIE]
    if (!token) return
    // A page's header shows the unread count: read it with the session, in the same round trip.
    const page = req.method === 'GET' && !isApi(req)
    // A page that looks the session up in its own statement settles it there (pendingViewer).
    if (page && req.routeOptions.config?.sessionInPage) {
      req.sessionRef = sessionRef(token)
      if (req.sessionRef) return
    }
    applySession(req, reply, token, await sessions.validate(token, { unread: page }), page)
  })

  // The page's locals (header, CSRF token) once the session is known.
  const setPageLocals = async (req: FastifyRequest, reply: FastifyReply) => {
    // Pages (and their error pages) still render while the database is away.
    const community = await hearth.community.identity().catch(() => hearth.community.fallbackIdentity())
    reply.locals = {
      ...reply.locals,
      community,
      communityName: community.name,
      currentUser: req.user,
      isAdmin: isAdmin(viewerOf(req.user)),
      isStaff: isStaff(viewerOf(req.user)),
      csrfToken: lazyCsrfToken(reply),
      path: req.url,
      unreadNotifications: req.user && req.method === 'GET' ? (unreadOf.get(req) ?? (await hearth.notifications.unreadCount(req.user.id))) : 0,
      isModerator: req.user && req.method === 'GET' ? hearth.moderation.isModerator(await categories.viewer(req.user)) : false,
    }
  }
  const settle = async (req: FastifyRequest, reply: FastifyReply, found: ValidSession | null) => {
    req.sessionRef = null
    applySession(req, reply, req.cookies[SESSION_COOKIE]!, found, true)
    await setPageLocals(req, reply)
  }
  app.decorate('pendingViewer', (req: FastifyRequest, reply: FastifyReply): PendingViewer | null => {
    const ref = req.sessionRef
    if (!ref) return null
    return {
      ref,
      lookup: (r) => sessions.lookup(r, { unread: true }),
      settle: async (row) => {
        await settle(req, reply, await sessions.settle(ref, row))
        return categories.viewer(req.user)
      },
    }
  })
  app.decorate('settleSession', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.sessionRef) await settle(req, reply, await sessions.validate(req.cookies[SESSION_COOKIE]!, { unread: true }))
  })

  app.addHook('preValidation', (req, reply, done) => {
    if (SAFE_METHODS.has(req.method) || req.routeOptions.config?.csrf === false) return done()
    if (!isApi(req)) return app.csrfProtection(req, reply, done)
    if (req.authMethod === 'token') return done()
    // A file upload cannot be JSON, and a cross-site form can send multipart: it must come
    // from this site and carry the page's CSRF token (in the X-CSRF-Token header).
    if (req.routeOptions.config?.uploads && req.isMultipart()) {
      if (!req.user) return done()
      if (!sameOrigin(req, config)) return reply.code(403).send({ error: 'Cross-site request refused' })
      return app.csrfProtection(req, reply, done)
    }
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
    // A page that looks its session up itself gets its locals when it settles it.
    if (req.sessionRef) return
    await setPageLocals(req, reply)
  })

  registerGuestCache(app, config.guestCacheSeconds, config.guestCacheMaxBytes)

  app.setErrorHandler(async (err, req, reply) => renderError(err as Error, req, reply))
  app.setNotFoundHandler(async (req, reply) => {
    if (isApi(req)) return reply.code(404).send({ error: 'Not found' })
    return reply.code(404).view('errors/404', { title: 'Not found', ...(await pageLocals(req, reply)) })
  })

  // ── features ──────────────────────────────────────────────────────────────────
  await app.register(healthRoutes)
  await app.register(accountRoutes)
  await app.register(leavingRoutes)
  await app.register(notificationRoutes)
  await app.register(discussionRoutes)
  await app.register(moderationRoutes)
  await app.register(adminRoutes)
  await app.register(ideaRoutes)
  await app.register(mentionRoutes)
  await app.register(betaRoutes)
  await app.register(spamRoutes)
  await app.register(emailRoutes)
  await app.register(communityRoutes)
  await app.register(adminJobRoutes)
  await app.register(activityRoutes)
  await app.register(referralRoutes)
  await app.register(liveRoutes)
  await app.register(uploadRoutes)
  await app.register(pollRoutes)
  await app.register(surveyRoutes)
  await app.register(eventRoutes)

  // The relay delivers events written before this process started, then each as it commits.
  if (!deps.services) {
    app.addHook('onClose', async () => services.close())
    await services.start()
  }
  return app
}

// A live socket keeps its user for hours: its access checks read the moderation scope afresh.
function longLived(req: FastifyRequest): boolean {
  return req.headers.upgrade?.toLowerCase() === 'websocket'
}

function sameOrigin(req: FastifyRequest, config: Config): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site') return false
  const origin = req.headers.origin
  if (!origin) return true
  return origin === new URL(config.baseUrl).origin || origin === `${req.protocol}://${req.host}`
}

/**
 * The page's CSRF token, made when a template first prints it (`{{csrfToken}}` reads it as a
 * string): a page without a form (a guest's thread page) signs nothing and sets no cookie.
 */
function lazyCsrfToken(reply: FastifyReply): { toString(): string } {
  let token: string | undefined
  return { toString: () => (token ??= reply.generateCsrf()) }
}

// Locals for pages rendered outside the preHandler (404s, errors before routing).
async function pageLocals(req: FastifyRequest, reply: FastifyReply): Promise<Record<string, unknown>> {
  // A page that failed before it looked its session up: the header still knows who is asking.
  if (req.sessionRef) await req.server.settleSession(req, reply).catch(() => (req.sessionRef = null))
  if (reply.locals?.csrfToken) return {}
  // The community's name and look, unless the database is what failed.
  const community = await req.server.hearth.community.identity().catch(() => null)
  let csrfToken = ''
  try {
    csrfToken = reply.generateCsrf()
  } catch {
    // A page still renders when the CSRF cookie cannot be set (no cookie plugin yet).
  }
  return { currentUser: req.user, csrfToken, ...(community ? { community, communityName: community.name } : {}) }
}

// A path that is not valid percent-encoded UTF-8 (`/t/%E0%A4%A`) or whose parameter is too long
// is refused before routing, when the reply has no view decorator yet: it answers in the app's
// error shapes from here, with Fastify's status (400, or 414 for a long parameter).
async function refuseBadUrl(app: FastifyInstance, err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  const status = err.statusCode === 414 ? 414 : 400
  const message = status === 414 ? 'That address is too long' : 'That address is not valid'
  req.log.info({ status, message: err.message }, 'request refused')
  if (isApi(req)) return reply.code(status).send({ error: message })
  const page = await app.view('errors/4xx', { title: 'Error', message, status, requestId: req.id }).catch(() => message)
  return reply.code(status).type('text/html; charset=utf-8').send(page)
}

const DATABASE_UNAVAILABLE = 'The database is not answering for a moment. Try again shortly.'

async function renderError(err: Error & { statusCode?: number; validation?: unknown }, req: FastifyRequest, reply: FastifyReply) {
  const unavailable = isDatabaseUnavailable(err)
  const refusedByDatabase = err instanceof DomainError ? null : fromDatabase(err)
  const domain = err instanceof DomainError ? err : (fromValidation(err) ?? refusedByDatabase ?? (unavailable ? new Unavailable(DATABASE_UNAVAILABLE) : null))
  let status = domain?.status ?? err.statusCode ?? 500
  if (status < 400 || status > 599) status = 500
  const field = domain && 'field' in domain ? (domain.field as string | undefined) : undefined
  const message =
    unavailable
      ? DATABASE_UNAVAILABLE
      : domain instanceof Unavailable
      ? domain.message // a deliberate 503 says what is away and what to do
      : status >= 500
      ? 'Something went wrong on our side'
      : (err as { code?: string }).code?.startsWith('FST_CSRF')
        ? 'This form has expired or came from another site. Go back, reload the page and try again.'
        : (domain ?? err).message
  if (unavailable) req.log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'database unavailable')
  else if (status >= 500) req.log.error({ err }, 'request failed')
  else if (refusedByDatabase) req.log.warn({ err }, 'the database refused a value the route let through')
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

// A route's zod schema refused the request: a malformed path parameter names nothing (404,
// as a missing thing would); a bad body or query string is bad input on its first failing field.
function fromValidation(err: Error & { validation?: unknown; validationContext?: string }): DomainError | null {
  if (!Array.isArray(err.validation) || err.validation.length === 0) return null
  if (err.validationContext === 'params') return new NotFound()
  const first = err.validation[0] as { instancePath?: string; message?: string }
  const field = (first.instancePath ?? '').split('/').filter(Boolean).join('.')
  return new Invalid({ [field || '_']: first.message ?? 'Invalid input' })
}

// PostgreSQL's data exceptions (class 22: text that is not a number, a number out of range,
// NUL in text, a string too long, a bad date…) can only come from a value a person sent, so
// they are bad input (400), never a server fault. Route schemas should refuse such values
// first; this is the net under them, and it logs a warning so the gap can be closed.
const DATA_ERRORS: Record<string, string> = {
  '22021': 'Text cannot contain NUL characters',
  '22P05': 'Text cannot contain NUL characters',
  '22001': 'A value is too long',
  '22003': 'A number is out of range',
  '22P02': 'A value is not in the expected form',
  '22007': 'A date or time is not valid',
  '22008': 'A date or time is out of range',
}

function fromDatabase(err: Error & { code?: unknown; severity?: unknown }): DomainError | null {
  // pg's DatabaseError carries a SQLSTATE `code` and a `severity`; Node's own errors have codes like ERR_….
  if (typeof err.code !== 'string' || !/^22[0-9A-Z]{3}$/.test(err.code) || err.severity === undefined) return null
  return new Invalid({ _: DATA_ERRORS[err.code] ?? 'A value is not valid' })
}
