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

const BASE = 'http://x.invalid'

/**
 * Where to send someone after log-in or a form: only a path on this site, never another host.
 * Browsers strip tabs and newlines from a URL and read a backslash as a slash, so `/<tab>/evil.example`
 * and `/<backslash>evil.example` are other sites to them: anything but printable ASCII, any backslash,
 * and anything that resolves to another origin falls back. What passes is also a safe header.
 */
export function safeNext(next: unknown, fallback = '/'): string {
  if (typeof next !== 'string' || next.length > 2000) return fallback
  if (!/^\/[\x21-\x7e]*$/.test(next) || next.startsWith('//') || next.includes('\\')) return fallback
  let url: URL
  try {
    url = new URL(next, BASE)
  } catch {
    return fallback
  }
  return url.origin === BASE ? next : fallback
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
 * A row id from a path, query string or body: a positive safe integer, sent as a JSON number
 * or as decimal digits. Not `1e3`, `0x10`, ` 12`, `1.5`, `true` or `[5]`, which z.coerce would
 * turn into ids, nor 2^53 and beyond, which PostgreSQL would refuse or JavaScript round.
 */
export function idField(message = 'Must be a positive whole number') {
  return z
    .union([z.number(message), z.string(message).regex(/^\d{1,16}$/, message)], { error: message })
    .transform(Number)
    .pipe(z.number().int(message).positive(message))
}

/** An optional id: absent, empty (an unfilled form field) or null mean none. */
export function optionalIdField(message?: string) {
  return z.preprocess((v) => (v === '' || v === null ? undefined : v), idField(message).optional())
}

/** Path parameters naming one row by its id; a malformed id names nothing (404). */
export const IdParams = z.object({ id: idField() })

/** A name in a URL path (slug, username, token id). NUL and lone surrogates never get this far (core/input.ts). */
export function pathText(max: number) {
  return z.string().min(1).max(max)
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
