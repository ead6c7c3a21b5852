import type { PollKind, PollResults } from '../../core/db-types.js'
import { fencedBlocks } from '../../core/markdown.js'

/** A poll as its ```poll block defines it. */
export interface PollDefinition {
  title: string
  kind: PollKind
  /** Choices a ballot must pick (multiple), or the scale's lowest value (number). */
  min: number
  /** Choices a ballot may pick (multiple), or the scale's highest value (number). */
  max: number
  results: PollResults
  public: boolean
  closesAt: Date | null
  minTrustLevel: number
  ideaId: number | null
  options: string[]
}

/** At most this many polls in one post, and options in one poll. */
export const MAX_POLLS_PER_POST = 5
export const MAX_OPTIONS = 20
export const MAX_SCALE_STEPS = 21
const MAX_OPTION_LENGTH = 200

/** A block that does not parse: which poll (1-based) and why, said to the author. */
export class PollSyntaxError extends Error {}

const KINDS: readonly PollKind[] = ['single', 'multiple', 'ranked', 'number']
const RESULTS: readonly PollResults[] = ['always', 'voted', 'closed', 'staff']

function integer(value: string, key: string, n: number, lo: number, hi: number): number {
  if (!/^-?\d+$/.test(value)) throw new PollSyntaxError(`Poll ${n}: “${key}” must be a whole number`)
  const v = Number(value)
  if (v < lo || v > hi) throw new PollSyntaxError(`Poll ${n}: “${key}” must be between ${lo} and ${hi}`)
  return v
}

/**
 * Reads one ```poll block. Lines are `key: value` settings (title, type, min, max, results,
 * public, close, min_trust, idea) and `- option` lines (also `* option`, `1. option`). Blank
 * lines are ignored. A number poll needs no options: its scale is min to max.
 */
export function parsePollBlock(content: string, n: number): PollDefinition {
  const settings = new Map<string, string>()
  const options: string[] = []
  for (const raw of content.split('\n')) {
    const line = raw.trim()
    if (!line) continue
    const option = /^(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line)
    if (option) {
      const label = option[1]!.trim()
      if (!label) continue
      if (label.length > MAX_OPTION_LENGTH) throw new PollSyntaxError(`Poll ${n}: options are at most ${MAX_OPTION_LENGTH} characters`)
      options.push(label)
      continue
    }
    const setting = /^([a-z_]+)\s*[:=]\s*(.*)$/i.exec(line)
    if (!setting) throw new PollSyntaxError(`Poll ${n}: “${line.slice(0, 40)}” is neither a setting (key: value) nor an option (- text)`)
    const key = setting[1]!.toLowerCase()
    if (!['title', 'type', 'min', 'max', 'results', 'public', 'close', 'min_trust', 'idea'].includes(key)) {
      throw new PollSyntaxError(`Poll ${n}: unknown setting “${key}” (use title, type, min, max, results, public, close, min_trust, idea)`)
    }
    if (settings.has(key)) throw new PollSyntaxError(`Poll ${n}: “${key}” is set twice`)
    settings.set(key, setting[2]!.trim())
  }

  const kind = (settings.get('type') ?? 'single').toLowerCase() as PollKind
  if (!KINDS.includes(kind)) throw new PollSyntaxError(`Poll ${n}: type must be single, multiple, ranked or number`)
  const results = (settings.get('results') ?? 'always').toLowerCase() as PollResults
  if (!RESULTS.includes(results)) throw new PollSyntaxError(`Poll ${n}: results must be always, voted, closed or staff`)
  const publicValue = (settings.get('public') ?? 'false').toLowerCase()
  if (!['true', 'false', 'yes', 'no'].includes(publicValue)) throw new PollSyntaxError(`Poll ${n}: public must be true or false`)
  const title = settings.get('title') ?? ''
  if (title.length > MAX_OPTION_LENGTH) throw new PollSyntaxError(`Poll ${n}: the title is at most ${MAX_OPTION_LENGTH} characters`)

  let closesAt: Date | null = null
  const close = settings.get('close')
  if (close) {
    // A bare date closes at the end of that day (UTC).
    const parsed = /^\d{4}-\d{2}-\d{2}$/.test(close) ? new Date(`${close}T23:59:59Z`) : new Date(close)
    if (Number.isNaN(parsed.getTime())) throw new PollSyntaxError(`Poll ${n}: close must be a date such as 2026-12-31 or 2026-12-31T18:00Z`)
    closesAt = parsed
  }
  const minTrustLevel = settings.has('min_trust') ? integer(settings.get('min_trust')!, 'min_trust', n, 0, 4) : 0
  const ideaId = settings.has('idea') ? integer(settings.get('idea')!.replace(/^#/, ''), 'idea', n, 1, 2 ** 31 - 1) : null

  let min = 1
  let max = 1
  if (kind === 'number') {
    if (options.length > 0) throw new PollSyntaxError(`Poll ${n}: a number poll takes min and max instead of options`)
    min = settings.has('min') ? integer(settings.get('min')!, 'min', n, -1000, 1000) : 1
    max = settings.has('max') ? integer(settings.get('max')!, 'max', n, -1000, 1000) : 10
    if (max <= min) throw new PollSyntaxError(`Poll ${n}: max must be above min`)
    if (max - min + 1 > MAX_SCALE_STEPS) throw new PollSyntaxError(`Poll ${n}: a scale has at most ${MAX_SCALE_STEPS} steps`)
    for (let v = min; v <= max; v++) options.push(String(v))
  } else {
    if (options.length < 2) throw new PollSyntaxError(`Poll ${n}: give at least two options, one per line starting with “- ”`)
    if (options.length > MAX_OPTIONS) throw new PollSyntaxError(`Poll ${n}: at most ${MAX_OPTIONS} options`)
    const seen = new Set<string>()
    for (const o of options) {
      const k = o.toLowerCase()
      if (seen.has(k)) throw new PollSyntaxError(`Poll ${n}: the option “${o.slice(0, 40)}” appears twice`)
      seen.add(k)
    }
    if (kind === 'multiple') {
      min = settings.has('min') ? integer(settings.get('min')!, 'min', n, 1, options.length) : 1
      max = settings.has('max') ? integer(settings.get('max')!, 'max', n, 1, options.length) : options.length
      if (min > max) throw new PollSyntaxError(`Poll ${n}: min is above max`)
    } else {
      if (settings.has('min') || settings.has('max')) throw new PollSyntaxError(`Poll ${n}: min and max belong to multiple and number polls`)
      // A ranked ballot ranks at least one option and at most all of them.
      max = kind === 'ranked' ? options.length : 1
    }
  }
  return { title, kind, min, max, results, public: publicValue === 'true' || publicValue === 'yes', closesAt, minTrustLevel, ideaId, options }
}

/** Every poll a post's markdown defines, in order. Throws PollSyntaxError naming the poll. */
export function parsePolls(body: string): PollDefinition[] {
  const blocks = fencedBlocks(body, 'poll')
  if (blocks.length > MAX_POLLS_PER_POST) throw new PollSyntaxError(`A post holds at most ${MAX_POLLS_PER_POST} polls`)
  return blocks.map((b, i) => parsePollBlock(b, i + 1))
}

/** What must not change once a poll has votes: its kind and options (their text and order). */
export function pollShape(p: Pick<PollDefinition, 'kind' | 'options' | 'min' | 'max'>): string {
  return JSON.stringify([p.kind, p.kind === 'multiple' ? [] : [p.min, p.max], p.options])
}
