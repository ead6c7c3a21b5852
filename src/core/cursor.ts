import { z } from 'zod'
import { Invalid } from './errors.js'

/** One value of a row-value cursor: dates travel as ISO strings. */
export type CursorValue = string | number | boolean | Date

/**
 * Encodes the sort key of the last row shown (for example `(pinned, last_post_at, id)`)
 * as an opaque, URL-safe keyset cursor. The next page asks for rows after it.
 */
export function encodeCursor(values: readonly CursorValue[]): string {
  const plain = values.map((v) => (v instanceof Date ? v.toISOString() : v))
  return Buffer.from(JSON.stringify(plain)).toString('base64url')
}

/**
 * Decodes a keyset cursor against the schema of its row value (a zod tuple).
 * Anything malformed — not base64url, not JSON, the wrong shape — is a 400 on the
 * `cursor` field, never a 500: cursors come back from URLs people can edit.
 */
export function decodeCursor<S extends z.ZodType>(schema: S, cursor: string): z.output<S> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    value = undefined
  }
  const result = schema.safeParse(value)
  if (!result.success) throw Invalid.field('cursor', BROKEN)
  return result.data
}

const BROKEN = 'That page link is broken; start from the first page'

/**
 * A cursor in a query string, checked at the route against its row value's schema (so a
 * broken one is a 400 on `cursor` before the service runs); the service decodes it again.
 * Empty means the first page.
 */
export function cursorParam<S extends z.ZodType>(schema: S) {
  return z.string().max(200, BROKEN).refine((v) => v === '' || isCursor(schema, v), BROKEN)
}

/** True when a cursor decodes against the schema of its row value. */
export function isCursor<S extends z.ZodType>(schema: S, cursor: string): boolean {
  try {
    decodeCursor(schema, cursor)
    return true
  } catch {
    return false
  }
}

/** A finite number inside a cursor (JSON has no NaN, but a hand-made cursor may hold 1e999 → Infinity). */
export const cursorNumber = z.number().refine(Number.isFinite)
/** A row id inside a cursor: a positive safe integer. */
export const cursorId = z.number().int().positive()
/** A count inside a cursor (an `integer` column such as a vote count). */
export const cursorCount = z.number().int().min(0).max(2 ** 31 - 1)
/** A timestamp inside a cursor: ISO 8601 in UTC, of a real day in years 1–9999 (PostgreSQL refuses year 0 and 30 February). */
export const cursorTime = z.iso.datetime().refine((v) => {
  const time = new Date(v)
  return !Number.isNaN(time.getTime()) && time.getUTCFullYear() >= 1 && time.toISOString().slice(0, 10) === v.slice(0, 10)
})
