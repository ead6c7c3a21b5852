import safeRegex from 'safe-regex2'
import { Invalid } from '../../core/errors.js'
import type { WatchedWordAction } from '../../core/db-types.js'

/**
 * Watched words: owner-set words and patterns, each with an action — block (refuse the
 * post), hold (send it to the approval queue), flag (publish it and ask a moderator to
 * look) or replace (publish it with the match replaced).
 *
 * Bounded so no pattern can stall the server: patterns are at most MAX_PATTERN_LENGTH
 * characters, at most MAX_WATCHED_WORDS of them, regular expressions with star height
 * above one (catastrophic backtracking) are refused when saved (safe-regex2), and matching
 * only ever reads the first MAX_SCANNED_CHARS characters of a post.
 */

export const MAX_PATTERN_LENGTH = 200
export const MAX_WATCHED_WORDS = 500
export const MAX_SCANNED_CHARS = 20_000
export const MAX_REPLACEMENT_LENGTH = 100

export interface WatchedWord {
  id: number
  pattern: string
  is_regex: boolean
  action: WatchedWordAction
  replacement: string
}

export interface CompiledWord extends WatchedWord {
  re: RegExp
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}

/**
 * The regular expression for one watched word: plain words match case-insensitively on word
 * boundaries (letters and digits in any script); patterns as written, case-insensitively.
 * Throws Invalid (field `pattern`) for a pattern that is too long, not valid, or unsafe.
 */
export function compileWord(pattern: string, isRegex: boolean): RegExp {
  const p = pattern.trim()
  if (p.length === 0) throw Invalid.field('pattern', 'Enter a word or a pattern')
  if (p.length > MAX_PATTERN_LENGTH) throw Invalid.field('pattern', `Patterns are at most ${MAX_PATTERN_LENGTH} characters`)
  if (!isRegex) return new RegExp(`(?<![\\p{L}\\p{N}_])${escape(p)}(?![\\p{L}\\p{N}_])`, 'giu')
  let re: RegExp
  try {
    re = new RegExp(p, 'giu')
  } catch (err) {
    throw Invalid.field('pattern', `That is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`)
  }
  // Back-references defeat safe-regex2's analysis; lookarounds are allowed (bounded by the scan length).
  if (/\\[1-9]|\\k</.test(p) || !isSafe(re)) {
    throw Invalid.field('pattern', 'That pattern could take very long on some texts (nested repetition or back-references); simplify it')
  }
  if (re.test('')) throw Invalid.field('pattern', 'That pattern matches empty text; it would match every post')
  return re
}

/** safe-regex2's verdict; a pattern it cannot analyse counts as unsafe. */
function isSafe(re: RegExp): boolean {
  try {
    return safeRegex(re)
  } catch {
    return false
  }
}

/** Compiles the stored list, skipping any entry that no longer compiles (the rules may have tightened). */
export function compileAll(words: readonly WatchedWord[]): CompiledWord[] {
  const out: CompiledWord[] = []
  for (const w of words.slice(0, MAX_WATCHED_WORDS)) {
    try {
      out.push({ ...w, re: compileWord(w.pattern, w.is_regex) })
    } catch {
      // A pattern stored before a rule changed is ignored rather than run.
    }
  }
  return out
}

export interface WatchResult {
  /** The strictest action among the words that matched, or null. */
  action: Exclude<WatchedWordAction, 'replace'> | null
  /** The patterns that matched, for the queue's reasons. */
  matched: string[]
  /** The text with replacements made (only in the scanned part). */
  text: string
}

const RANK: Record<Exclude<WatchedWordAction, 'replace'>, number> = { flag: 1, hold: 2, block: 3 }

/** Checks a text (title and body together, or one of them) against the watched words. */
export function watch(text: string, words: readonly CompiledWord[]): WatchResult {
  const scanned = text.slice(0, MAX_SCANNED_CHARS)
  const rest = text.slice(MAX_SCANNED_CHARS)
  let action: WatchResult['action'] = null
  const matched: string[] = []
  let replaced = scanned
  for (const w of words) {
    w.re.lastIndex = 0
    if (w.action === 'replace') {
      replaced = replaced.replace(w.re, w.replacement)
      continue
    }
    if (w.re.test(scanned)) {
      matched.push(w.pattern)
      if (action === null || RANK[w.action] > RANK[action]) action = w.action
    }
  }
  return { action, matched, text: replaced + rest }
}
