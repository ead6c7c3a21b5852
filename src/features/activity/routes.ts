import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { Invalid } from '../../core/errors.js'
import { ensure, viewerOf } from '../../core/guard.js'
import { FormBody, handleForm, idField, IdParams, MultiFormBody, pathText, queryText, requireAdmin, requireMember } from '../../core/http.js'
import { barChart, lineChart } from './charts.js'
import { ACTIVITY_KINDS, ACTIVITY_KIND_NAMES, STAGES } from './kinds.js'
import { segmentCsv } from './segments.js'
import { DASHBOARD_PRESETS, type DayRange, type HealthFigures } from './report.js'
import { isoDay } from './report.js'

const DAY_MS = 86_400_000
const MAX_RANGE_DAYS = 400

const day = z.iso.date({ error: 'Use a date like 2026-01-31' })
const HealthQuery = z.object({
  days: z.coerce.number().int().min(1).max(MAX_RANGE_DAYS).optional().catch(undefined),
  from: day.optional(),
  to: day.optional(),
  computed: z.string().max(10).optional(),
})

/** /admin/health: the community health dashboard, for staff (admins and moderators). */
export async function activityRoutes(app: FastifyInstance): Promise<void> {
  const { activity, health, segments } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()

  async function requireStaff(req: FastifyRequest) {
    const user = await requireMember(req)
    ensure(viewerOf(user), 'viewHealth', undefined)
    return user
  }

  r.get('/admin/health', { schema: { querystring: HealthQuery }, preHandler: requireStaff }, async (req, reply) => {
    const range = rangeOf(req.query)
    const backfilledAt = await activity.backfilledAt()
    // Closed days the nightly job has not rolled yet (it has not run since) are rolled now: incremental.
    if (backfilledAt) await activity.rollDays()
    const figures = await health.figures(range)
    return reply.view('admin/health', {
      title: 'Community health',
      ...present(figures),
      backfilledAt,
      computed: req.query.computed === '1',
      presets: DASHBOARD_PRESETS.map((days) => ({ days, active: !req.query.from && (req.query.days ?? 30) === days })),
      fromValue: isoDay(range.from),
      toValue: isoDay(range.to),
      isAdmin: req.user?.role === 'admin',
      kinds: ACTIVITY_KIND_NAMES.map((k) => ({ kind: k, label: ACTIVITY_KINDS[k].label })),
    })
  })

  r.post('/admin/health/compute', { schema: { body: FormBody }, preHandler: requireStaff }, async (_req, reply) => {
    await activity.nightly()
    return reply.redirect('/admin/health?computed=1', 303)
  })

  // ── segments ────────────────────────────────────────────────────────────────
  const SegmentParams = z.object({ key: pathText(40) })
  const SegmentQuery = z.object({ sent: queryText, saved: queryText })

  async function segmentsPage(req: FastifyRequest, extra: Record<string, unknown> = {}) {
    return {
      title: 'Member segments',
      segments: await segments.list(viewerOf(req.user!)),
      stages: STAGES.map((s) => ({ name: s.name, label: s.label })),
      values: {},
      ...extra,
    }
  }

  r.get('/admin/segments', { schema: { querystring: SegmentQuery }, preHandler: requireAdmin }, async (req, reply) => {
    return reply.view('admin/segments', await segmentsPage(req))
  })

  r.post('/admin/segments', { schema: { body: MultiFormBody }, preHandler: requireAdmin }, async (req, reply) => {
    const form = req.body
    return handleForm(reply, 'admin/segments', form as Record<string, string>, async () => {
      const id = await segments.save(viewerOf(req.user!), form)
      return reply.redirect(`/admin/segments/${id}?saved=1`, 303)
    }, await segmentsPage(req))
  })

  async function segmentPage(req: FastifyRequest, key: string, extra: Record<string, unknown> = {}) {
    const segment = await segments.get(viewerOf(req.user!), key)
    const [members, total, programs] = await Promise.all([segments.members(segment.filter), segments.count(segment.filter), segments.openPrograms()])
    return { title: segment.name, segment, members, total, shown: members.length, programs, values: {}, ...extra }
  }

  r.get('/admin/segments/:key', { schema: { params: SegmentParams, querystring: SegmentQuery }, preHandler: requireAdmin }, async (req, reply) => {
    return reply.view('admin/segment', await segmentPage(req, req.params.key, { sent: req.query.sent, saved: req.query.saved }))
  })

  r.get('/admin/segments/:key/members.csv', { schema: { params: SegmentParams }, preHandler: requireAdmin }, async (req, reply) => {
    const segment = await segments.get(viewerOf(req.user!), req.params.key)
    const csv = segmentCsv(await segments.members(segment.filter, { all: true }))
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="segment-${segment.key}.csv"`)
      .send(csv)
  })

  r.post('/admin/segments/:key/message', { schema: { params: SegmentParams, body: FormBody }, preHandler: requireAdmin }, async (req, reply) => {
    const form = req.body
    return handleForm(reply, 'admin/segment', form, async () => {
      const sent = await segments.message(viewerOf(req.user!), req.params.key, form)
      return reply.redirect(`/admin/segments/${req.params.key}?sent=${sent}`, 303)
    }, await segmentPage(req, req.params.key))
  })

  const BetaInviteForm = z.object({ programId: idField() })
  r.post('/admin/segments/:key/beta-invite', { schema: { params: SegmentParams, body: FormBody }, preHandler: requireAdmin }, async (req, reply) => {
    const form = req.body
    return handleForm(reply, 'admin/segment', form, async () => {
      const parsed = BetaInviteForm.safeParse(form)
      if (!parsed.success) throw new Invalid({ programId: 'Choose a beta program' })
      const sent = await segments.inviteToBeta(viewerOf(req.user!), req.params.key, parsed.data.programId)
      return reply.redirect(`/admin/segments/${req.params.key}?sent=${sent}`, 303)
    }, await segmentPage(req, req.params.key))
  })

  r.post('/admin/segments/:id/delete', { schema: { params: IdParams, body: FormBody }, preHandler: requireAdmin }, async (req, reply) => {
    await segments.remove(viewerOf(req.user!), req.params.id)
    return reply.redirect('/admin/segments', 303)
  })

  r.get('/api/v1/admin/health', { schema: { querystring: HealthQuery }, preHandler: requireStaff }, async (req) => {
    return { data: await health.figures(rangeOf(req.query)) }
  })
}

// The range asked for: explicit dates, or the last N closed days (30 by default).
function rangeOf(query: z.output<typeof HealthQuery>): DayRange {
  const yesterday = new Date(startOfToday().getTime() - DAY_MS)
  if (query.from || query.to) {
    const to = query.to ? new Date(`${query.to}T00:00:00Z`) : yesterday
    const from = query.from ? new Date(`${query.from}T00:00:00Z`) : new Date(to.getTime() - 29 * DAY_MS)
    if (from > to) throw new Invalid({ from: 'The start must be on or before the end' })
    if ((to.getTime() - from.getTime()) / DAY_MS > MAX_RANGE_DAYS) throw new Invalid({ from: `Choose at most ${MAX_RANGE_DAYS} days` })
    return { from, to }
  }
  const days = query.days ?? 30
  return { from: new Date(yesterday.getTime() - (days - 1) * DAY_MS), to: yesterday }
}

function startOfToday(): Date {
  const now = new Date()
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

// The figures as the page shows them: charts drawn, numbers formatted.
function present(f: HealthFigures) {
  const labels = f.daily.map((d) => `${d.day.getUTCDate()} ${MONTHS[d.day.getUTCMonth()]}`)
  const activeChart = lineChart(
    labels,
    [
      { name: 'Monthly active', key: 'mau', values: f.daily.map((d) => d.mau) },
      { name: 'Weekly active', key: 'wau', values: f.daily.map((d) => d.wau) },
      { name: 'Daily active', key: 'dau', values: f.daily.map((d) => d.dau) },
    ],
    'Active members per day',
  )
  const stageChart = barChart(
    f.stages.counts.map((s) => ({ label: s.label, value: s.members, key: s.stage })),
    'Members at each stage',
  )
  const share = (n: number, of: number) => (of ? `${Math.round((n * 100) / of)}%` : '—')
  return {
    figures: f,
    activeChart,
    stageChart,
    dailyRows: f.daily
      .map((d, i) => ({ ...d, label: labels[i], ratio: d.mau ? `${Math.round((d.dau * 1000) / d.mau) / 10}%` : '—' }))
      .reverse(),
    newShare: share(f.newMembers.settledParticipated, f.newMembers.settled),
    referralRate: share(f.newMembers.referred, f.newMembers.joined),
    cohortRows: f.cohorts.map((c) => ({
      month: `${MONTHS[c.month.getUTCMonth()]} ${c.month.getUTCFullYear()}`,
      size: c.size,
      cells: c.retention.map((p) => (p === null ? { empty: true } : { value: `${p}%`, heat: Math.min(10, Math.round(p / 10)) })),
    })),
    cohortHeads: [...Array(12).keys()].map((k) => `M${k}`),
    response: {
      ...f.response,
      median: duration(f.response.median),
      p90: duration(f.response.p90),
      staffMedian: duration(f.response.staff.median),
      staffP90: duration(f.response.staff.p90),
      communityMedian: duration(f.response.community.median),
      communityP90: duration(f.response.community.p90),
    },
  }
}

// Minutes as a person reads them: "45 min", "3.5 h", "2.1 days".
function duration(minutes: number | null): string {
  if (minutes === null) return '—'
  if (minutes < 90) return `${Math.round(minutes)} min`
  if (minutes < 48 * 60) return `${Math.round(minutes / 6) / 10} h`
  return `${Math.round(minutes / 144) / 10} days`
}
