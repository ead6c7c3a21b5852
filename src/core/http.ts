import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
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

/**
 * A submitted HTML form as the route sees it: every field a string, an absent body an empty
 * form. Deliberately loose: the service validates precisely (`parse(Schema, form)`) so a bad
 * field re-renders the form with its message and the values typed.
 */
export const FormBody = z.record(z.string(), z.string()).default({})
/** A form with repeated fields (a group of checkboxes): those arrive as arrays. */
export const MultiFormBody = z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({})
/** The fields of a submitted form. */
export type Form = z.output<typeof FormBody>

/** An optional query-string flag or message (`?saved=…`), shown back to the person who caused it. */
export const queryText = z.string().max(200).optional()

/**
 * A name in a URL path (slug, username, token id). PostgreSQL refuses NUL in text, so a
 * path holding one could name nothing: it fails here and answers 404, not a database error.
 */
export function pathText(max: number) {
  return z.string().min(1).max(max).refine((v) => !v.includes('\u0000'))
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
