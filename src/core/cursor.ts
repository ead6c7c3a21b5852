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
  if (!result.success) throw Invalid.field('cursor', 'That page link is broken; start from the first page')
  return result.data
}

/** A finite number inside a cursor (JSON has no NaN, but a hand-made cursor may hold 1e999 → Infinity). */
export const cursorNumber = z.number().refine(Number.isFinite)
/** A row id inside a cursor. */
export const cursorId = z.number().int().positive()
