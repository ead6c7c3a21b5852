import type { PendingViewer, Session, SessionRef, SessionUser } from './core/auth/sessions.js'
import type { LiveHub } from './core/realtime/index.js'
import type { InProcessJobs } from './in-process-jobs.js'
import type { Services } from './services.js'

/** What every feature's routes reach through `app.hearth`: the service graph and this instance's live hub. */
export interface Hearth extends Services {
  live: LiveHub
  /** Scheduled jobs this process runs itself when there is no Redis; null otherwise. */
  inProcessJobs: InProcessJobs | null
}

declare module 'fastify' {
  interface FastifyInstance {
    hearth: Hearth
    /**
     * On a `sessionInPage` route: the request's session, for the page's own statement to look
     * up (null when there is none to check: a guest, or already settled). The handler must use
     * it (or call `settleSession`) before it reads `req.user`.
     */
    pendingViewer(req: FastifyRequest, reply: FastifyReply): PendingViewer | null
    /** Checks a session the page has not looked up itself (see `pendingViewer`); nothing if none waits. */
    settleSession(req: FastifyRequest, reply: FastifyReply): Promise<void>
  }
  interface FastifyRequest {
    user: SessionUser | null
    session: Session | null
    authMethod: 'session' | 'token' | null
    /** A session cookie not checked yet, on a `sessionInPage` route (see `pendingViewer`). */
    sessionRef: SessionRef | null
  }
  interface FastifyContextConfig {
    /** False on the few routes a signed token authorises instead of a session (one-click unsubscribe). */
    csrf?: boolean
    /** Reads files from multipart bodies on this route (src/core/multipart.ts). */
    uploads?: boolean
    /**
     * A page whose own statement looks the session up (see `pendingViewer`): a member's page
     * costs one round trip to the database instead of two.
     */
    sessionInPage?: boolean
  }
  interface FastifyReply {
    /** Values every page template sees (set by @fastify/view's reply decorator). */
    locals: Record<string, unknown>
  }
}
