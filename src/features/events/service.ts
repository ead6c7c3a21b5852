import { createHash, randomBytes } from 'node:crypto'
import ical, { ICalCalendarMethod, ICalEventStatus } from 'ical-generator'
import { sql } from 'kysely'
import { DateTime } from 'luxon'
import { z } from 'zod'
import type { SessionUser } from '../../core/auth/sessions.js'
import { canSeeCategory, ensure, can, type GuardUser, type Viewer as GuardViewer } from '../../core/guard.js'
import type { Db, DbOrTrx, Trx } from '../../core/db.js'
import type { RsvpStatus } from '../../core/db-types.js'
import { Conflict, Invalid, NotFound, parse } from '../../core/errors.js'
import type { Outbox } from '../../core/outbox.js'
import type { JobQueue } from '../../core/queue.js'
import { renderMarkdown } from '../../core/markdown.js'
import type { CommunitySettings } from '../../core/settings.js'
import type { Category, CategoryService } from '../discussions/categories.js'
import type { DiscussionService } from '../discussions/service.js'
import { logStaffAction } from '../moderation/log.js'
import type { NewNotification, NotificationService } from '../notifications/service.js'
import { answersSchema, CancelBody, EventInput, Question, RatingBody, RSVP_LABELS, RsvpBody, TimeZoneBody } from './schemas.js'
import { dayKey, formatRange, formatWhen, isZone, occurrenceStart, readLocal, SERIES_AHEAD, SERIES_MAX, seriesStart, viewerZone, vtimezone, wallClock } from './time.js'

type Member = GuardUser & Pick<SessionUser, 'username'>
type Viewer = Member | null

const Questions = z.array(Question)
/** Members on one page of the check-in list. */
const CHECK_IN_PAGE = 500
/** Reminders and recaps are claimed and notified this many members per transaction. */
const FANOUT_BATCH = 250

/** A member's answer for one date, as pages and the API show it. */
export interface RsvpState {
  status: RsvpStatus
  statusLabel: string
  guests: number
  position?: number
}

const eventColumns = [
  'e.id', 'e.category_id', 'e.thread_id', 'e.title', 'e.description_md', 'e.description_html', 'e.time_zone', 'e.local_start',
  'e.duration_minutes', 'e.recurrence', 'e.repeat_until', 'e.address', 'e.online_url', 'e.capacity', 'e.max_guests',
  'e.rsvp_close_minutes', 'e.reminder_minutes', 'e.questions', 'e.created_by', 'e.cancelled_at', 'e.created_at',
] as const

type EventRow = {
  id: number
  category_id: number
  thread_id: number | null
  title: string
  description_md: string
  description_html: string
  time_zone: string
  local_start: string
  duration_minutes: number
  recurrence: 'none' | 'weekly' | 'monthly'
  repeat_until: Date | null
  address: string | null
  online_url: string | null
  capacity: number | null
  max_guests: number
  rsvp_close_minutes: number | null
  reminder_minutes: number[]
  questions: unknown
  created_by: number | null
  cancelled_at: Date | null
  created_at: Date
}

type OccurrenceRow = {
  id: number
  event_id: number
  seq: number
  starts_at: Date
  ends_at: Date
  rsvp_closes_at: Date | null
  capacity: number | null
  seats_taken: number
  waitlist_length: number
  cancelled_at: Date | null
}

const occurrenceColumns = ['id', 'event_id', 'seq', 'starts_at', 'ends_at', 'rsvp_closes_at', 'capacity', 'seats_taken', 'waitlist_length', 'cancelled_at'] as const

function state(row: { status: RsvpStatus; guests: number; waitlist_position: number | null }): RsvpState {
  return { status: row.status, statusLabel: RSVP_LABELS[row.status], guests: row.guests, ...(row.waitlist_position ? { position: row.waitlist_position } : {}) }
}

/** The SHA-256 digest stored for a private calendar secret. */
export function calendarDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

/** What the form gave, resolved against the zone: the first occurrence and the series rules. */
interface Schedule {
  start: DateTime
  durationMinutes: number
  rsvpCloseMinutes: number | null
}

function schedule(input: EventInput): Schedule {
  // Events start on the minute: seconds would only make reminders and calendars odd.
  const start = readLocal(input.startsAt, input.timeZone)?.startOf('minute')
  if (!start) throw Invalid.field('startsAt', 'Give the start as a date and time')
  const end = readLocal(input.endsAt, input.timeZone)?.startOf('minute')
  if (!end) throw Invalid.field('endsAt', 'Give the end as a date and time')
  const durationMinutes = Math.round(end.diff(start, 'minutes').minutes)
  if (durationMinutes < 1) throw Invalid.field('endsAt', 'The event must end after it starts')
  if (durationMinutes > 14 * 24 * 60) throw Invalid.field('endsAt', 'Events last at most 14 days')
  let rsvpCloseMinutes: number | null = null
  if (input.rsvpDeadline !== undefined) {
    const deadline = readLocal(input.rsvpDeadline, input.timeZone)
    if (!deadline) throw Invalid.field('rsvpDeadline', 'Give the RSVP deadline as a date and time')
    rsvpCloseMinutes = Math.round(start.diff(deadline, 'minutes').minutes)
    if (rsvpCloseMinutes < 0) throw Invalid.field('rsvpDeadline', 'RSVPs must close before the event starts')
  }
  return { start, durationMinutes, rsvpCloseMinutes }
}

/** An event's row as its form or API input and its schedule give it (creating and editing alike). */
function eventRow(input: EventInput, plan: Schedule, categoryId: number) {
  return {
    category_id: categoryId,
    title: input.title,
    description_md: input.body,
    description_html: renderMarkdown(input.body).html,
    time_zone: input.timeZone,
    local_start: wallClock(plan.start),
    duration_minutes: plan.durationMinutes,
    recurrence: input.recurrence,
    repeat_until: input.repeatUntil ?? null,
    address: input.location ?? null,
    online_url: input.onlineUrl ?? null,
    capacity: input.capacity ?? null,
    max_guests: input.maxGuests,
    rsvp_close_minutes: plan.rsvpCloseMinutes,
    questions: JSON.stringify(input.questions),
  }
}

/**
 * Events and meetups: staff and category moderators create them in a category, whose
 * visibility they inherit; members RSVP per occurrence. Seats are counted on the
 * occurrence row, which every RSVP, withdrawal and capacity change locks (a check
 * constraint besides), so a seat is never given twice and the waitlist stays gapless,
 * exactly as beta sign-ups. Reminders and recaps go out once per (occurrence, member,
 * kind) through the `event_deliveries` ledger, claimed in the notification's transaction.
 */
export class EventService {
  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox,
    private readonly notifications: NotificationService,
    private readonly categories: CategoryService,
    private readonly discussions: DiscussionService,
    private readonly settings: CommunitySettings,
  ) {}

  // ── access ────────────────────────────────────────────────────────────────────

  private async viewerFor(user: Viewer): Promise<GuardViewer> {
    return this.categories.viewer(user as SessionUser | null)
  }

  /** The category of an event if the viewer may see it; otherwise the event does not exist for them. */
  private async visibleCategory(viewer: GuardViewer, categoryId: number): Promise<Category> {
    const all = await this.categories.all()
    const category = all.find((c) => c.id === categoryId)
    const parent = category?.parent_id ? all.find((c) => c.id === category.parent_id) : null
    if (!category || !canSeeCategory(viewer, category, parent)) throw new NotFound('No such event')
    return category
  }


  /** Loads an event the viewer may see (404 otherwise), with its category and hosts. */
  private async load(id: number, user: Viewer) {
    // The event with its hosts in one round trip.
    const row = (await this.db
      .selectFrom('events as e')
      .select(eventColumns)
      .select(sql<number[]>`array(select h.user_id from event_hosts h where h.event_id = e.id)`.as('host_ids'))
      .where('e.id', '=', id)
      .executeTakeFirst()) as (EventRow & { host_ids: (number | string)[] }) | undefined
    if (!row) throw new NotFound('No such event')
    const viewer = await this.viewerFor(user)
    const category = await this.visibleCategory(viewer, row.category_id)
    const hostIds = row.host_ids.map(Number)
    const canManage = can(viewer, 'manageEvent', { categoryId: row.category_id, hostIds })
    return { row, viewer, category, hostIds, canManage }
  }

  private async resolveHosts(trx: DbOrTrx, names: string[]): Promise<number[]> {
    if (names.length === 0) return []
    const rows = await trx
      .selectFrom('users')
      .select(['id', 'username'])
      .where(sql<boolean>`lower(username) in (${sql.join(names.map((n) => n.toLowerCase()))})`)
      .where('deleted_at', 'is', null)
      .execute()
    const found = new Set(rows.map((r) => r.username.toLowerCase()))
    const missing = names.find((n) => !found.has(n.toLowerCase()))
    if (missing) throw Invalid.field('hosts', `No member is called @${missing}`)
    return rows.map((r) => r.id)
  }

  // ── creating and editing ──────────────────────────────────────────────────────

  /** Creates an event (staff and the category's moderators), its first occurrences and its discussion thread. */
  async create(actor: Member, raw: unknown) {
    const input = parse(EventInput, raw)
    const viewer = await this.viewerFor(actor)
    const category = await this.categories.byId(viewer, input.categoryId).catch(() => {
      throw Invalid.field('categoryId', 'Choose a category you can see')
    })
    ensure(viewer, 'createEvent', { categoryId: category.id }, { settings: await this.settings.all() })
    const plan = schedule(input)
    const id = await this.db.transaction().execute(async (trx) => {
      const hosts = await this.resolveHosts(trx, input.hosts)
      const row = await trx
        .insertInto('events')
        .values({
          ...eventRow(input, plan, category.id),
          ...(input.reminders ? { reminder_minutes: input.reminders } : {}),
          created_by: actor.id,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      await trx
        .insertInto('event_hosts')
        .values([...new Set([actor.id, ...hosts])].map((userId) => ({ event_id: row.id, user_id: userId })))
        .execute()
      const threadId = await this.discussions.createLinkedThread(trx, {
        categorySlug: category.slug,
        authorId: actor.id,
        title: input.title,
        body: `Talk about the event [${input.title.replace(/[[\]]/g, '')}](/events/${row.id}) here: questions before, photos and the recap after.`,
      })
      await trx.updateTable('events').set({ thread_id: threadId }).where('id', '=', row.id).execute()
      await trx.insertInto('thread_notification_levels').values({ user_id: actor.id, thread_id: threadId, level: 'watching', reason: 'created' }).execute()
      await this.extend(trx, row.id)
      return row.id
    })
    return this.get(id, actor)
  }

  /**
   * Generates the occurrences a series lacks: up to SERIES_AHEAD ahead of now (one for a
   * one-off), never past `repeat_until` or SERIES_MAX in all. Idempotent (unique seq).
   */
  async extend(trx: DbOrTrx, eventId: number): Promise<number> {
    const event = (await trx.selectFrom('events as e').select(eventColumns).where('e.id', '=', eventId).executeTakeFirst()) as EventRow | undefined
    if (!event || event.cancelled_at) return 0
    const existing = await trx
      .selectFrom('event_occurrences')
      .select([(eb) => eb.fn.max('seq').as('last'), sql<number>`count(*) filter (where starts_at > now())::int`.as('ahead')])
      .where('event_id', '=', eventId)
      .executeTakeFirstOrThrow()
    const last = existing.last === null ? -1 : Number(existing.last)
    const first = seriesStart(event.local_start, event.time_zone)
    const until = event.repeat_until ? DateTime.fromJSDate(event.repeat_until, { zone: 'UTC' }).toISODate() : null
    const rows = []
    const limit = event.recurrence === 'none' ? 1 : SERIES_MAX
    let ahead = existing.ahead
    for (let seq = last + 1; seq < limit && (seq === 0 || (event.recurrence !== 'none' && ahead < SERIES_AHEAD)); seq++) {
      const start = occurrenceStart(first, event.recurrence, seq)
      if (seq > 0 && until && start.toISODate()! > until) break
      const startsAt = start.toJSDate()
      if (startsAt > new Date()) ahead++
      rows.push({
        event_id: eventId,
        seq,
        starts_at: startsAt,
        ends_at: start.plus({ minutes: event.duration_minutes }).toJSDate(),
        rsvp_closes_at: event.rsvp_close_minutes === null ? null : start.minus({ minutes: event.rsvp_close_minutes }).toJSDate(),
        capacity: event.capacity,
      })
    }
    if (rows.length === 0) return 0
    const added = await trx.insertInto('event_occurrences').values(rows).onConflict((oc) => oc.columns(['event_id', 'seq']).doNothing()).returning('id').execute()
    return added.length
  }

  /** Tops up every running series (the hourly `events.extend` job). */
  async extendAll(): Promise<number> {
    const series = await this.db.selectFrom('events').select('id').where('recurrence', '!=', 'none').where('cancelled_at', 'is', null).execute()
    let added = 0
    for (const s of series) added += await this.extend(this.db, s.id)
    return added
  }

  /**
   * Edits an event (staff, category moderators, hosts). Occurrences that have not started
   * move with a new time (keeping their wall clock in the zone) and the people who answered
   * them are told; capacity never drops below the seats taken at any of them, and raising it
   * gives the new seats to the waitlist in order. Reminders of a moved date go out again.
   */
  async update(actor: Member, id: number, raw: unknown) {
    const { row, viewer, hostIds } = await this.load(id, actor)
    ensure(viewer, 'manageEvent', { categoryId: row.category_id, hostIds }, { settings: await this.settings.all() })
    if (row.cancelled_at) throw new Conflict('This event was cancelled')
    const given = Object.fromEntries(Object.entries(raw && typeof raw === 'object' ? raw : {}).filter(([, v]) => v !== undefined))
    const first = seriesStart(row.local_start, row.time_zone)
    const input = parse(EventInput, {
      title: row.title,
      body: row.description_md,
      categoryId: row.category_id,
      timeZone: row.time_zone,
      startsAt: first.toISO({ includeOffset: false, suppressMilliseconds: true }),
      endsAt: first.plus({ minutes: row.duration_minutes }).toISO({ includeOffset: false, suppressMilliseconds: true }),
      location: row.address,
      onlineUrl: row.online_url,
      capacity: row.capacity,
      maxGuests: row.max_guests,
      rsvpDeadline: row.rsvp_close_minutes === null ? null : first.minus({ minutes: row.rsvp_close_minutes }).toISO({ includeOffset: false, suppressMilliseconds: true }),
      reminders: row.reminder_minutes,
      recurrence: row.recurrence,
      repeatUntil: row.repeat_until ? DateTime.fromJSDate(row.repeat_until, { zone: 'UTC' }).toISODate() : null,
      questions: row.questions,
      hosts: [],
      ...given,
    })
    if (input.categoryId !== row.category_id) {
      const target = await this.categories.byId(viewer, input.categoryId).catch(() => {
        throw Invalid.field('categoryId', 'Choose a category you can see')
      })
      ensure(viewer, 'createEvent', { categoryId: target.id })
    }
    const plan = schedule(input)
    const moved: { occurrenceId: number; startsAt: Date }[] = []
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('events')
        .set({ ...eventRow(input, plan, input.categoryId), reminder_minutes: input.reminders ?? [1440, 60] })
        .where('id', '=', id)
        .execute()
      if ('hosts' in given) {
        const hosts = await this.resolveHosts(trx, input.hosts)
        await trx.deleteFrom('event_hosts').where('event_id', '=', id).where('user_id', 'not in', [actor.id, ...hosts]).execute()
        await trx
          .insertInto('event_hosts')
          .values([...new Set([...hostIds.filter((h) => h === actor.id), ...hosts, ...(hostIds.length ? [] : [actor.id])])].map((u) => ({ event_id: id, user_id: u })))
          .onConflict((oc) => oc.doNothing())
          .execute()
      }
      const future = await trx
        .selectFrom('event_occurrences')
        .select(occurrenceColumns)
        .where('event_id', '=', id)
        .where('starts_at', '>', new Date())
        .orderBy('seq')
        .forUpdate()
        .execute()
      for (const occ of future) {
        if (input.capacity !== undefined && occ.seats_taken > input.capacity) {
          throw Invalid.field('capacity', `${occ.seats_taken} seats are already taken on ${formatWhen(occ.starts_at, input.timeZone)}: capacity cannot go below that.`)
        }
        const start = occurrenceStart(plan.start, input.recurrence, occ.seq)
        const startsAt = start.toJSDate()
        await trx
          .updateTable('event_occurrences')
          .set({
            starts_at: startsAt,
            ends_at: start.plus({ minutes: plan.durationMinutes }).toJSDate(),
            rsvp_closes_at: plan.rsvpCloseMinutes === null ? null : start.minus({ minutes: plan.rsvpCloseMinutes }).toJSDate(),
            capacity: input.capacity ?? null,
          })
          .where('id', '=', occ.id)
          .execute()
        if (startsAt.getTime() !== occ.starts_at.getTime()) {
          moved.push({ occurrenceId: occ.id, startsAt })
          // The reminders of a moved date go out again, for its new time.
          await trx.deleteFrom('event_deliveries').where('occurrence_id', '=', occ.id).where('kind', 'like', 'reminder:%').execute()
        }
        const locked = { ...occ, capacity: input.capacity ?? null, event_id: id }
        await this.promote(trx, locked, input.title)
        await this.seatsChanged(trx, id, occ.id)
      }
      for (const m of moved) {
        await this.tellAnswered(trx, m.occurrenceId, actor.id, (userId) => ({
          userId,
          kind: 'event.changed',
          actorId: actor.id,
          url: `/events/${id}?date=${m.occurrenceId}`,
          text: `"${input.title}" moved: it now starts ${formatWhen(m.startsAt, input.timeZone)}.`,
          payload: { eventId: id, occurrenceId: m.occurrenceId },
        }))
      }
      await this.extend(trx, id)
      // Staff and category moderators changing an event they do not host is a staff action.
      if (!hostIds.includes(actor.id)) {
        await logStaffAction(trx, { actorId: actor.id, action: 'event.edit', target: { type: 'event', id }, categoryId: input.categoryId, details: { moved: moved.length } })
      }
    })
    return { ...(await this.get(id, actor)), moved: moved.length }
  }

  /** Cancels an event (or one date of a series); everyone who answered is told. */
  async cancel(actor: Member, id: number, raw: unknown, occurrenceId?: number) {
    const { row, viewer, hostIds } = await this.load(id, actor)
    ensure(viewer, 'manageEvent', { categoryId: row.category_id, hostIds })
    const input = parse(CancelBody, raw ?? {})
    await this.db.transaction().execute(async (trx) => {
      let q = trx.updateTable('event_occurrences').set({ cancelled_at: sql<Date>`now()` as unknown as Date }).where('event_id', '=', id).where('cancelled_at', 'is', null).where('ends_at', '>', new Date())
      if (occurrenceId) q = q.where('id', '=', occurrenceId)
      const cancelled = await q.returning(['id', 'starts_at']).execute()
      if (!occurrenceId) await trx.updateTable('events').set({ cancelled_at: sql<Date>`now()` as unknown as Date }).where('id', '=', id).execute()
      if (!hostIds.includes(actor.id)) {
        await logStaffAction(trx, { actorId: actor.id, action: 'event.cancel', target: { type: 'event', id }, categoryId: row.category_id, reason: input.reason, details: { occurrenceId: occurrenceId ?? null } })
      }
      for (const occ of cancelled) {
        await this.tellAnswered(trx, occ.id, actor.id, (userId) => ({
          userId,
          kind: 'event.cancelled',
          actorId: actor.id,
          url: `/events/${id}?date=${occ.id}`,
          text: `"${row.title}" on ${formatWhen(occ.starts_at, row.time_zone)} is cancelled.${input.reason ? ` ${input.reason}` : ''}`,
          payload: { eventId: id, occurrenceId: occ.id },
        }))
        await this.seatsChanged(trx, id, occ.id)
      }
    })
    return this.get(id, actor)
  }

  /** Tells everyone who answered going, waitlisted or interested for a date. */
  private async tellAnswered(trx: Trx, occurrenceId: number, actorId: number, notice: (userId: number) => NewNotification): Promise<void> {
    const people = await trx
      .selectFrom('event_rsvps')
      .select('user_id')
      .where('occurrence_id', '=', occurrenceId)
      .where('status', 'in', ['going', 'waitlisted', 'interested'])
      .where('user_id', '!=', actorId)
      .execute()
    for (let i = 0; i < people.length; i += FANOUT_BATCH) {
      await this.notifications.create(trx, people.slice(i, i + FANOUT_BATCH).map((p) => notice(p.user_id)))
    }
  }

  // ── reading ───────────────────────────────────────────────────────────────────

  /**
   * Occurrences the viewer may see, upcoming (soonest first) or past (latest first),
   * optionally in one category (by slug), at most `limit`.
   */
  async list(user: Viewer, options: { when?: 'upcoming' | 'past'; categorySlug?: string; limit?: number; from?: Date; to?: Date; zone?: string; withoutCancelled?: boolean } = {}) {
    const viewer = await this.viewerFor(user)
    let visible = await this.categories.visible(viewer)
    if (options.categorySlug) {
      visible = visible.filter((c) => c.slug === options.categorySlug || c.parent_id === visible.find((p) => p.slug === options.categorySlug)?.id)
      if (visible.length === 0) throw new NotFound('No such category')
    }
    const zone = viewerZone(options.zone)
    const byId = new Map(visible.map((c) => [c.id, c]))
    const when = options.when ?? 'upcoming'
    let q = this.db
      .selectFrom('event_occurrences as o')
      .innerJoin('events as e', 'e.id', 'o.event_id')
      .select(['o.id as occurrence_id', 'o.starts_at', 'o.ends_at', 'o.capacity', 'o.seats_taken', 'o.waitlist_length', 'o.cancelled_at', 'e.id', 'e.title', 'e.category_id', 'e.address', 'e.online_url', 'e.time_zone', 'e.recurrence'])
      .where('e.category_id', 'in', visible.length ? visible.map((c) => c.id) : [0])
      .limit(options.limit ?? 50)
    if (options.withoutCancelled) q = q.where('o.cancelled_at', 'is', null)
    if (options.from && options.to) q = q.where('o.starts_at', '>=', options.from).where('o.starts_at', '<', options.to).orderBy('o.starts_at')
    else if (when === 'upcoming') q = q.where('o.ends_at', '>', new Date()).orderBy('o.starts_at')
    else q = q.where('o.ends_at', '<=', new Date()).orderBy('o.starts_at', 'desc')
    const rows = await q.execute()
    return rows.map((r) => ({
      id: r.id,
      occurrenceId: r.occurrence_id,
      title: r.title,
      url: `/events/${r.id}?date=${r.occurrence_id}`,
      startsAt: r.starts_at,
      endsAt: r.ends_at,
      when: formatRange(r.starts_at, r.ends_at, zone),
      day: dayKey(r.starts_at, zone),
      dayLabel: DateTime.fromJSDate(r.starts_at, { zone }).toFormat('ccc d LLL'),
      startsIso: r.starts_at.toISOString(),
      clock: DateTime.fromJSDate(r.starts_at, { zone }).toFormat('HH:mm'),
      capacity: r.capacity,
      seatsLeft: r.capacity === null ? null : r.capacity - r.seats_taken,
      waitlisted: r.waitlist_length,
      cancelled: r.cancelled_at !== null,
      online: r.online_url !== null,
      place: r.address,
      recurring: r.recurrence !== 'none',
      category: { id: r.category_id, name: byId.get(r.category_id)?.name ?? '', slug: byId.get(r.category_id)?.slug ?? '' },
    }))
  }

  /** A month grid (Monday first) of the viewer's visible occurrences, in their zone. */
  async month(user: Viewer, month: string | undefined, zone: string, categorySlug?: string) {
    const z = viewerZone(zone)
    const start = (month ? DateTime.fromFormat(month, 'yyyy-MM', { zone: z }) : DateTime.now().setZone(z)).startOf('month')
    if (!start.isValid || start.year < 1970 || start.year > 2200) throw Invalid.field('month', 'Give the month as YYYY-MM')
    const gridStart = start.startOf('week')
    const gridEnd = start.endOf('month').endOf('week').plus({ milliseconds: 1 })
    const items = await this.list(user, { from: gridStart.toJSDate(), to: gridEnd.toJSDate(), categorySlug, zone: z, limit: 500 })
    const today = DateTime.now().setZone(z).toISODate()
    const weeks = []
    for (let w = gridStart; w < gridEnd; w = w.plus({ weeks: 1 })) {
      const days = []
      for (let d = 0; d < 7; d++) {
        const day = w.plus({ days: d })
        const key = day.toISODate()!
        days.push({ key, day: day.day, label: day.toFormat('cccc d LLLL'), inMonth: day.month === start.month, today: key === today, events: items.filter((i) => i.day === key) })
      }
      weeks.push({ days })
    }
    return {
      label: start.toFormat('LLLL yyyy'),
      month: start.toFormat('yyyy-MM'),
      prev: start.minus({ months: 1 }).toFormat('yyyy-MM'),
      next: start.plus({ months: 1 }).toFormat('yyyy-MM'),
      weeks,
      items,
    }
  }

  /**
   * One event for the viewer (404 when its category is hidden from them): the chosen date
   * (or the next one), all its dates, the viewer's answer, and whether they may manage it.
   * The online link shows to the people going and the hosts until the date starts.
   */
  async get(id: number, user: Viewer, options: { occurrenceId?: number; zone?: string } = {}) {
    const { row, category, hostIds, canManage } = await this.load(id, user)
    const zone = viewerZone(options.zone)
    const occurrences = (await this.db
      .selectFrom('event_occurrences')
      .select(occurrenceColumns)
      .where('event_id', '=', id)
      .orderBy('seq')
      .execute()) as OccurrenceRow[]
    const now = new Date()
    const chosen =
      (options.occurrenceId ? occurrences.find((o) => o.id === options.occurrenceId) : undefined) ??
      occurrences.find((o) => o.ends_at > now && !o.cancelled_at) ??
      occurrences.find((o) => o.ends_at > now) ??
      occurrences[occurrences.length - 1]
    if (options.occurrenceId && chosen?.id !== options.occurrenceId) throw new NotFound('No such date for this event')
    const mine = user && chosen
      ? await this.db.selectFrom('event_rsvps').select(['status', 'guests', 'waitlist_position', 'rating', 'checked_in_at']).where('occurrence_id', '=', chosen.id).where('user_id', '=', user.id).executeTakeFirst()
      : undefined
    const hosts = hostIds.length ? await this.db.selectFrom('users').select(['id', 'username', 'display_name', 'avatar_key']).where('id', 'in', hostIds).orderBy('username').execute() : []
    const going = chosen
      ? await this.db
          .selectFrom('event_rsvps as r')
          .innerJoin('users as u', 'u.id', 'r.user_id')
          .select(['u.id', 'u.username', 'u.avatar_key', 'r.guests'])
          .where('r.occurrence_id', '=', chosen.id)
          .where('r.status', '=', 'going')
          .orderBy('r.created_at')
          .limit(24)
          .execute()
      : []
    const attending = mine?.status === 'going'
    const started = chosen ? chosen.starts_at <= now : false
    const ended = chosen ? chosen.ends_at <= now : false
    const rsvpClosed = !chosen || started || !!chosen.cancelled_at || !!row.cancelled_at || (chosen.rsvp_closes_at !== null && chosen.rsvp_closes_at <= now)
    const seatsLeft = chosen && chosen.capacity !== null ? chosen.capacity - chosen.seats_taken : null
    return {
      id: row.id,
      title: row.title,
      url: `/events/${row.id}`,
      descriptionHtml: row.description_html,
      descriptionMd: row.description_md,
      category: { id: category.id, name: category.name, slug: category.slug },
      threadId: row.thread_id,
      timeZone: row.time_zone,
      viewerZone: zone,
      recurrence: row.recurrence,
      repeatUntil: row.repeat_until ? DateTime.fromJSDate(row.repeat_until, { zone: 'UTC' }).toISODate() : null,
      capacity: row.capacity,
      maxGuests: row.max_guests,
      reminders: row.reminder_minutes,
      questions: Questions.parse(row.questions),
      location: row.address,
      online: row.online_url !== null,
      onlineUrl: row.online_url !== null && (attending || canManage || started) ? row.online_url : null,
      cancelled: row.cancelled_at !== null,
      hosts: hosts.map((h) => ({ id: h.id, username: h.username, displayName: h.display_name, avatarKey: h.avatar_key })),
      canManage,
      occurrence: chosen
        ? {
            id: chosen.id,
            startsAt: chosen.starts_at,
            startsIso: chosen.starts_at.toISOString(),
            endsAt: chosen.ends_at,
            when: formatRange(chosen.starts_at, chosen.ends_at, zone),
            localWhen: zone === row.time_zone ? null : formatRange(chosen.starts_at, chosen.ends_at, row.time_zone),
            rsvpClosesAt: chosen.rsvp_closes_at,
            rsvpCloses: chosen.rsvp_closes_at ? formatWhen(chosen.rsvp_closes_at, zone) : null,
            capacity: chosen.capacity,
            seatsLeft,
            going: chosen.seats_taken,
            waitlisted: chosen.waitlist_length,
            cancelled: chosen.cancelled_at !== null,
            started,
            ended,
            rsvpOpen: !rsvpClosed,
            full: seatsLeft !== null && (seatsLeft <= 0 || chosen.waitlist_length > 0),
          }
        : null,
      dates: occurrences.map((o) => ({
        id: o.id,
        when: DateTime.fromJSDate(o.starts_at, { zone }).toFormat('ccc d LLL, HH:mm'),
        startsAt: o.starts_at,
        past: o.ends_at <= now,
        cancelled: o.cancelled_at !== null,
        selected: o.id === chosen?.id,
        seatsLeft: o.capacity === null ? null : o.capacity - o.seats_taken,
      })),
      goingList: going.map((g) => ({ id: g.id, username: g.username, avatarKey: g.avatar_key, guests: g.guests })),
      mine: mine ? { ...state(mine), rating: mine.rating, checkedIn: mine.checked_in_at !== null } : null,
      canRate: !!mine && mine.status === 'going' && ended && !chosen?.cancelled_at,
    }
  }

  /** The first date's times as the edit form shows them: wall clocks in the event's zone. */
  async formTimes(id: number) {
    const row = await this.db.selectFrom('events').select(['local_start', 'time_zone', 'duration_minutes', 'rsvp_close_minutes']).where('id', '=', id).executeTakeFirstOrThrow()
    const first = seriesStart(row.local_start, row.time_zone)
    const field = (d: DateTime) => d.toFormat("yyyy-MM-dd'T'HH:mm")
    return {
      startsAt: field(first),
      endsAt: field(first.plus({ minutes: row.duration_minutes })),
      rsvpDeadline: row.rsvp_close_minutes === null ? '' : field(first.minus({ minutes: row.rsvp_close_minutes })),
    }
  }

  /** Upcoming occurrences for the home page (a small list; one query for the events). */
  async upcoming(user: Viewer, limit = 3, zone?: string) {
    return this.list(user, { when: 'upcoming', limit, zone, withoutCancelled: true })
  }

  // ── RSVP ──────────────────────────────────────────────────────────────────────

  private async lock(trx: Trx, occurrenceId: number): Promise<OccurrenceRow> {
    const row = await trx.selectFrom('event_occurrences').select(occurrenceColumns).where('id', '=', occurrenceId).forUpdate().executeTakeFirst()
    if (!row) throw new NotFound('No such date for this event')
    return row as OccurrenceRow
  }

  /**
   * Answers going, interested or not going for one date (the next one unless
   * `occurrenceId` says otherwise). Going takes 1 + guests seats while they last and the
   * waitlist is empty; after that the member joins the end of the waitlist. Leaving the
   * going list frees the seats for the waitlist, in order, in the same transaction. All of
   * it under the occurrence row's lock. Asking the same again changes nothing.
   */
  async rsvp(user: Member, id: number, raw: unknown): Promise<RsvpState & { occurrenceId: number; changed: boolean }> {
    const input = parse(RsvpBody, raw)
    const { row, viewer } = await this.load(id, user)
    ensure(viewer, 'rsvp', undefined, { settings: await this.settings.all() })
    if (row.cancelled_at) throw new Conflict('This event was cancelled')
    if (input.guests > row.max_guests) {
      throw Invalid.field('guests', row.max_guests === 0 ? 'This event takes no guests' : `Bring at most ${row.max_guests} ${row.max_guests === 1 ? 'guest' : 'guests'}`)
    }
    const answers = input.status === 'going' ? parse(z.object({ answers: answersSchema(Questions.parse(row.questions)) }), { answers: input.answers }).answers : {}

    return this.db.transaction().execute(async (trx) => {
      // Lock the date (the one named, or the next). The member's answer is read after the lock,
      // in a statement of its own: a join here would see it as it was before waiting, and a
      // withdrawal committed meanwhile may have moved their place in line.
      const locked = await trx
        .selectFrom('event_occurrences as o')
        .select(occurrenceColumns.map((c) => `o.${c}` as const))
        .where('o.event_id', '=', id)
        .$if(input.occurrenceId !== undefined, (q) => q.where('o.id', '=', input.occurrenceId!))
        .$if(input.occurrenceId === undefined, (q) => q.where('o.starts_at', '>', new Date()).where('o.cancelled_at', 'is', null).orderBy('o.starts_at').limit(1))
        .forUpdate()
        .executeTakeFirst()
      if (!locked) {
        if (input.occurrenceId !== undefined) throw new NotFound('No such date for this event')
        throw new Conflict('This event has no upcoming date')
      }
      const occ = locked as OccurrenceRow
      const now = new Date()
      const mine = await trx
        .selectFrom('event_rsvps')
        .select(['id', 'status', 'guests', 'waitlist_position'])
        .where('occurrence_id', '=', occ.id)
        .where('user_id', '=', user.id)
        .executeTakeFirst()
      const same = mine && (mine.status === input.status || (mine.status === 'waitlisted' && input.status === 'going')) && (input.status !== 'going' || mine.guests === input.guests)
      if (same) return { ...state(mine), occurrenceId: occ.id, changed: false }
      if (occ.cancelled_at) throw new Conflict('This date was cancelled')
      if (occ.starts_at <= now) throw new Conflict('This date has started: RSVPs are closed')
      if (input.status !== 'not_going' && occ.rsvp_closes_at && occ.rsvp_closes_at <= now) throw new Conflict('RSVPs for this date are closed')

      const need = 1 + input.guests
      let next: { status: RsvpStatus; guests: number; waitlist_position: number | null }
      if (input.status === 'going' && mine?.status === 'waitlisted') {
        // Still in line, keeping the place: only the party's size changes.
        next = { status: 'waitlisted', guests: input.guests, waitlist_position: mine.waitlist_position }
      } else if (input.status === 'going' && mine?.status === 'going') {
        // Changing the number of guests: only the difference has to fit.
        const delta = input.guests - mine.guests
        if (delta > 0 && occ.capacity !== null && occ.seats_taken + delta > occ.capacity) {
          throw Invalid.field('guests', `Only ${occ.capacity - occ.seats_taken} more ${occ.capacity - occ.seats_taken === 1 ? 'seat is' : 'seats are'} free`)
        }
        await trx.updateTable('event_occurrences').set({ seats_taken: sql<number>`seats_taken + ${delta}` }).where('id', '=', occ.id).execute()
        next = { status: 'going', guests: input.guests, waitlist_position: null }
      } else if (input.status === 'going') {
        const fits = occ.capacity === null || (occ.waitlist_length === 0 && occ.seats_taken + need <= occ.capacity)
        if (fits) {
          await trx.updateTable('event_occurrences').set({ seats_taken: sql<number>`seats_taken + ${need}` }).where('id', '=', occ.id).execute()
          next = { status: 'going', guests: input.guests, waitlist_position: null }
        } else {
          await trx.updateTable('event_occurrences').set({ waitlist_length: sql<number>`waitlist_length + 1` }).where('id', '=', occ.id).execute()
          next = { status: 'waitlisted', guests: input.guests, waitlist_position: occ.waitlist_length + 1 }
        }
      } else {
        if (mine) await this.leave(trx, occ, mine)
        next = { status: input.status, guests: 0, waitlist_position: null }
      }
      const values = { ...next, answers: JSON.stringify(answers), updated_at: sql<Date>`now()` as unknown as Date }
      if (mine) await trx.updateTable('event_rsvps').set(values).where('id', '=', mine.id).execute()
      else await trx.insertInto('event_rsvps').values({ occurrence_id: occ.id, user_id: user.id, ...values }).execute()
      // Freed seats (or a smaller party at the head of the line) let the waitlist move.
      if (mine) await this.promote(trx, await this.lock(trx, occ.id), row.title)
      if (next.status === 'going' && mine?.status !== 'going') await this.outbox.emit(trx, 'event.rsvp', { eventId: id, occurrenceId: occ.id, userIds: [user.id] })
      await this.seatsChanged(trx, id, occ.id)
      return { ...state(next), occurrenceId: occ.id, changed: true }
    })
  }

  /** Takes back a member's answer for a date: the same as answering not going. */
  async withdraw(user: Member, id: number, occurrenceId?: number) {
    return this.rsvp(user, id, { status: 'not_going', occurrenceId })
  }

  /**
   * Takes a member off the going list or the waitlist under the occurrence lock: their
   * seats are freed (promote fills them), or the waitlist closes up behind them.
   */
  private async leave(trx: Trx, occ: OccurrenceRow, mine: { id: number; status: RsvpStatus; guests: number; waitlist_position: number | null }): Promise<void> {
    if (mine.status === 'going') {
      await trx.updateTable('event_occurrences').set({ seats_taken: sql<number>`seats_taken - ${1 + mine.guests}` }).where('id', '=', occ.id).execute()
    } else if (mine.status === 'waitlisted') {
      // Clear this place first: the deferred unique key is checked at commit, the check now.
      await trx.updateTable('event_rsvps').set({ status: 'not_going', waitlist_position: null }).where('id', '=', mine.id).execute()
      await this.closeUp(trx, occ.id, mine.waitlist_position!, 1)
      await trx.updateTable('event_occurrences').set({ waitlist_length: sql<number>`waitlist_length - 1` }).where('id', '=', occ.id).execute()
    }
  }

  // Everyone behind a freed place moves up (the unique position is checked at commit).
  private async closeUp(trx: Trx, occurrenceId: number, after: number, by: number): Promise<void> {
    await trx
      .updateTable('event_rsvps')
      .set({ waitlist_position: sql<number>`waitlist_position - ${by}` })
      .where('occurrence_id', '=', occurrenceId)
      .where('status', '=', 'waitlisted')
      .where('waitlist_position', '>', after)
      .execute()
  }

  /**
   * Gives free seats to the waitlist strictly in order: the first in line is promoted when
   * their party (1 + guests) fits, then the next; the queue never skips anyone. Each
   * promoted member is told (notification and mail) in this transaction.
   */
  private async promote(trx: Trx, occ: OccurrenceRow, title: string): Promise<number[]> {
    let free = occ.capacity === null ? Number.POSITIVE_INFINITY : occ.capacity - occ.seats_taken
    const line = await trx
      .selectFrom('event_rsvps')
      .select(['id', 'user_id', 'guests', 'waitlist_position'])
      .where('occurrence_id', '=', occ.id)
      .where('status', '=', 'waitlisted')
      .orderBy('waitlist_position')
      .limit(200)
      .execute()
    const promoted: typeof line = []
    for (const r of line) {
      if (1 + r.guests > free) break
      free -= 1 + r.guests
      promoted.push(r)
    }
    if (promoted.length === 0) return []
    const seats = promoted.reduce((n, r) => n + 1 + r.guests, 0)
    await trx
      .updateTable('event_rsvps')
      .set({ status: 'going', waitlist_position: null, updated_at: sql<Date>`now()` as unknown as Date })
      .where('id', 'in', promoted.map((p) => p.id))
      .execute()
    await this.closeUp(trx, occ.id, 0, promoted.length)
    await trx
      .updateTable('event_occurrences')
      .set({ seats_taken: sql<number>`seats_taken + ${seats}`, waitlist_length: sql<number>`waitlist_length - ${promoted.length}` })
      .where('id', '=', occ.id)
      .execute()
    await this.notifications.create(
      trx,
      promoted.map((p) => ({
        userId: p.user_id,
        kind: 'event.promoted',
        url: `/events/${occ.event_id}?date=${occ.id}`,
        text: `A seat opened up: you are going to "${title}" on ${formatWhen(occ.starts_at, 'UTC')}.`,
        payload: { eventId: occ.event_id, occurrenceId: occ.id },
      })),
    )
    await this.outbox.emit(trx, 'event.rsvp', { eventId: occ.event_id, occurrenceId: occ.id, userIds: promoted.map((p) => p.user_id) })
    return promoted.map((p) => p.user_id)
  }

  /** Tells the event's live page the seats at a date, in the transaction that moved them. */
  private async seatsChanged(trx: Trx, eventId: number, occurrenceId: number): Promise<void> {
    const o = await trx.selectFrom('event_occurrences').select(['capacity', 'seats_taken', 'waitlist_length']).where('id', '=', occurrenceId).executeTakeFirstOrThrow()
    await this.outbox.emit(
      trx,
      'event.seats',
      { eventId, occurrenceId, seatsLeft: o.capacity === null ? null : o.capacity - o.seats_taken, going: o.seats_taken, waitlisted: o.waitlist_length },
      { channels: [`event:${eventId}`] },
    )
  }

  /** Takes every answer of a leaving member out (freed seats go to the waitlist), then deletes them. */
  async releaseAllFor(userId: number, trx: Trx): Promise<void> {
    const mine = await trx
      .selectFrom('event_rsvps as r')
      .innerJoin('event_occurrences as o', 'o.id', 'r.occurrence_id')
      .innerJoin('events as e', 'e.id', 'o.event_id')
      .select(['r.id', 'r.occurrence_id', 'r.status', 'r.guests', 'r.waitlist_position', 'e.title'])
      .where('r.user_id', '=', userId)
      .where('r.status', 'in', ['going', 'waitlisted'])
      .orderBy('r.occurrence_id')
      .execute()
    for (const r of mine) {
      const occ = await this.lock(trx, r.occurrence_id)
      await this.leave(trx, occ, r)
      await trx.updateTable('event_rsvps').set({ status: 'not_going', waitlist_position: null }).where('id', '=', r.id).execute()
      if (r.status === 'going' && occ.ends_at > new Date()) await this.promote(trx, await this.lock(trx, occ.id), r.title)
      await this.seatsChanged(trx, occ.event_id, occ.id)
    }
    await trx.deleteFrom('event_rsvps').where('user_id', '=', userId).execute()
    await trx.deleteFrom('event_calendar_keys').where('user_id', '=', userId).execute()
    await trx.deleteFrom('event_deliveries').where('user_id', '=', userId).execute()
    await trx.deleteFrom('event_hosts').where('user_id', '=', userId).execute()
  }

  // ── check-in and after the event ──────────────────────────────────────────────

  /** The people going to a date (and the waitlist), for the hosts' check-in list. */
  async attendees(actor: Member, id: number, occurrenceId: number, zone?: string) {
    const { row, viewer, hostIds } = await this.load(id, actor)
    ensure(viewer, 'manageEvent', { categoryId: row.category_id, hostIds })
    const occ = await this.db.selectFrom('event_occurrences').select(occurrenceColumns).where('id', '=', occurrenceId).where('event_id', '=', id).executeTakeFirst()
    if (!occ) throw new NotFound('No such date for this event')
    const people = await this.db
      .selectFrom('event_rsvps as r')
      .innerJoin('users as u', 'u.id', 'r.user_id')
      .select(['u.id', 'u.username', 'u.display_name', 'u.avatar_key', 'r.status', 'r.guests', 'r.waitlist_position', 'r.checked_in_at', 'r.answers'])
      .where('r.occurrence_id', '=', occurrenceId)
      .where('r.status', 'in', ['going', 'waitlisted'])
      .orderBy(sql`case r.status when 'going' then 0 else 1 end`)
      .orderBy('r.waitlist_position')
      .orderBy(sql`lower(u.username)`)
      .limit(CHECK_IN_PAGE)
      .execute()
    const questions = Questions.parse(row.questions)
    return {
      event: { id, title: row.title, url: `/events/${id}?date=${occurrenceId}` },
      occurrence: { id: occ.id, when: formatRange(occ.starts_at, occ.ends_at, viewerZone(zone)), seatsTaken: occ.seats_taken, capacity: occ.capacity },
      checkedIn: people.filter((p) => p.checked_in_at).length,
      going: people.filter((p) => p.status === 'going').map((p) => ({
        userId: p.id,
        username: p.username,
        displayName: p.display_name,
        avatarKey: p.avatar_key,
        guests: p.guests,
        checkedIn: p.checked_in_at !== null,
        answers: questions.map((q) => ({ label: q.label, value: formatAnswer(p.answers[q.id]) })).filter((a) => a.value),
      })),
      waitlist: people.filter((p) => p.status === 'waitlisted').map((p) => ({ userId: p.id, username: p.username, position: p.waitlist_position, guests: p.guests })),
    }
  }

  /** Checks a member in (or undoes it): hosts, the category's moderators, staff. Attendance feeds the activity log. */
  async checkIn(actor: Member, id: number, occurrenceId: number, userId: number, present = true) {
    const { row, viewer, hostIds } = await this.load(id, actor)
    ensure(viewer, 'manageEvent', { categoryId: row.category_id, hostIds })
    return this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('event_rsvps')
        .set(present ? { checked_in_at: sql<Date>`coalesce(checked_in_at, now())` as unknown as Date, checked_in_by: actor.id } : { checked_in_at: null, checked_in_by: null })
        .where('occurrence_id', '=', occurrenceId)
        .where('user_id', '=', userId)
        .where('status', '=', 'going')
        .where((eb) => eb.exists(eb.selectFrom('event_occurrences').select('id').where('id', '=', occurrenceId).where('event_id', '=', id)))
        .returning('checked_in_at')
        .executeTakeFirst()
      if (!updated) throw new NotFound('That member is not going to this date')
      if (present) await this.outbox.emit(trx, 'event.attended', { eventId: id, occurrenceId, userId })
      else await trx.deleteFrom('activity_log').where('user_id', '=', userId).where('kind', '=', 'event_attended').where('subject_id', '=', occurrenceId).execute()
      return { userId, checkedIn: updated.checked_in_at !== null }
    })
  }

  /** A member who went rates a date that has ended, 1 to 5 (changing it is fine). */
  async rate(user: Member, id: number, raw: unknown) {
    const input = parse(RatingBody, raw)
    const { viewer } = await this.load(id, user)
    ensure(viewer, 'rsvp', undefined)
    const target = input.occurrenceId ?? (await this.db.selectFrom('event_occurrences').select('id').where('event_id', '=', id).where('ends_at', '<=', new Date()).orderBy('ends_at', 'desc').limit(1).executeTakeFirst())?.id
    if (!target) throw new Conflict('This event has not happened yet')
    const rated = await this.db
      .updateTable('event_rsvps')
      .set({ rating: input.rating, rated_at: sql<Date>`now()` as unknown as Date })
      .where('occurrence_id', '=', target)
      .where('user_id', '=', user.id)
      .where('status', '=', 'going')
      .where((eb) => eb.exists(eb.selectFrom('event_occurrences').select('id').where('id', '=', target).where('event_id', '=', id).where('ends_at', '<=', new Date())))
      .returning('rating')
      .executeTakeFirst()
    if (!rated) throw new Conflict('Only people who went can rate a date, once it has ended')
    return { occurrenceId: target, rating: rated.rating }
  }

  /** The average rating of a date and how many rated it. */
  async ratingOf(occurrenceId: number) {
    const row = await this.db
      .selectFrom('event_rsvps')
      .select([sql<number | null>`round(avg(rating)::numeric, 1)::float`.as('average'), sql<number>`count(rating)::int`.as('count')])
      .where('occurrence_id', '=', occurrenceId)
      .executeTakeFirstOrThrow()
    return row
  }

  // ── reminders and recaps (jobs) ───────────────────────────────────────────────

  /**
   * What is due now or soon: each reminder (occurrence, minutes before) whose time comes
   * within `aheadMs`, skipping one a later reminder has superseded; and each date that ended
   * in the last two days and still owes someone a recap.
   */
  async due(aheadMs: number) {
    const { rows: reminders } = await sql<{ occurrence_id: number; minutes: number; starts_at: Date }>`
      select o.id as occurrence_id, m.minutes, o.starts_at
      from event_occurrences o
      join events e on e.id = o.event_id
      cross join lateral unnest(e.reminder_minutes) m(minutes)
      where o.cancelled_at is null and e.cancelled_at is null
        and o.starts_at > now()
        and o.starts_at - make_interval(mins => m.minutes) <= now() + ${aheadMs} * interval '1 millisecond'
        and not exists (
          select 1 from unnest(e.reminder_minutes) later(minutes)
          where later.minutes < m.minutes and o.starts_at - make_interval(mins => later.minutes) <= now()
        )
        and exists (select 1 from event_rsvps r where r.occurrence_id = o.id and r.status = 'going')`.execute(this.db)
    const { rows: recaps } = await sql<{ occurrence_id: number }>`
      select o.id as occurrence_id
      from event_occurrences o
      where o.cancelled_at is null and o.ends_at <= now() and o.ends_at > now() - interval '2 days'
        and exists (
          select 1 from event_rsvps r where r.occurrence_id = o.id and r.status = 'going'
            and not exists (select 1 from event_deliveries d where d.occurrence_id = o.id and d.user_id = r.user_id and d.kind = 'recap')
        )`.execute(this.db)
    return { reminders, recaps }
  }

  /**
   * Sends one reminder of a date to everyone going who has not had it: in batches, each
   * claiming its members in `event_deliveries` and writing their notifications in the same
   * transaction, so a worker killed at any point and run again sends each exactly once.
   * Skips quietly when the date moved (`startsAt` differs: another job has the new time),
   * was cancelled, has started, or a later reminder is already due.
   */
  async sendReminders(occurrenceId: number, minutes: number, startsAt?: number): Promise<{ sent: number; skipped?: string }> {
    const occ = await this.db
      .selectFrom('event_occurrences as o')
      .innerJoin('events as e', 'e.id', 'o.event_id')
      .select(['o.id', 'o.event_id', 'o.starts_at', 'o.ends_at', 'o.cancelled_at', 'e.cancelled_at as event_cancelled_at', 'e.title', 'e.time_zone', 'e.reminder_minutes', 'e.address', 'e.online_url'])
      .where('o.id', '=', occurrenceId)
      .executeTakeFirst()
    if (!occ) return { sent: 0, skipped: 'gone' }
    const now = Date.now()
    if (occ.cancelled_at || occ.event_cancelled_at) return { sent: 0, skipped: 'cancelled' }
    if (startsAt !== undefined && occ.starts_at.getTime() !== startsAt) return { sent: 0, skipped: 'moved' }
    if (occ.starts_at.getTime() <= now) return { sent: 0, skipped: 'started' }
    if (!occ.reminder_minutes.includes(minutes)) return { sent: 0, skipped: 'not a reminder of this event' }
    if (occ.reminder_minutes.some((m) => m < minutes && occ.starts_at.getTime() - m * 60_000 <= now)) return { sent: 0, skipped: 'superseded' }
    const kind = `reminder:${minutes}`
    const until = DateTime.fromJSDate(occ.starts_at).diffNow(['days', 'hours', 'minutes'])
    const inWords = until.days >= 1 ? `in ${Math.round(until.as('hours'))} hours` : until.hours >= 1 ? `in ${Math.round(until.as('minutes') / 60)} hour${Math.round(until.as('minutes') / 60) === 1 ? '' : 's'}` : `in ${Math.max(1, Math.round(until.as('minutes')))} minutes`
    let sent = 0
    for (;;) {
      const batch = await this.db.transaction().execute(async (trx) => {
        const claimed = await this.claim(trx, occurrenceId, kind)
        if (claimed.length === 0) return 0
        await this.notifications.create(
          trx,
          claimed.map((userId) => ({
            userId,
            kind: 'event.reminder',
            url: `/events/${occ.event_id}?date=${occ.id}`,
            text: `Reminder: "${occ.title}" starts ${inWords}, ${formatWhen(occ.starts_at, occ.time_zone)}${occ.address ? ` at ${occ.address}` : occ.online_url ? ' (online: the link is on the event page)' : ''}.`,
            payload: { eventId: occ.event_id, occurrenceId: occ.id, minutes },
          })),
        )
        return claimed.length
      })
      sent += batch
      if (batch < FANOUT_BATCH) return { sent }
    }
  }

  /** After a date ends: everyone who was going gets the recap thread's link and the rating question, once. */
  async sendRecap(occurrenceId: number): Promise<{ sent: number }> {
    const occ = await this.db
      .selectFrom('event_occurrences as o')
      .innerJoin('events as e', 'e.id', 'o.event_id')
      .select(['o.id', 'o.event_id', 'o.ends_at', 'o.cancelled_at', 'e.title', 'e.thread_id'])
      .where('o.id', '=', occurrenceId)
      .executeTakeFirst()
    if (!occ || occ.cancelled_at || occ.ends_at.getTime() > Date.now()) return { sent: 0 }
    let sent = 0
    for (;;) {
      const batch = await this.db.transaction().execute(async (trx) => {
        const claimed = await this.claim(trx, occurrenceId, 'recap')
        if (claimed.length === 0) return 0
        await this.notifications.create(
          trx,
          claimed.map((userId) => ({
            userId,
            kind: 'event.recap',
            url: `/events/${occ.event_id}?date=${occ.id}#rate`,
            text: `How was "${occ.title}"? Rate it from 1 to 5 and read the recap${occ.thread_id ? ' in its discussion' : ''}.`,
            payload: { eventId: occ.event_id, occurrenceId: occ.id, threadId: occ.thread_id },
          })),
        )
        return claimed.length
      })
      sent += batch
      if (batch < FANOUT_BATCH) return { sent }
    }
  }

  // Claims up to a batch of members going to a date who have not had this delivery yet.
  private async claim(trx: Trx, occurrenceId: number, kind: string): Promise<number[]> {
    const { rows } = await sql<{ user_id: number }>`
      insert into event_deliveries (occurrence_id, user_id, kind)
      select r.occurrence_id, r.user_id, ${kind}
      from event_rsvps r
      where r.occurrence_id = ${occurrenceId} and r.status = 'going'
        and not exists (select 1 from event_deliveries d where d.occurrence_id = r.occurrence_id and d.user_id = r.user_id and d.kind = ${kind})
      order by r.user_id
      limit ${FANOUT_BATCH}
      on conflict do nothing
      returning user_id`.execute(trx)
    return rows.map((r) => Number(r.user_id))
  }

  // ── time zones and calendars ──────────────────────────────────────────────────

  /** The zone a member chose in their settings, or null. */
  async timeZoneOf(userId: number): Promise<string | null> {
    const row = await this.db.selectFrom('users').select('time_zone').where('id', '=', userId).executeTakeFirst()
    return row?.time_zone ?? null
  }

  /** Saves the member's time zone ('' clears it: the browser's, else UTC). */
  async setTimeZone(user: Member, raw: unknown): Promise<string | null> {
    const { timeZone } = parse(TimeZoneBody, raw)
    await this.db.updateTable('users').set({ time_zone: timeZone || null }).where('id', '=', user.id).execute()
    return timeZone || null
  }

  /** Whether the member has a private feed. */
  async hasCalendarKey(userId: number): Promise<boolean> {
    return !!(await this.db.selectFrom('event_calendar_keys').select('user_id').where('user_id', '=', userId).executeTakeFirst())
  }

  /** Makes (or replaces) the member's private feed secret; only its digest is stored, so it is shown once. */
  async resetCalendarKey(user: Member): Promise<string> {
    const secret = randomBytes(24).toString('base64url')
    await this.db
      .insertInto('event_calendar_keys')
      .values({ user_id: user.id, secret_hash: calendarDigest(secret) })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ secret_hash: calendarDigest(secret), created_at: sql<Date>`now()` as unknown as Date }))
      .execute()
    return secret
  }

  /** Turns the private feed off. */
  async removeCalendarKey(user: Member): Promise<void> {
    await this.db.deleteFrom('event_calendar_keys').where('user_id', '=', user.id).execute()
  }

  /** The ICS of one event's dates ("add to calendar"). */
  async eventIcs(user: Viewer, id: number, baseUrl: string): Promise<string> {
    const event = await this.get(id, user)
    const rows = await this.db
      .selectFrom('event_occurrences as o')
      .innerJoin('events as e', 'e.id', 'o.event_id')
      .select(['o.id as occurrence_id', 'o.seq', 'o.starts_at', 'o.ends_at', 'o.cancelled_at', 'e.id', 'e.title', 'e.description_md', 'e.time_zone', 'e.address', 'e.created_at'])
      .where('e.id', '=', id)
      .orderBy('o.seq')
      .execute()
    return this.ics(event.title, rows, baseUrl)
  }

  /** The ICS feed of a category's events, for whoever asks (calendar apps come without a session: public categories). */
  async categoryIcs(user: Viewer, slug: string, baseUrl: string): Promise<string> {
    const viewer = await this.viewerFor(user)
    const category = await this.categories.bySlug(viewer, slug)
    const rows = await this.feedRows().where('e.category_id', '=', category.id).execute()
    return this.ics(`${category.name}: events`, rows, baseUrl)
  }

  /** The private feed of a member's own events (going, waitlisted or interested), by its secret; null for an unknown secret. */
  async memberIcs(secret: string, baseUrl: string): Promise<string | null> {
    const key = await this.db
      .selectFrom('event_calendar_keys as k')
      .innerJoin('users as u', 'u.id', 'k.user_id')
      .select(['u.id', 'u.username', 'u.role', 'u.trust_level', 'u.suspended_until', 'u.silenced_until', 'u.email_verified_at'])
      .where('k.secret_hash', '=', calendarDigest(secret))
      .where('u.deleted_at', 'is', null)
      .executeTakeFirst()
    if (!key) return null
    const viewer = await this.viewerFor(key as unknown as Member)
    const visible = await this.categories.visibleIds(viewer)
    const rows = await this.feedRows()
      .where('e.category_id', 'in', visible.length ? visible : [0])
      .where((eb) => eb.exists(eb.selectFrom('event_rsvps as r').select('r.id').whereRef('r.occurrence_id', '=', 'o.id').where('r.user_id', '=', key.id).where('r.status', 'in', ['going', 'waitlisted', 'interested'])))
      .execute()
    return this.ics(`My events (${key.username})`, rows, baseUrl)
  }

  private feedRows() {
    return this.db
      .selectFrom('event_occurrences as o')
      .innerJoin('events as e', 'e.id', 'o.event_id')
      .select(['o.id as occurrence_id', 'o.seq', 'o.starts_at', 'o.ends_at', 'o.cancelled_at', 'e.id', 'e.title', 'e.description_md', 'e.time_zone', 'e.address', 'e.created_at'])
      .where('o.ends_at', '>', sql<Date>`now() - interval '90 days'`)
      .orderBy('o.starts_at')
      .limit(1_000)
  }

  /**
   * Writes the calendar: each date a VEVENT with its start and end in the event's own zone
   * (DTSTART;TZID=…), and one VTIMEZONE per zone used, generated from the tz database by
   * luxon, so calendar apps place every date right across daylight-saving changes.
   */
  private ics(
    name: string,
    rows: { occurrence_id: number; starts_at: Date; ends_at: Date; cancelled_at: Date | null; id: number; title: string; description_md: string; time_zone: string; address: string | null; created_at: Date }[],
    baseUrl: string,
  ): string {
    const years = rows.flatMap((r) => [r.starts_at.getUTCFullYear(), r.ends_at.getUTCFullYear()])
    const from = Math.min(...years, new Date().getUTCFullYear()) - 1
    const to = Math.max(...years, new Date().getUTCFullYear()) + 1
    const calendar = ical({ name, prodId: { company: 'Hearth', product: 'Events', language: 'EN' }, method: ICalCalendarMethod.PUBLISH })
    calendar.timezone({ name: rows[0]?.time_zone ?? 'UTC', generator: (zone) => (isZone(zone) && zone !== 'UTC' ? vtimezone(zone, from, to) : null) })
    const host = new URL(baseUrl).host
    for (const r of rows) {
      calendar.createEvent({
        id: `event-${r.id}-${r.occurrence_id}@${host}`,
        start: DateTime.fromJSDate(r.starts_at).setZone(r.time_zone),
        end: DateTime.fromJSDate(r.ends_at).setZone(r.time_zone),
        timezone: r.time_zone,
        summary: r.title,
        description: r.description_md.slice(0, 2_000),
        location: r.address ?? undefined,
        url: `${baseUrl}/events/${r.id}?date=${r.occurrence_id}`,
        status: r.cancelled_at ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
        stamp: r.created_at,
      })
    }
    return calendar.toString()
  }
}

function formatAnswer(value: unknown): string {
  if (Array.isArray(value)) return value.join('; ')
  return value === undefined || value === null ? '' : String(value)
}
