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
 * A template whose source starts with `{{!-- compact` loses every newline and the indentation
 * after it when compiled: its source stays readable, its pages carry no layout whitespace
 * (a long thread page repeats the post partial hundreds of times). A space that must show is
 * written between two things on one line.
 */
export function compactSource(source: string): string {
  return source.startsWith('{{!-- compact') ? source.replace(/\r?\n[ \t]*/g, '') : source
}

/** The Handlebars instance every page and mail template renders with. */
export function createHandlebars(): typeof Handlebars {
  const hbs = Handlebars.create()
  const compile = hbs.compile.bind(hbs)
  hbs.compile = ((input: unknown, options?: Parameters<typeof Handlebars.compile>[1]) => compile(typeof input === 'string' ? compactSource(input) : (input as string), options)) as typeof hbs.compile
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
    const iso = date.toISOString()
    // The title is built from the ISO string: Intl formatting per post is the costliest part of a long thread page.
    return new hbs.SafeString(`<time datetime="${iso}" title="${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC">${hbs.escapeExpression(timeAgo(date))}</time>`)
  })
  hbs.registerHelper('date', (value: Date | string | null | undefined) =>
    value ? absoluteTime.format(value instanceof Date ? value : new Date(value)) : '',
  )
  hbs.registerHelper('json', (value: unknown) => JSON.stringify(value))
  // {{avatar id username avatarKey 32}}: a member's picture at a CSS size, beside their name (so no alt text).
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
      html = new hbs.SafeString(`<img class="avatar" src="${src}" alt="" width="${px}" height="${px}" loading="lazy">`)
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
