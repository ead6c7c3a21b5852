import fs from 'node:fs'
import path from 'node:path'
import Handlebars from 'handlebars'
import { avatarUrl } from './avatars.js'
import { paths } from './paths.js'

const relativeTime = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })
const absoluteTime = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })
const steps: [number, Intl.RelativeTimeFormatUnit][] = [
  [60, 'second'],
  [60, 'minute'],
  [24, 'hour'],
  [30, 'day'],
  [12, 'month'],
  [Number.POSITIVE_INFINITY, 'year'],
]

/** Relative phrases already formatted ("3 hours ago"): a long thread page asks for the same few hundreds of times. */
const phrases = new Map<string, string>()

/** "3 hours ago" for a date; the exact time goes in the <time> element's title. */
export function timeAgo(date: Date, now = Date.now()): string {
  let amount = (date.getTime() - now) / 1000
  for (const [size, unit] of steps) {
    if (Math.abs(amount) < size) {
      const n = Math.round(amount)
      const key = unit + n
      let phrase = phrases.get(key)
      if (phrase === undefined) {
        phrase = relativeTime.format(n, unit)
        // Every phrase below a year is at most a few hundred strings; the bound is a guard.
        if (phrases.size < 2_000) phrases.set(key, phrase)
      }
      return phrase
    }
    amount /= size
  }
  return absoluteTime.format(date)
}

/**
 * A page template's own text with every character beyond Latin-1 (♥ › … —) written as a numeric
 * character reference, which the browser shows the same. V8 keeps a string in one byte per
 * character while every character fits, and a page built only from such pieces is encoded for
 * the socket about three times faster than one that a single ♥ made two bytes per character.
 * What is inside `{{ }}` is left alone: its strings are values, escaped where they are used.
 */
export function latin1Source(source: string): string {
  return source
    .split(/(\{\{[\s\S]*?\}\})/)
    .map((part, i) => (i % 2 ? part : part.replace(/[^\u0000-\u00ff]/gu, (ch) => `&#${ch.codePointAt(0)};`)))
    .join('')
}

/**
 * The Handlebars instance every page and mail template renders with; `html` for pages (their
 * text beyond Latin-1 becomes character references, see latin1Source), not for mail's plain text.
 */
export function createHandlebars(options: { html?: boolean } = {}): typeof Handlebars {
  const hbs = Handlebars.create()
  if (options.html) {
    const compile = hbs.compile.bind(hbs)
    hbs.compile = ((input: unknown, compileOptions?: Parameters<typeof Handlebars.compile>[1]) =>
      compile(typeof input === 'string' ? latin1Source(input) : (input as string), compileOptions)) as typeof hbs.compile
  }
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b)
  hbs.registerHelper('not', (a: unknown) => !a)
  hbs.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean))
  hbs.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean))
  hbs.registerHelper('gt', (a: number, b: number) => a > b)
  hbs.registerHelper('inc', (n: number) => Number(n) + 1)
  hbs.registerHelper('count', (n: number) => compactCount(Number(n)))
  // 23,575 and 4.5: thousands separated, a decimal only below 100.
  hbs.registerHelper('figure', (n: unknown) => {
    const v = Number(n)
    return Number.isFinite(v) ? v.toLocaleString('en', { maximumFractionDigits: Math.abs(v) >= 100 ? 0 : 1 }) : String(n ?? '')
  })
  hbs.registerHelper('plural', (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`)
  hbs.registerHelper('time', (value: Date | string | null | undefined) => {
    if (!value) return ''
    const date = value instanceof Date ? value : new Date(value)
    // To the second: the milliseconds only lengthen every post's markup.
    const iso = date.toISOString().replace(/\.\d{3}Z$/, 'Z')
    // No title: the script gives one on hover, in the reader's own zone (static/js/hearth.js), instead of every post carrying one.
    return new hbs.SafeString(`<time datetime="${iso}">${hbs.escapeExpression(timeAgo(date))}</time>`)
  })
  hbs.registerHelper('date', (value: Date | string | null | undefined) =>
    value ? absoluteTime.format(value instanceof Date ? value : new Date(value)) : '',
  )
  hbs.registerHelper('json', (value: unknown) => JSON.stringify(value))
  // {{avatar id username avatarKey 32}}: a member's picture at a CSS size, beside their name (so no alt text).
  // Its size comes from the style sheet (`img.a32`), not width/height attributes: a thread page repeats it per post.
  // The markup is remembered per member and size: a thread page draws the same few authors again and again.
  const avatars = new Map<string, InstanceType<typeof hbs.SafeString>>()
  hbs.registerHelper('avatar', (id: number, username: string, key: string | null | undefined, size: number) => {
    if (typeof id !== 'number' || typeof username !== 'string') return ''
    const px = typeof size === 'number' ? size : 32
    const avatarKey = typeof key === 'string' ? key : null
    const memo = `${id}/${username}/${avatarKey}/${px}`
    let html = avatars.get(memo)
    if (html === undefined) {
      const src = hbs.escapeExpression(avatarUrl({ id, username, avatar_key: avatarKey }, px))
      html = new hbs.SafeString(`<img class="avatar a${px}" src="${src}" alt="" loading="lazy">`)
      if (avatars.size >= 10_000) avatars.delete(avatars.keys().next().value as string)
      avatars.set(memo, html)
    }
    return html
  })
  return hbs
}

/** Every partial in views/partials, by file name, for @fastify/view. */
export function partialFiles(): Record<string, string> {
  const dir = path.join(paths.views, 'partials')
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.hbs'))
      .map((f) => [f.replace(/\.hbs$/, ''), path.join('partials', f)]),
  )
}

/** A count as lists show it: 950, 1.2k, 34k, 1.5M. */
export function compactCount(n: number): string {
  if (!Number.isFinite(n) || n < 1000) return String(n)
  const [value, unit] = n < 1_000_000 ? [n / 1000, 'k'] : [n / 1_000_000, 'M']
  return `${value < 10 ? Math.floor(value * 10) / 10 : Math.floor(value)}${unit}`
}
