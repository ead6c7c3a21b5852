import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { fieldErrors } from '../../core/errors.js'
import { IdParams, idField, MultiFormBody, queryText, requireUser } from '../../core/http.js'
import { rateLimit } from '../../core/rate-limits.js'
import { FORM_QUESTION_SLOTS, QUESTION_KINDS, QUESTION_LABELS, type Question, surveyFromForm } from './schemas.js'

type Form = Record<string, string | string[] | undefined>

const AnswerParams = z.object({ id: idField(), responseId: z.string().regex(/^[0-9a-f-]{36}$/) })
const ThanksQuery = z.object({ thanks: queryText })

/** Surveys: the answer page, staff's builder, results (charts, tables, CSV), follow-ups, and the API. */
export async function surveyRoutes(app: FastifyInstance): Promise<void> {
  const { surveys, categories, referrals, segments } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()
  const viewerOf = (req: FastifyRequest) => categories.viewer(req.user)
  const answerLimit = { preHandler: rateLimit(app, 'survey-answer', 30, 60_000) }

  // The builder's question slots, keeping what was typed.
  const slots = (form: Form = {}) =>
    Array.from({ length: FORM_QUESTION_SLOTS }, (_, i) => {
      const get = (k: string) => String((Array.isArray(form[`q${i + 1}_${k}`]) ? (form[`q${i + 1}_${k}`] as string[])[0] : form[`q${i + 1}_${k}`]) ?? '')
      return {
        n: i + 1, label: get('label'), choices: get('choices'), required: get('required') === 'on', min: get('min') || '1', max: get('max') || '5',
        kinds: QUESTION_KINDS.map((k) => ({ value: k, label: QUESTION_LABELS[k], selected: (get('kind') || (i === 0 ? 'nps' : 'single')) === k })),
      }
    })
  const builder = async (req: FastifyRequest, form: Form = {}) => {
    const viewer = await viewerOf(req)
    return {
      title: 'New survey',
      slots: slots(form),
      categories: (await categories.visible(viewer)).map((c) => ({ id: c.id, name: c.name, selected: String(form.categoryId) === String(c.id) })),
      segments: (await segments.list(viewer)).map((s) => ({ key: s.key, name: s.name, selected: form.segment === s.key })),
      trustLevels: [0, 1, 2, 3, 4].map((n) => ({ n, selected: String(form.trustLevel ?? '1') === String(n) })),
      previous: (await surveys.list(viewer)).map((s) => ({ id: s.id, title: s.title, wave: s.wave, selected: String(form.waveOf) === String(s.id) })),
      values: { anonymous: 'on', targetKind: 'everyone', ...form },
    }
  }

  // ── members ────────────────────────────────────────────────────────────────
  r.get('/surveys', async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    return reply.view('surveys/index', { title: 'Surveys', mine: await surveys.mine(viewer), staff: viewer.user && ['admin', 'moderator'].includes(viewer.user.role) })
  })

  r.get('/surveys/:id', { schema: { params: IdParams, querystring: ThanksQuery } }, async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    const found = await surveys.forAnswering(viewer, req.params.id)
    const thanks = req.query.thanks === 'promoter' || req.query.thanks === '1'
    const link = thanks && req.query.thanks === 'promoter' ? await referrals.linkFor(req.user!.id) : null
    return reply.view('surveys/answer', {
      title: found.survey.title, ...found, questions: questionFields(found.questions, {}, {}), thanks, promoter: req.query.thanks === 'promoter',
      referralUrl: link ? `/r/${link.code}` : null,
    })
  })

  r.post('/surveys/:id', { ...answerLimit, schema: { params: IdParams, body: MultiFormBody } }, async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    const answers = Object.fromEntries(Object.entries(req.body).filter(([k]) => /^q\d{1,3}$/.test(k)))
    try {
      const done = await surveys.answer(viewer, req.params.id, answers)
      return reply.redirect(`/surveys/${req.params.id}?thanks=${done.promoter ? 'promoter' : '1'}`, 303)
    } catch (err) {
      const fields = fieldErrors(err)
      if (!fields) throw err
      const found = await surveys.forAnswering(viewer, req.params.id)
      return reply.code(400).view('surveys/answer', { title: found.survey.title, ...found, questions: questionFields(found.questions, answers, fields), error: Object.values(fields)[0] })
    }
  })

  // ── staff ──────────────────────────────────────────────────────────────────
  r.get('/admin/surveys', async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    return reply.view('surveys/admin', { title: 'Surveys', surveys: await surveys.list(viewer), followups: (await surveys.followupList(viewer)).filter((f) => f.status === 'open').length })
  })

  r.get('/admin/surveys/new', async (req, reply) => {
    requireUser(req)
    await surveys.list(await viewerOf(req))
    return reply.view('surveys/new', await builder(req))
  })

  r.post('/admin/surveys', { schema: { body: MultiFormBody } }, async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    try {
      const created = await surveys.create(viewer, surveyFromForm(req.body))
      return reply.redirect(`/surveys/${created.id}/results?created=1`, 303)
    } catch (err) {
      const fields = fieldErrors(err)
      if (!fields) throw err
      return reply.code(400).view('surveys/new', { ...(await builder(req, req.body)), errors: fields, errorList: Object.values(fields) })
    }
  })

  r.get('/surveys/:id/results', { schema: { params: IdParams, querystring: z.object({ created: queryText, invited: queryText, closed: queryText }) } }, async (req, reply) => {
    requireUser(req)
    const results = await surveys.results(await viewerOf(req), req.params.id)
    return reply.view('surveys/results', { title: `Results: ${results.survey.title}`, ...results, created: !!req.query.created, invitedNow: req.query.invited, closedNow: !!req.query.closed })
  })

  r.get('/surveys/:id/results.csv', { schema: { params: IdParams } }, async (req, reply) => {
    requireUser(req)
    const csv = await surveys.csv(await viewerOf(req), req.params.id)
    return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${csv.filename}"`).send(csv.body)
  })

  r.post('/surveys/:id/invite', { schema: { params: IdParams, body: MultiFormBody } }, async (req, reply) => {
    requireUser(req)
    const n = await surveys.inviteNow(await viewerOf(req), req.params.id)
    return reply.redirect(`/surveys/${req.params.id}/results?invited=${n}`, 303)
  })

  r.post('/surveys/:id/close', { schema: { params: IdParams, body: MultiFormBody } }, async (req, reply) => {
    requireUser(req)
    await surveys.close(await viewerOf(req), req.params.id)
    return reply.redirect(`/surveys/${req.params.id}/results?closed=1`, 303)
  })

  r.post('/surveys/:id/answers/:responseId/idea', { schema: { params: AnswerParams, body: MultiFormBody } }, async (req, reply) => {
    const user = requireUser(req)
    const idea = await surveys.ideaFromAnswer(await viewerOf(req), req.params.id, req.params.responseId, String(req.body.question ?? ''), user)
    return reply.redirect(idea.url, 303)
  })

  r.get('/admin/surveys/followups', async (req, reply) => {
    requireUser(req)
    return reply.view('surveys/followups', { title: 'Survey follow-ups', items: await surveys.followupList(await viewerOf(req)) })
  })

  r.post('/admin/surveys/followups/:id', { schema: { params: IdParams, body: MultiFormBody } }, async (req, reply) => {
    requireUser(req)
    await surveys.setFollowup(await viewerOf(req), req.params.id, { status: req.body.status, note: req.body.note ?? '' })
    return reply.redirect('/admin/surveys/followups', 303)
  })

  // ── API ────────────────────────────────────────────────────────────────────
  r.get('/api/v1/surveys', async (req) => {
    requireUser(req)
    return { items: await surveys.mine(await viewerOf(req)) }
  })

  r.post('/api/v1/surveys', async (req, reply) => {
    requireUser(req)
    return reply.code(201).send(await surveys.create(await viewerOf(req), req.body))
  })

  r.get('/api/v1/surveys/:id', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    const found = await surveys.forAnswering(await viewerOf(req), req.params.id)
    return { ...found.survey, questions: found.questions, canAnswer: found.block === null, block: found.block }
  })

  r.post('/api/v1/surveys/:id/answers', { ...answerLimit, schema: { params: IdParams } }, async (req, reply) => {
    requireUser(req)
    return reply.code(201).send(await surveys.answer(await viewerOf(req), req.params.id, req.body))
  })

  r.get('/api/v1/surveys/:id/results', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    const res = await surveys.results(await viewerOf(req), req.params.id)
    return {
      survey: res.survey, invited: res.invited, responses: res.responses, followupsOpen: res.followupsOpen,
      questions: res.items.map(({ chart: _c, ...q }: Record<string, unknown>) => q),
      waves: res.waves.items,
    }
  })

  r.get('/api/v1/surveys/:id/export', { schema: { params: IdParams } }, async (req, reply) => {
    requireUser(req)
    const csv = await surveys.csv(await viewerOf(req), req.params.id)
    return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${csv.filename}"`).send(csv.body)
  })

  r.get('/api/v1/surveys/followups', async (req) => {
    requireUser(req)
    return { items: await surveys.followupList(await viewerOf(req)) }
  })

  r.post('/api/v1/surveys/followups/:id', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return surveys.setFollowup(await viewerOf(req), req.params.id, req.body)
  })

  r.post('/api/v1/surveys/:id/close', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return { closed: await surveys.close(await viewerOf(req), req.params.id) }
  })

  r.post('/api/v1/surveys/:id/answers/:responseId/idea', { schema: { params: AnswerParams } }, async (req, reply) => {
    const user = requireUser(req)
    const body = (req.body ?? {}) as { question?: unknown }
    return reply.code(201).send(await surveys.ideaFromAnswer(await viewerOf(req), req.params.id, req.params.responseId, String(body.question ?? ''), user))
  })
}

/** Each question with what the member picked or typed and its message. */
function questionFields(questions: Question[], answers: Record<string, unknown>, errors: Record<string, string>) {
  return questions.map((q, i) => {
    const value = answers[q.id]
    const picked = new Set((Array.isArray(value) ? value : value === undefined ? [] : [value]).map(String))
    const [lo, hi] = q.kind === 'nps' ? [0, 10] : q.kind === 'csat' ? [1, 5] : [q.min, q.max]
    return {
      ...q,
      position: i + 1,
      [`is_${q.kind}`]: true,
      choice: q.kind === 'single' || q.kind === 'multiple',
      numeric: q.kind === 'nps' || q.kind === 'csat' || q.kind === 'scale',
      text: typeof value === 'string' && q.kind === 'text' ? value : '',
      options: q.choices.map((c) => ({ value: c, checked: picked.has(c) })),
      steps: Array.from({ length: hi - lo + 1 }, (_, k) => ({ value: lo + k, checked: picked.has(String(lo + k)) })),
      lowLabel: q.kind === 'nps' ? 'Not at all likely' : q.kind === 'csat' ? 'Very unsatisfied' : String(lo),
      highLabel: q.kind === 'nps' ? 'Extremely likely' : q.kind === 'csat' ? 'Very satisfied' : String(hi),
      error: errors[q.id],
    }
  })
}
