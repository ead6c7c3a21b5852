import { Invalid } from './errors.js'

// NUL and unpaired UTF-16 surrogates are the two things a JavaScript string can hold that
// PostgreSQL text, UTF-8 and HTTP headers cannot: PostgreSQL refuses NUL (a 500 deep in a
// query), and a lone surrogate turns into U+FFFD on the way out or makes encodeURIComponent
// throw. No person types either on purpose, so the whole request is refused at the door.
const BAD_TEXT = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** True when a string holds NUL or an unpaired UTF-16 surrogate. */
export function isBadText(value: string): boolean {
  return BAD_TEXT.test(value)
}

/** What a person is told about a field holding such a character. */
export function badTextMessage(value: string): string {
  return value.includes('\u0000') ? 'Text cannot contain NUL characters' : 'Text cannot contain a broken character (an unpaired surrogate)'
}

/**
 * The first field of a parsed input (query string, path parameters, JSON or form body)
 * whose name or text holds NUL or a lone surrogate, as a dotted path (`limits.1`), with its
 * message; null when everything is clean. Walks without recursion: a body may nest
 * 10,000 levels deep and must not overflow the stack.
 */
export function findBadText(input: unknown): { field: string; message: string } | null {
  const stack: [value: unknown, path: string, key: string | null][] = [[input, '', null]]
  while (stack.length > 0) {
    const [value, path, key] = stack.pop()!
    if (key !== null && isBadText(key)) return { field: path.replace(new RegExp(BAD_TEXT, 'g'), '\ufffd'), message: badTextMessage(key) }
    if (typeof value === 'string') {
      if (isBadText(value)) return { field: path || '_', message: badTextMessage(value) }
      continue
    }
    if (value === null || typeof value !== 'object') continue
    // Children go on the stack last to first, so the first bad field in reading order is named.
    const keys = Object.keys(value)
    for (let i = keys.length - 1; i >= 0; i--) {
      const child = keys[i]!
      stack.push([(value as Record<string, unknown>)[child], path ? `${path}.${child}` : child, child])
    }
  }
  return null
}

/** Throws Invalid naming the first field of the input that holds NUL or a lone surrogate. */
export function refuseBadText(input: unknown): void {
  const bad = findBadText(input)
  if (bad) throw Invalid.field(bad.field, bad.message)
}

/**
 * A Location header safe to send: any byte outside printable ASCII percent-encoded as
 * UTF-8 (a lone surrogate as U+FFFD). Node refuses CR, LF and anything beyond Latin-1 in
 * a header with an exception, and a browser would encode the rest the same way.
 */
export function safeLocation(location: string): string {
  if (/^[\x21-\x7e]*$/.test(location)) return location
  return location.replace(/[^\x21-\x7e]+/g, (run) =>
    [...Buffer.from(run, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  )
}
