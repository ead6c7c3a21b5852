import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { Info } from 'luxon'
import { z } from 'zod'
import { can } from '../../core/guard.js'
import { fieldErrors, NotFound } from '../../core/errors.js'
import { FormBody, handleForm, MultiFormBody, queryText, requireUser } from '../../core/http.js'
import { rateLimit } from '../../core/rate-limits.js'
import { IDEA_COMMENTS_CATEGORY } from '../discussions/categories.js'
import {
  answersFromForm,
  CheckInParams,
  EventParams,
  eventFromForm,
  FeedParams,
  FORM_QUESTION_SLOTS,
  ListQuery,
  OccurrenceParams,
  OccurrenceQuery,
  PrivateFeedParams,
  questionFields,
} from './schemas.js'
import { isZone, viewerZone } from './time.js'

const MINUTE = 60_000
/** The cookie static/js/events.js sets from the browser's zone. */
export const ZONE_COOKIE = 'hearth_tz'

type Form = Record<string, string | string[] | undefined>

const ZONES = [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])].filter((z) => Info.isValidIANAZone(z) || z === 'UTC')

/** Events: the list and month view, an event's page with RSVP, hosts' forms and check-in, calendars, and the API. */
export async function eventRoutes(app: FastifyInstance): Promise<void> {
  const { meetups: events, categories, config } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()
  const rsvpLimit = { preHandler: rateLimit(app, 'rsvp', 60, MINUTE) }
  const createLimit = { preHandler: rateLimit(app, 'post', config.rateLimits.post, MINUTE) }
  const baseUrl = config.baseUrl.replace(/\/$/, '')

  /** The zone times are shown in: the member's setting, the browser's (a cookie set by script), else UTC. */
  async function zoneOf(req: FastifyRequest): Promise<string> {
    // The member's own choice comes with their session (no query).
    if (req.user?.time_zone && isZone(req.user.time_zone)) return req.user.time_zone
    const cookie = req.cookies?.[ZONE_COOKIE]
    return viewerZone(cookie && isZone(cookie) ? cookie : null)
  }

  /** Categories where the member may create events, for the form's menu. */
  async function creatable(req: FastifyRequest) {
    const viewer = await categories.viewer(req.user)
    return (await categories.visible(viewer)).filter((c) => c.slug !== IDEA_COMMENTS_CATEGORY && can(viewer, 'createEvent', { categoryId: c.id }))
  }

  const slots = (form: Form = {}) =>
    Array.from({ length: FORM_QUESTION_SLOTS }, (_, i) => {
      const get = (k: string) => String(form[`q${i + 1}_${k}`] ?? '')
      return { n: i + 1, id: get('id'), label: get('label'), choices: get('choices'), required: get('required') === 'on', type: get('type') || 'short_text' }
    })

  async function formPage(req: FastifyRequest, form: Form, extra: Record<string, unknown> = {}) {
    const cats = await creatable(req)
    const chosenZone = String(form.timeZone ?? '')
    return {
      title: 'New event',
      categories: cats.map((c) => ({ id: c.id, name: c.name, selected: String(c.id) === String(form.categoryId ?? '') })),
      zones: ZONES.map((z) => ({ value: z, selected: z === chosenZone })),
      recurrences: [
        { value: 'none', label: 'Does not repeat' },
        { value: 'weekly', label: 'Every week' },
        { value: 'monthly', label: 'Every month' },
      ].map((o) => ({ ...o, selected: o.value === (form.recurrence ?? 'none') })),
      slots: slots(form),
      questionTypes: ['short_text', 'long_text', 'single_choice', 'multiple_choice'],
      ...extra,
    }
  }

  // ── pages ───────────────────────────────────────────────────────────────────
  r.get('/events', { schema: { querystring: ListQuery } }, async (req, reply) => {
    const zone = await zoneOf(req)
    const { category, when } = req.query
    const items = await events.list(req.user, { when, categorySlug: category, zone })
    const viewer = await categories.viewer(req.user)
    const cats = (await categories.visible(viewer)).filter((c) => c.slug !== IDEA_COMMENTS_CATEGORY)
    const canCreate = req.user !== null && cats.some((c) => can(viewer, 'createEvent', { categoryId: c.id }))
    const query = (w: string) => `/events?when=${w}${category ? `&category=${encodeURIComponent(category)}` : ''}`
    return reply.view('events/index', {
      title: when === 'past' ? 'Past events' : 'Events',
      items,
      past: when === 'past',
      zone,
      category: category ? cats.find((c) => c.slug === category) ?? null : null,
      categories: cats.map((c) => ({ name: c.name, slug: c.slug, current: c.slug === category })),
      upcomingHref: query('upcoming'),
      pastHref: query('past'),
      monthHref: `/events/month${category ? `?category=${encodeURIComponent(category)}` : ''}`,
      feedHref: category ? `/events/feeds/c/${category}.ics` : null,
      canCreate,
    })
  })

  r.get('/events/month', { schema: { querystring: ListQuery } }, async (req, reply) => {
    const zone = await zoneOf(req)
    const { category, month } = req.query
    const grid = await events.month(req.user, month, zone, category)
    const q = (m: string) => `/events/month?month=${m}${category ? `&category=${encodeURIComponent(category)}` : ''}`
    return reply.view('events/month', { title: `Events in ${grid.label}`, grid, zone, prevHref: q(grid.prev), nextHref: q(grid.next), listHref: `/events${category ? `?category=${encodeURIComponent(category)}` : ''}` })
  })

  app.get('/events/new', async (req, reply) => {
    requireUser(req)
    const cats = await creatable(req)
    if (cats.length === 0) throw new NotFound()
    const values = { timeZone: await zoneOf(req), maxGuests: '0', reminders: '1440, 60' }
    return reply.view('events/new', { ...(await formPage(req, values)), values })
  })

  r.post('/events', { schema: { body: MultiFormBody }, ...createLimit }, async (req, reply) => {
    const user = requireUser(req)
    const form = req.body
    return handleForm(reply, 'events/new', form, async () => {
      const event = await events.create(user, eventFromForm(form))
      return reply.redirect(event.url, 303)
    }, await formPage(req, form))
  })

  const page = async (req: FastifyRequest, id: number, occurrenceId?: number, answers: Record<string, unknown> = {}, errors: Record<string, string> = {}) => {
    const zone = await zoneOf(req)
    const event = await events.get(id, req.user, { occurrenceId, zone })
    const rating = event.occurrence?.ended ? await events.ratingOf(event.occurrence.id) : null
    return {
      title: event.title,
      event,
      zone,
      rating,
      stars: [1, 2, 3, 4, 5].map((n) => ({ n, checked: event.mine?.rating === n })),
      guestOptions: Array.from({ length: event.maxGuests + 1 }, (_, n) => ({ n, selected: n === (event.mine?.guests ?? 0) })),
      fields: questionFields(event.questions, answers, errors),
      errors,
      error: Object.values(errors)[0],
      loginHref: `/login?next=${encodeURIComponent(`/events/${id}`)}`,
    }
  }

  r.get('/events/:id', { schema: { params: EventParams, querystring: OccurrenceQuery } }, async (req, reply) => reply.view('events/show', await page(req, req.params.id, req.query.date)))

  r.post('/events/:id/rsvp', { schema: { params: EventParams, body: MultiFormBody }, ...rsvpLimit }, async (req, reply) => {
    const { id } = req.params
    if (!req.user) return reply.redirect(`/login?next=${encodeURIComponent(`/events/${id}`)}`, 303)
    const form = req.body
    const one = (k: string) => (Array.isArray(form[k]) ? form[k][0] : form[k])
    const answers = answersFromForm(form)
    const occurrenceId = one('occurrenceId') ? Number(one('occurrenceId')) : undefined
    try {
      const result = await events.rsvp(req.user, id, { status: one('status'), guests: one('guests') || 0, answers, occurrenceId: one('occurrenceId') })
      return reply.redirect(`/events/${id}?date=${result.occurrenceId}#my-rsvp`, 303)
    } catch (err) {
      const fields = fieldErrors(err)
      if (!fields) throw err
      return reply.code(400).view('events/show', await page(req, id, Number.isInteger(occurrenceId) && occurrenceId! > 0 ? occurrenceId : undefined, answers, fields))
    }
  })

  r.post('/events/:id/rate', { schema: { params: EventParams, body: FormBody }, ...rsvpLimit }, async (req, reply) => {
    const { id } = req.params
    const result = await events.rate(requireUser(req), id, req.body)
    return reply.redirect(`/events/${id}?date=${result.occurrenceId}#rate`, 303)
  })

  const editValues = (event: Awaited<ReturnType<typeof events.get>>, first: { startsAt: string; endsAt: string; rsvpDeadline: string }): Form => {
    const form: Form = {
      title: event.title,
      body: event.descriptionMd,
      categoryId: String(event.category.id),
      timeZone: event.timeZone,
      ...first,
      location: event.location ?? '',
      onlineUrl: event.onlineUrl ?? '',
      capacity: event.capacity ? String(event.capacity) : '',
      maxGuests: String(event.maxGuests),
      reminders: event.reminders.join(', '),
      recurrence: event.recurrence,
      repeatUntil: event.repeatUntil ?? '',
      hosts: event.hosts.map((h) => h.username).join(', '),
    }
    event.questions.forEach((q, i) => {
      const n = i + 1
      Object.assign(form, { [`q${n}_id`]: q.id, [`q${n}_label`]: q.label, [`q${n}_type`]: q.type, [`q${n}_choices`]: q.choices.join('\n'), [`q${n}_required`]: q.required ? 'on' : '' })
    })
    return form
  }

  r.get('/events/:id/edit', { schema: { params: EventParams } }, async (req, reply) => {
    const user = requireUser(req)
    const event = await events.get(req.params.id, user)
    if (!event.canManage) throw new NotFound('No such event')
    const values = editValues(event, await events.formTimes(req.params.id))
    return reply.view('events/new', { ...(await formPage(req, values, { title: `Edit: ${event.title}`, editing: true, event })), values })
  })

  r.post('/events/:id/edit', { schema: { params: EventParams, body: MultiFormBody } }, async (req, reply) => {
    const user = requireUser(req)
    const { id } = req.params
    const event = await events.get(id, user)
    if (!event.canManage) throw new NotFound('No such event')
    const form = req.body
    return handleForm(reply, 'events/new', form, async () => {
      await events.update(user, id, eventFromForm(form))
      return reply.redirect(`/events/${id}`, 303)
    }, await formPage(req, form, { title: `Edit: ${event.title}`, editing: true, event }))
  })

  r.post('/events/:id/cancel', { schema: { params: EventParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params
    const occurrenceId = req.body.occurrenceId ? Number(req.body.occurrenceId) : undefined
    await events.cancel(requireUser(req), id, { reason: req.body.reason }, Number.isInteger(occurrenceId) && occurrenceId! > 0 ? occurrenceId : undefined)
    return reply.redirect(`/events/${id}`, 303)
  })

  r.get('/events/:id/dates/:occurrenceId/check-in', { schema: { params: OccurrenceParams, querystring: z.object({ q: queryText }) } }, async (req, reply) => {
    const { id, occurrenceId } = req.params
    const list = await events.attendees(requireUser(req), id, occurrenceId, await zoneOf(req))
    const q = (req.query.q ?? '').trim().toLowerCase()
    const going = q ? list.going.filter((p) => p.username.toLowerCase().includes(q) || (p.displayName ?? '').toLowerCase().includes(q)) : list.going
    return reply.view('events/check-in', { title: `Check-in: ${list.event.title}`, ...list, going, q: req.query.q ?? '', here: `/events/${id}/dates/${occurrenceId}/check-in` })
  })

  r.post('/events/:id/dates/:occurrenceId/check-in/:userId', { schema: { params: CheckInParams, body: FormBody } }, async (req, reply) => {
    const { id, occurrenceId, userId } = req.params
    await events.checkIn(requireUser(req), id, occurrenceId, userId, req.body.present !== '0')
    const q = req.body.q ? `?q=${encodeURIComponent(req.body.q.slice(0, 100))}` : ''
    return reply.redirect(`/events/${id}/dates/${occurrenceId}/check-in${q}#u${userId}`, 303)
  })

  // ── calendars ───────────────────────────────────────────────────────────────
  const sendIcs = (reply: FastifyReply, body: string, filename: string) =>
    reply.type('text/calendar; charset=utf-8').header('content-disposition', `inline; filename="${filename}"`).header('cache-control', 'private, max-age=300').send(body)

  r.get('/events/:id/calendar.ics', { schema: { params: EventParams } }, async (req, reply) => {
    const body = await events.eventIcs(req.user, req.params.id, baseUrl)
    return sendIcs(reply.header('content-disposition', `attachment; filename="event-${req.params.id}.ics"`), body, `event-${req.params.id}.ics`)
  })

  r.get('/events/feeds/c/:slug', { schema: { params: FeedParams } }, async (req, reply) => {
    const slug = req.params.slug.replace(/\.ics$/, '')
    return sendIcs(reply, await events.categoryIcs(req.user, slug, baseUrl), `${slug}.ics`)
  })

  r.get('/events/feeds/me/:secret', { schema: { params: PrivateFeedParams } }, async (req, reply) => {
    const body = await events.memberIcs(req.params.secret.replace(/\.ics$/, ''), baseUrl)
    if (body === null) throw new NotFound('No such feed')
    return sendIcs(reply.header('x-robots-tag', 'noindex'), body, 'my-events.ics')
  })

  const calendarPage = async (req: FastifyRequest, extra: Record<string, unknown> = {}) => {
    const user = requireUser(req)
    const own = await events.timeZoneOf(user.id)
    return {
      title: 'Calendar and time zone',
      hasKey: await events.hasCalendarKey(user.id),
      zones: ZONES.map((z) => ({ value: z, selected: z === own })),
      ownZone: own,
      shownZone: await zoneOf(req),
      ...extra,
    }
  }

  app.get('/events/calendar', async (req, reply) => reply.view('events/calendar', await calendarPage(req)))

  app.post('/events/calendar/reset', async (req, reply) => {
    const secret = await events.resetCalendarKey(requireUser(req))
    return reply.header('cache-control', 'no-store').view('events/calendar', await calendarPage(req, { feedUrl: `${baseUrl}/events/feeds/me/${secret}.ics` }))
  })

  app.post('/events/calendar/remove', async (req, reply) => {
    await events.removeCalendarKey(requireUser(req))
    return reply.redirect('/events/calendar', 303)
  })

  r.post('/settings/time-zone', { schema: { body: FormBody } }, async (req, reply) => {
    const user = requireUser(req)
    return handleForm(reply, 'events/calendar', req.body, async () => {
      await events.setTimeZone(user, req.body)
      return reply.redirect('/events/calendar?saved=1', 303)
    }, await calendarPage(req))
  })

  // ── JSON API ──────────────────────────────────────────────────────────────────
  r.get('/api/v1/events', { schema: { querystring: ListQuery } }, async (req) => ({
    items: await events.list(req.user, { when: req.query.when, categorySlug: req.query.category, zone: await zoneOf(req) }),
  }))

  app.post('/api/v1/events', createLimit, async (req, reply) => reply.code(201).send(await events.create(requireUser(req), req.body)))

  r.get('/api/v1/events/:id', { schema: { params: EventParams, querystring: OccurrenceQuery } }, async (req) => events.get(req.params.id, req.user, { occurrenceId: req.query.date, zone: await zoneOf(req) }))

  r.patch('/api/v1/events/:id', { schema: { params: EventParams } }, async (req) => events.update(requireUser(req), req.params.id, req.body))

  r.post('/api/v1/events/:id/cancel', { schema: { params: EventParams, querystring: OccurrenceQuery } }, async (req) => events.cancel(requireUser(req), req.params.id, req.body ?? {}, req.query.date))

  r.put('/api/v1/events/:id/rsvp', { schema: { params: EventParams }, ...rsvpLimit }, async (req) => {
    const { changed: _changed, ...result } = await events.rsvp(requireUser(req), req.params.id, req.body ?? {})
    return result
  })

  r.delete('/api/v1/events/:id/rsvp', { schema: { params: EventParams, querystring: OccurrenceQuery }, ...rsvpLimit }, async (req) => {
    const { changed: _changed, ...result } = await events.withdraw(requireUser(req), req.params.id, req.query.date)
    return result
  })

  r.post('/api/v1/events/:id/rating', { schema: { params: EventParams }, ...rsvpLimit }, async (req) => events.rate(requireUser(req), req.params.id, req.body ?? {}))

  r.get('/api/v1/events/:id/dates/:occurrenceId/attendees', { schema: { params: OccurrenceParams } }, async (req) => events.attendees(requireUser(req), req.params.id, req.params.occurrenceId))

  r.put('/api/v1/events/:id/dates/:occurrenceId/check-ins/:userId', { schema: { params: CheckInParams } }, async (req) => {
    const { id, occurrenceId, userId } = req.params
    return events.checkIn(requireUser(req), id, occurrenceId, userId, true)
  })

  r.delete('/api/v1/events/:id/dates/:occurrenceId/check-ins/:userId', { schema: { params: CheckInParams } }, async (req) => {
    const { id, occurrenceId, userId } = req.params
    return events.checkIn(requireUser(req), id, occurrenceId, userId, false)
  })

  r.put('/api/v1/me/time-zone', async (req) => ({ timeZone: await events.setTimeZone(requireUser(req), req.body ?? {}) }))
}
