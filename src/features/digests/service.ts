import { sql } from 'kysely'
import type { Config } from '../../config.js'
import type { Db } from '../../core/db.js'
import type { DigestFrequency } from '../../core/db-types.js'
import { type Mailer, stableMessageId } from '../../core/mail.js'
import type { JobQueue } from '../../core/queue.js'
import { type DeliveryResult, deliverOnce, type MailLinks } from '../email/service.js'
import { buildDigestSections, type DigestSection, isEmptyDigest } from './sections.js'

export type ActiveFrequency = Exclude<DigestFrequency, 'never'>

const DAY_MS = 24 * 60 * 60 * 1000
/** Fan-out batch: due members read and enqueued (one addBulk) per round trip. */
export const FAN_OUT_BATCH = 1_000

const LABELS: Record<ActiveFrequency, string> = { daily: 'daily', weekly: 'weekly', monthly: 'monthly' }

/**
 * The period a digest belongs to: at most one digest per member per period key
 * (`d2026-11-22`, ISO week `w2026-47`, `m2026-11`), all in UTC.
 */
export function periodKey(frequency: ActiveFrequency, at: Date): string {
  const iso = at.toISOString()
  if (frequency === 'daily') return `d${iso.slice(0, 10)}`
  if (frequency === 'monthly') return `m${iso.slice(0, 7)}`
  // ISO 8601 week: the week with the year's first Thursday is week 1.
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()))
  const weekday = day.getUTCDay() || 7
  day.setUTCDate(day.getUTCDate() + 4 - weekday)
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1)
  const week = Math.ceil(((day.getTime() - yearStart) / DAY_MS + 1) / 7)
  return `w${day.getUTCFullYear()}-${String(week).padStart(2, '0')}`
}

/** How far back a first digest reaches, and how long a member must be away to get one. */
export function intervalStart(frequency: ActiveFrequency, at: Date): Date {
  if (frequency === 'monthly') {
    const d = new Date(at)
    d.setUTCMonth(d.getUTCMonth() - 1)
    return d
  }
  return new Date(at.getTime() - (frequency === 'daily' ? 1 : 7) * DAY_MS)
}

const intervalSql = sql`(case u.digest_frequency when 'daily' then interval '1 day' when 'weekly' then interval '7 days' else interval '1 month' end)`

/**
 * Members due a digest now, in id order after `afterId`: a digest frequency, a verified,
 * unsuppressed address, not suspended, not seen within their interval, and no digest in
 * this period or within their interval (less an hour, so hourly runs do not drift).
 */
export async function dueMembers(db: Db, now: Date, afterId: number, limit = FAN_OUT_BATCH) {
  const keys = { daily: periodKey('daily', now), weekly: periodKey('weekly', now), monthly: periodKey('monthly', now) }
  const { rows } = await sql<{ id: number; digest_frequency: ActiveFrequency }>`
    select u.id, u.digest_frequency
    from users u
    where u.id > ${afterId}
      and u.digest_frequency <> 'never'
      and u.email_verified_at is not null
      and u.email_suppressed_at is null
      and (u.suspended_until is null or u.suspended_until <= ${now})
      and (u.last_seen_at is null or u.last_seen_at < ${now}::timestamptz - ${intervalSql})
      and not exists (
        select 1 from email_log l
        where l.user_id = u.id and l.kind = 'digest'
          and (l.period_key = (case u.digest_frequency when 'daily' then ${keys.daily} when 'weekly' then ${keys.weekly} else ${keys.monthly} end)
               or l.created_at > ${now}::timestamptz - ${intervalSql} + interval '1 hour')
      )
    order by u.id
    limit ${limit}`.execute(db)
  return rows.map((r) => ({ id: Number(r.id), frequency: r.digest_frequency, periodKey: keys[r.digest_frequency] }))
}

/** The scheduled fan-out: one `mail.digest` job per due member, enqueued in batches with addBulk. */
export async function enqueueDueDigests(db: Db, queue: JobQueue, now = new Date()): Promise<number> {
  let afterId = 0
  let total = 0
  for (;;) {
    const batch = await dueMembers(db, now, afterId)
    if (batch.length === 0) break
    await queue.enqueueBulk(
      'mail.digest',
      batch.map((m) => ({ payload: { userId: m.id, periodKey: m.periodKey }, options: { jobId: `digest-${m.id}-${m.periodKey}` } })),
    )
    total += batch.length
    afterId = batch[batch.length - 1]!.id
  }
  return total
}

/** Only web links survive into mail: site paths become absolute, anything else is dropped. */
function absoluteUrl(baseUrl: string, url: string): string {
  if (url.startsWith('/') && !url.startsWith('//')) return `${baseUrl}${url}`
  return /^https?:\/\//i.test(url) ? url : `${baseUrl}/`
}

export interface DigestDeps {
  db: Db
  config: Config
  mailer: Mailer | null
  mailLinks: MailLinks
}

/**
 * Sends one member's digest for a period, at most once: rechecks that they are still due
 * (they may have unsubscribed since the fan-out), builds the sections since their last
 * digest, skips an empty one, and delivers through the email log.
 */
export async function sendDigest(deps: DigestDeps, userId: number, key: string, now = new Date()): Promise<DeliveryResult | 'not-due'> {
  const { db, config } = deps
  // One round trip: the member, whether this period is done, and when the last digest went out.
  const user = await db
    .selectFrom('users as u')
    .select(['u.id', 'u.username', 'u.display_name', 'u.email', 'u.role', 'u.trust_level', 'u.digest_frequency', 'u.email_verified_at', 'u.email_suppressed_at', 'u.suspended_until'])
    .select((eb) => [
      eb.exists(eb.selectFrom('email_log as l').select('l.id').whereRef('l.user_id', '=', 'u.id').where('l.kind', '=', 'digest').where('l.period_key', '=', key)).as('done'),
      eb.selectFrom('email_log as l').select((e) => e.fn.max('l.created_at').as('at')).whereRef('l.user_id', '=', 'u.id').where('l.kind', '=', 'digest').where('l.status', '=', 'sent').as('last_sent'),
    ])
    .where('u.id', '=', userId)
    .executeTakeFirst()
  if (
    !user ||
    user.digest_frequency === 'never' ||
    !user.email_verified_at ||
    user.email_suppressed_at ||
    (user.suspended_until && user.suspended_until > now) ||
    periodKey(user.digest_frequency, now) !== key
  ) {
    return 'not-due'
  }
  if (user.done) return 'duplicate'
  const frequency = user.digest_frequency
  const since = user.last_sent ? new Date(user.last_sent as unknown as string) : intervalStart(frequency, now)
  const sections = await buildDigestSections({ db, user, since })
  const name = user.display_name ?? user.username
  return deliverOnce(db, deps.mailer, {
    user,
    kind: 'digest',
    periodKey: key,
    messageId: stableMessageId(config, 'digest', user.id, key),
    build: async () =>
      isEmptyDigest(sections)
        ? null
        : {
            to: user.email,
            subject: `Your ${LABELS[frequency]} digest from ${config.communityName}`,
            template: 'digest',
            data: {
              subject: `Your ${LABELS[frequency]} digest`,
              name,
              frequencyLabel: LABELS[frequency],
              sinceText: since.toUTCString().replace(/:\d\d GMT$/, ' UTC'),
              sections: sections.map((s): DigestSection => ({ ...s, items: s.items.map((i) => ({ ...i, url: absoluteUrl(config.baseUrl, i.url) })) })),
            },
            unsubscribeUrl: deps.mailLinks.unsubscribeUrl(user.id, 'digest'),
          },
  })
}
