import type { FastifyInstance } from 'fastify'
import { SESSION_COOKIE } from './auth/cookies.js'

interface Entry {
  /** Encoded once, so a hit costs no string-to-bytes conversion. */
  body: Buffer
  contentType: string
  expires: number
}

declare module 'fastify' {
  interface FastifyInstance {
    /** What the guest cache holds now (tests and health pages). */
    guestCacheStats?: () => { entries: number; bytes: number }
    /** Drops every cached page now (an owner renamed a category or the community). */
    guestCacheClear?: () => void
  }
  interface FastifyContextConfig {
    /** Guests get this page from a short-lived shared cache (an "anonymous cache"). */
    guestCache?: boolean
  }
}

const MAX_ENTRIES = 1_000
const MAX_BODY = 512 * 1024
/** All cached pages together never hold more than this; the oldest go first. */
export const GUEST_CACHE_MAX_BYTES = 16 * 1024 * 1024

/**
 * A micro-cache of public pages as guests see them, for a few seconds: a burst of guests
 * (a link shared widely, a crawler) costs one render, not thousands. Only requests with no
 * session cookie and no token use it, so it only ever holds and serves what any guest may
 * see; members always get fresh pages, and live updates keep open guest pages current.
 */
export function registerGuestCache(app: FastifyInstance, ttlSeconds: number, maxBytes = GUEST_CACHE_MAX_BYTES): void {
  if (ttlSeconds <= 0) {
    // No cache; the pages it would serve are still sent as bytes encoded once (see below).
    app.addHook('onSend', async (req, _reply, payload) =>
      req.method === 'GET' && req.routeOptions.config?.guestCache && typeof payload === 'string' ? Buffer.from(payload) : payload)
    return
  }
  const entries = new Map<string, Entry>()
  let bytes = 0
  const drop = (key: string) => {
    const entry = entries.get(key)
    if (!entry) return
    bytes -= entry.body.length
    entries.delete(key)
  }
  // Expired pages go within a TTL even if nobody asks for them again.
  const sweep = setInterval(() => {
    const now = Date.now()
    for (const [key, entry] of entries) if (entry.expires < now) drop(key)
  }, ttlSeconds * 1000)
  sweep.unref()
  app.addHook('onClose', async () => clearInterval(sweep))
  app.decorate('guestCacheStats', () => ({ entries: entries.size, bytes }))
  app.decorate('guestCacheClear', () => {
    entries.clear()
    bytes = 0
  })
  const isGuest = (cookie: string | undefined, authorization: string | undefined) =>
    !authorization && !(cookie ?? '').includes(`${SESSION_COOKIE}=`)

  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'GET' || !req.routeOptions.config?.guestCache) return
    if (!isGuest(req.headers.cookie, req.headers.authorization)) return
    const hit = entries.get(req.url)
    if (!hit) return
    if (hit.expires < Date.now()) {
      drop(req.url)
      return
    }
    return reply.header('x-hearth-cache', 'hit').type(hit.contentType).send(hit.body)
  })

  app.addHook('onSend', async (req, reply, payload) => {
    if (req.method !== 'GET' || !req.routeOptions.config?.guestCache || typeof payload !== 'string') return payload
    // Encoded once, here: sent as a string, the page would be measured for Content-Length and then encoded again.
    const body = Buffer.from(payload)
    if (reply.statusCode !== 200 || reply.getHeader('x-hearth-cache') || body.length > MAX_BODY) return body
    if (!isGuest(req.headers.cookie, req.headers.authorization) || req.user) return body
    drop(req.url)
    // Oldest first (a Map keeps insertion order) until the new page fits both bounds.
    while (entries.size > 0 && (entries.size >= MAX_ENTRIES || bytes + body.length > maxBytes)) drop(entries.keys().next().value as string)
    entries.set(req.url, { body, contentType: String(reply.getHeader('content-type') ?? 'text/html'), expires: Date.now() + ttlSeconds * 1000 })
    bytes += body.length
    return body
  })
}
