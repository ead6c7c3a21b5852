import type { DbOrTrx, Trx } from '../../core/db.js'
import type { DeletionMode } from '../../core/db-types.js'
import type { Services } from '../../services.js'

/**
 * The personal-data registry: each feature says what it holds about a member, so a data
 * export (GDPR art. 15/20) shows all of it and an account deletion (art. 17) reaches all
 * of it. A feature adds its contributor to `personalDataContributors` in
 * src/features/registry.ts; `test/accounts/leaving.test.ts` scans every table afterwards,
 * so a forgotten column fails a test rather than leaking.
 */

/** A file that belongs in a member's export (an upload), read from disk when the archive is built. */
export interface PersonalDataFile {
  /** Its name inside the archive, under `files/`. */
  name: string
  /** Where it is on disk. */
  path: string
}

/** One kind of thing a feature holds about the member: it becomes `data/<key>.json` and a section of the readable page. */
export interface PersonalDataSection {
  key: string
  title: string
  /** One object per row, JSON-ready (dates become ISO strings). */
  items: Record<string, unknown>[]
  files?: PersonalDataFile[]
}

/** What a contributor may use besides the transaction. */
export interface PersonalDataContext {
  services: Services
}

/** A feature's part of the registry. */
export interface PersonalDataContributor {
  /** The feature's name, for logs and errors. */
  name: string
  /** Everything the feature holds about the member, read in `trx` (one consistent snapshot). */
  exportFor(userId: number, trx: DbOrTrx, ctx: PersonalDataContext): Promise<PersonalDataSection[]>
  /**
   * Removes (or, for content others rely on, anonymises) what the feature holds about the
   * member, inside the deletion's transaction. `anonymize` keeps their posts credited to a
   * deleted member; `erase` removes their content too. Must be safe to run twice.
   */
  eraseFor(userId: number, mode: DeletionMode, trx: Trx, ctx: PersonalDataContext): Promise<void>
}

/** The name an anonymised account gets: reserved for this use, so nobody can sign up with it. */
export function deletedUsername(userId: number): string {
  return `deleted-${userId}`
}

/** Is this one of the reserved names of anonymised accounts? */
export function isDeletedUsername(name: string): boolean {
  return /^deleted-\d+$/i.test(name)
}

/** The names (current and former) and address of a member who is leaving, read before the account is scrubbed. */
export async function leavingMember(trx: DbOrTrx, userId: number): Promise<{ username: string; email: string; names: string[] }> {
  const user = await trx.selectFrom('users').select(['username', 'email']).where('id', '=', userId).executeTakeFirstOrThrow()
  const old = await trx.selectFrom('username_history').select('username').where('user_id', '=', userId).execute()
  const names = [...new Set([user.username, ...old.map((o) => o.username)].map((n) => n.toLowerCase()))].filter((n) => !isDeletedUsername(n))
  return { username: user.username, email: user.email, names }
}

/** A row as JSON-ready values: dates as ISO strings, everything else as it is. */
export function plain<T extends Record<string, unknown>>(row: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]))
}

/**
 * How a leaving member's own words refer to them (any name they used, their address),
 * for rewriting the content that stays: a PostgreSQL pattern, the same as a JavaScript
 * regular expression, and what each becomes. Usernames are [A-Za-z0-9_-]; the address is escaped.
 */
export function selfReferences(userId: number, names: string[], email: string) {
  const escape = (w: string) => w.replace(/[.+*?^$()[\]{}|\\]/g, '\\$&')
  const words = [email.toLowerCase(), ...names].map(escape)
  const alternatives = words.join('|')
  const js = new RegExp(`(?<![A-Za-z0-9_-])(${alternatives})(?![A-Za-z0-9_-])`, 'gi')
  const replacement = deletedUsername(userId)
  const emailLower = email.toLowerCase()
  return {
    /** For `~*` and `regexp_replace(…, 'gi')` (word boundaries as PostgreSQL spells them). */
    pattern: `\\m(${alternatives})\\M`,
    /** Rewrites one text. */
    rewrite: (text: string) => text.replace(js, (m) => (m.toLowerCase() === emailLower ? '[address removed]' : replacement)),
  }
}
