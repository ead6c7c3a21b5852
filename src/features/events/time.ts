import { DateTime, IANAZone } from 'luxon'
import type { EventRecurrence } from '../../core/db-types.js'

/** Is this an IANA time zone name luxon (and so the browser and calendar apps) knows? */
export function isZone(name: string): boolean {
  return name === 'UTC' || IANAZone.isValidZone(name)
}

/**
 * Reads a date-time as a wall clock in `zone` (`2026-03-22T19:00` from a form), or as an
 * instant when it carries an offset or Z (the API's ISO strings). Null when unreadable.
 */
export function readLocal(value: string | Date, zone: string): DateTime | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : DateTime.fromJSDate(value, { zone })
  const text = value.trim()
  const hasOffset = /[zZ]$|[+-]\d\d:?\d\d$/.test(text)
  const dt = hasOffset ? DateTime.fromISO(text, { setZone: true }).setZone(zone) : DateTime.fromISO(text, { zone })
  return dt.isValid ? dt : null
}

/** How many occurrences of a series exist ahead of now (the `events.extend` job tops it up). */
export const SERIES_AHEAD = 8
/** A series never generates more than this many occurrences in total. */
export const SERIES_MAX = 520

/**
 * The start of occurrence `seq` of a series, keeping the wall-clock time in the event's zone
 * across daylight-saving changes (luxon's calendar arithmetic): a weekly 19:00 meetup in
 * Berlin stays at 19:00 local, so its UTC time moves by an hour at the change. Monthly series
 * keep the day of the month, clamped to the month's last day.
 */
export function occurrenceStart(localStart: DateTime, recurrence: EventRecurrence, seq: number): DateTime {
  if (recurrence === 'weekly') return localStart.plus({ weeks: seq })
  if (recurrence === 'monthly') return localStart.plus({ months: seq })
  return localStart
}

/** The first occurrence's start as a zoned DateTime, from the stored wall clock. */
export function seriesStart(localStart: string, zone: string): DateTime {
  return DateTime.fromSQL(localStart, { zone })
}

/** The wall clock of a zoned start as the `local_start` column stores it. */
export function wallClock(dt: DateTime): string {
  return dt.toFormat('yyyy-MM-dd HH:mm:ss')
}

/** A zone the viewer asked for, or UTC. */
export function viewerZone(zone: string | null | undefined): string {
  return zone && isZone(zone) ? zone : 'UTC'
}

/** Times as pages show them in the viewer's zone: "Sun 22 Mar 2026, 19:00 CET". */
export function formatWhen(date: Date, zone: string): string {
  return DateTime.fromJSDate(date, { zone }).toFormat('ccc d LLL yyyy, HH:mm ZZZZ')
}

/** "19:00–21:00" or, over midnight, with the second day. */
export function formatRange(start: Date, end: Date, zone: string): string {
  const a = DateTime.fromJSDate(start, { zone })
  const b = DateTime.fromJSDate(end, { zone })
  const sameDay = a.hasSame(b, 'day')
  return `${a.toFormat('ccc d LLL yyyy, HH:mm')}–${sameDay ? b.toFormat('HH:mm') : b.toFormat('ccc d LLL, HH:mm')} ${b.toFormat('ZZZZ')}`
}

/** A day key `yyyy-MM-dd` of an instant in a zone (month grid cells). */
export function dayKey(date: Date, zone: string): string {
  return DateTime.fromJSDate(date, { zone }).toISODate()!
}

const cache = new Map<string, string>()

/**
 * A VTIMEZONE block for `zone` covering the given years: one STANDARD or DAYLIGHT
 * sub-component per offset change (found with luxon, so the rules are the tz database's),
 * plus the offset in force at the start. Explicit DTSTARTs rather than RRULEs keep it
 * exact for zones whose rules changed.
 */
export function vtimezone(zone: string, fromYear: number, toYear: number): string {
  const key = `${zone}:${fromYear}:${toYear}`
  const hit = cache.get(key)
  if (hit) return hit
  const offsetAt = (ms: number) => DateTime.fromMillis(ms, { zone }).offset
  const fmtOffset = (minutes: number) => {
    const sign = minutes < 0 ? '-' : '+'
    const abs = Math.abs(minutes)
    return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`
  }
  const start = DateTime.fromObject({ year: fromYear, month: 1, day: 1 }, { zone: 'UTC' }).toMillis()
  const end = DateTime.fromObject({ year: toYear + 1, month: 1, day: 1 }, { zone: 'UTC' }).toMillis()
  const lines = ['BEGIN:VTIMEZONE', `TZID:${zone}`]
  const part = (at: number, from: number, to: number) => {
    const dt = DateTime.fromMillis(at, { zone })
    const kind = dt.isInDST ? 'DAYLIGHT' : 'STANDARD'
    const local = DateTime.fromMillis(at + from * 60_000, { zone: 'UTC' }).toFormat("yyyyMMdd'T'HHmmss")
    lines.push(`BEGIN:${kind}`, `DTSTART:${local}`, `TZOFFSETFROM:${fmtOffset(from)}`, `TZOFFSETTO:${fmtOffset(to)}`, `TZNAME:${dt.offsetNameShort ?? fmtOffset(to)}`, `END:${kind}`)
  }
  const initial = offsetAt(start)
  part(start, initial, initial)
  const HOUR = 3_600_000
  let prev = initial
  for (let t = start; t < end; t += 6 * HOUR) {
    const next = offsetAt(t + 6 * HOUR)
    if (next === prev) continue
    // Narrow the change down to the minute.
    let lo = t
    let hi = t + 6 * HOUR
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000
      if (offsetAt(mid) === prev) lo = mid
      else hi = mid
    }
    part(hi, prev, next)
    prev = next
  }
  lines.push('END:VTIMEZONE')
  const block = lines.join('\r\n')
  cache.set(key, block)
  return block
}
