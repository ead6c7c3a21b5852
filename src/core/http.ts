import type { FastifyReply, FastifyRequest } from 'fastify'
import { type DomainError, fieldErrors, Unauthorized } from './errors.js'
import type { SessionUser } from './auth/sessions.js'
import { ensure, viewerOf } from './guard.js'

/** True for JSON API requests, which get JSON errors instead of pages. */
export function isApi(req: FastifyRequest): boolean {
  return req.url.startsWith('/api/')
}

/** The logged-in user, or Unauthorized (401 for the API, a log-in redirect for pages). */
export function requireUser(req: FastifyRequest): SessionUser {
  if (!req.user) throw new Unauthorized()
  return req.user
}

/** Where to send someone after log-in: only same-site paths, never another host. */
export function safeNext(next: unknown, fallback = '/'): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\')
    ? next
    : fallback
}

/**
 * Runs a form action; on bad input re-renders the form with each field's message and
 * the values the user typed (never the passwords), status 400.
 */
export async function handleForm(
  reply: FastifyReply,
  template: string,
  values: Record<string, unknown>,
  action: () => Promise<unknown>,
  extra: Record<string, unknown> = {},
): Promise<unknown> {
  try {
    return await action()
  } catch (err) {
    const fields = fieldErrors(err)
    if (!fields) throw err
    const kept = Object.fromEntries(Object.entries(values).filter(([k]) => !/password|_csrf/i.test(k)))
    return reply
      .code((err as DomainError).status)
      .view(template, { ...extra, values: kept, errors: fields, error: (err as Error).message })
  }
}

// ── declarative route guards ──────────────────────────────────────────────────────
// Usable as a route's `preHandler` or called at the top of a handler; each throws the
// DomainError the one error handler turns into a page or JSON.

/** A logged-in user, as a route's `preHandler` (401 otherwise: the API answers 401, pages send to log in). */
export async function requireMember(req: FastifyRequest): Promise<SessionUser> {
  return requireUser(req)
}

/** An admin who is not suspended; 404 for everyone else (owner pages do not exist for them). */
export async function requireAdmin(req: FastifyRequest): Promise<SessionUser> {
  const user = await requireMember(req)
  ensure(viewerOf(user), 'administer', undefined)
  return user
}
