import { z } from 'zod'
import type { RsvpStatus } from '../../core/db-types.js'
import { IdParams, idField } from '../../core/http.js'
import { Question } from '../beta/schemas.js'
import { isZone } from './time.js'

export { answersFromForm, answersSchema, Question, questionFields } from '../beta/schemas.js'

/** How many question slots the no-JavaScript event form offers. */
export const FORM_QUESTION_SLOTS = 3

export const RSVP_LABELS: Record<RsvpStatus, string> = {
  going: 'Going',
  waitlisted: 'On the waitlist',
  interested: 'Interested',
  not_going: 'Not going',
}

const optional = <T extends z.ZodType>(schema: T) => z.union([z.literal('').transform(() => undefined), z.null().transform(() => undefined), schema]).optional()

const localTime = (message: string) => z.union([z.date(), z.string().trim().min(1, message).max(40, message)], { error: message })

const minutesList = z
  .union([z.array(z.coerce.number()), z.string().max(100)])
  .transform((v, ctx) => {
    const list = typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean).map(Number) : v
    if (list.some((n) => !Number.isInteger(n) || n < 1 || n > 43_200)) {
      ctx.addIssue({ code: 'custom', message: 'Reminders are whole minutes before the start, between 1 and 43,200 (30 days)' })
      return z.NEVER
    }
    return [...new Set(list)].sort((a, b) => b - a).slice(0, 5)
  })

/** Hosts arrive as an array (API) or one comma-separated field (form). */
const usernames = z
  .union([z.array(z.string().max(60)), z.string().max(1_000)])
  .transform((v) => [...new Set((typeof v === 'string' ? v.split(/[\s,]+/) : v).map((s) => s.trim().replace(/^@/, '')).filter(Boolean))])
  .refine((list) => list.length <= 10, 'At most 10 hosts')

/**
 * An event as created or edited. Times are wall clocks in `timeZone` (a form's
 * datetime-local fields) or ISO instants with an offset (the API).
 */
export const EventInput = z
  .object({
    title: z.string({ error: 'Give the event a title' }).trim().min(3, 'Titles are at least 3 characters').max(120, 'Titles are at most 120 characters'),
    body: z.string().trim().max(20_000, 'Keep the description under 20,000 characters').default(''),
    categoryId: idField('Choose a category'),
    timeZone: z.string({ error: 'Choose a time zone' }).trim().refine(isZone, 'Choose a time zone from the list (like Europe/Berlin)'),
    startsAt: localTime('Say when it starts'),
    endsAt: localTime('Say when it ends'),
    location: optional(z.string().trim().max(300, 'Keep the address under 300 characters')),
    onlineUrl: optional(z.url({ protocol: /^https?$/, error: 'Give a full https:// link' }).max(500, 'Keep the link under 500 characters')),
    capacity: optional(z.coerce.number({ error: 'How many seats?' }).int('Seats are a whole number').min(1, 'At least one seat').max(100_000, 'At most 100,000 seats')),
    maxGuests: z.coerce.number().int('Guests are a whole number').min(0, 'No fewer than 0 guests').max(20, 'At most 20 guests each').default(0),
    rsvpDeadline: optional(localTime('Say when RSVPs close')),
    reminders: optional(minutesList),
    recurrence: z.enum(['none', 'weekly', 'monthly'], { error: 'Choose how it repeats' }).default('none'),
    repeatUntil: optional(z.iso.date({ error: 'Give the last date as YYYY-MM-DD' })),
    questions: z.array(Question).max(10, 'At most 10 questions').default([]),
    hosts: usernames.default([]),
  })
  .refine((e) => new Set(e.questions.map((q) => q.id)).size === e.questions.length, { path: ['questions'], message: 'Question ids must differ' })
export type EventInput = z.output<typeof EventInput>

/** Turns the flat fields of the event form into the API's shape. */
export function eventFromForm(form: Record<string, string | string[] | undefined>): Record<string, unknown> {
  const one = (k: string) => {
    const v = form[k]
    return Array.isArray(v) ? v[0] : v
  }
  const questions = []
  for (let i = 1; i <= FORM_QUESTION_SLOTS + 5; i++) {
    const label = one(`q${i}_label`)?.trim()
    if (!label) continue
    questions.push({
      id: one(`q${i}_id`) || `q${i}`,
      label,
      type: one(`q${i}_type`) || 'short_text',
      required: one(`q${i}_required`) === 'on',
      choices: (one(`q${i}_choices`) ?? '').split(/[\n,]/).map((c) => c.trim()).filter(Boolean),
    })
  }
  return {
    title: one('title'),
    body: one('body'),
    categoryId: one('categoryId'),
    timeZone: one('timeZone'),
    startsAt: one('startsAt'),
    endsAt: one('endsAt'),
    location: one('location'),
    onlineUrl: one('onlineUrl'),
    capacity: one('capacity'),
    maxGuests: one('maxGuests') || 0,
    rsvpDeadline: one('rsvpDeadline'),
    reminders: one('reminders'),
    recurrence: one('recurrence') || 'none',
    repeatUntil: one('repeatUntil'),
    questions,
    hosts: one('hosts') ?? '',
  }
}

export const RsvpBody = z.object({
  status: z.enum(['going', 'interested', 'not_going'], { error: 'Answer going, interested or not going' }),
  guests: z.coerce.number({ error: 'How many guests?' }).int('Guests are a whole number').min(0, 'No fewer than 0 guests').max(20, 'At most 20 guests').default(0),
  answers: z.record(z.string(), z.unknown()).default({}),
  occurrenceId: optional(idField('No such date')),
})

export const RatingBody = z.object({
  rating: z.coerce.number({ error: 'Give 1 to 5 stars' }).int('Give 1 to 5 stars').min(1, 'Give 1 to 5 stars').max(5, 'Give 1 to 5 stars'),
  occurrenceId: optional(idField('No such date')),
})

export const CancelBody = z.object({ reason: z.string().trim().max(500, 'Keep the reason under 500 characters').default('') })

export const TimeZoneBody = z.object({
  timeZone: z.union([z.literal(''), z.string().trim().max(64).refine(isZone, 'Choose a time zone from the list')], { error: 'Choose a time zone from the list' }),
})

export const EventParams = IdParams
export const OccurrenceQuery = z.object({ date: optional(idField('No such date')) })
export const CheckInParams = IdParams.extend({ occurrenceId: idField(), userId: idField() })
export const OccurrenceParams = IdParams.extend({ occurrenceId: idField() })

export const ListQuery = z.object({
  category: z.string().max(100).optional(),
  when: z.enum(['upcoming', 'past']).default('upcoming'),
  month: optional(z.string().regex(/^\d{4}-\d{2}$/, 'Give the month as YYYY-MM')),
})

export const FeedParams = z.object({ slug: z.string().min(1).max(100).regex(/^[a-z0-9-]+\.ics$/, 'No such feed') })
export const PrivateFeedParams = z.object({ secret: z.string().min(20).max(100).regex(/^[A-Za-z0-9_-]+\.ics$/, 'No such feed') })
