import type { z } from 'zod'

/** A failure a user caused or may see; the error handler turns it into a response. */
export abstract class DomainError extends Error {
  abstract readonly status: number
}

/** 404: missing, or not visible to this user (private spaces never leak their existence). */
export class NotFound extends DomainError {
  readonly status = 404
  constructor(message = 'Not found') {
    super(message)
  }
}

/** 401: the action needs a logged-in user. */
export class Unauthorized extends DomainError {
  readonly status = 401
  constructor(message = 'You need to log in to do that') {
    super(message)
  }
}

/** 403: logged in and able to see the thing, but not allowed to do this. */
export class Forbidden extends DomainError {
  readonly status = 403
  constructor(message = 'You are not allowed to do that') {
    super(message)
  }
}

/** 409: the request clashes with the current state. */
export class Conflict extends DomainError {
  readonly status = 409
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

/** 400: bad input; `fields` maps each bad field to its message, `field` is the first. */
export class Invalid extends DomainError {
  readonly status = 400
  readonly field: string | undefined
  constructor(readonly fields: Record<string, string>) {
    const [field, message] = Object.entries(fields)[0] ?? [undefined, 'Invalid input']
    super(message)
    this.field = field
  }

  static field(field: string, message: string): Invalid {
    return new Invalid({ [field]: message })
  }
}

/** 413: a file (or its picture) is larger than this community allows; `field` names the file field. */
export class TooLarge extends DomainError {
  readonly status = 413
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

/** 415: a file of a kind this community does not take; `field` names the file field. */
export class UnsupportedType extends DomainError {
  readonly status = 415
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

/** A service Hearth depends on (Redis for jobs) is unreachable right now; nothing was changed. */
export class Unavailable extends DomainError {
  readonly status = 503
  constructor(message = 'This is unavailable right now; try again in a minute') {
    super(message)
  }
}

/** 429: too many requests. */
export class TooManyRequests extends DomainError {
  readonly status = 429
  constructor(message = 'Too many requests, please slow down') {
    super(message)
  }
}

/** Parses input with a zod schema, throwing Invalid with one message per bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {})
  if (result.success) return result.data
  const fields: Record<string, string> = {}
  for (const issue of result.error.issues) {
    const key = issue.path.length > 0 ? issue.path.join('.') : '_'
    fields[key] ??= issue.message
  }
  throw new Invalid(fields)
}

/** The per-field messages a form should show for an error, or null when it is not about fields. */
export function fieldErrors(err: unknown): Record<string, string> | null {
  if (err instanceof Invalid) return err.fields
  // Any other refusal about one field (a conflict, a file too large or of the wrong kind, a spent quota).
  const field = err instanceof DomainError ? (err as { field?: unknown }).field : undefined
  if (typeof field === 'string' && field) return { [field]: (err as Error).message }
  return null
}

// SQLSTATE classes and driver messages that mean "the database went away", not "the request was bad".
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '57014', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'])
const UNAVAILABLE_MESSAGES = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i

/**
 * Whether an error means PostgreSQL is briefly unreachable (restarting, failing over, its
 * connections killed, a statement cancelled by the timeout): the error handler answers 503
 * "try again" instead of a bare 500, and nothing the request did was committed.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true
  return UNAVAILABLE_MESSAGES.test(String((err as { message?: unknown }).message ?? ''))
}
