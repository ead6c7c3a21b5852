import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { fieldErrors, NotFound } from '../../core/errors.js'
import { FormBody, handleForm, MultiFormBody, queryText, requireAdmin, requireUser } from '../../core/http.js'
import {
  answersFromForm,
  FORM_QUESTION_SLOTS,
  ProgramParams,
  programFromForm,
  type Question,
  QUESTION_TYPES,
  questionFields,
  ReviewParams,
} from './schemas.js'

type Form = Record<string, string | string[] | undefined>

const ManageQuery = z.object({ saved: queryText, promoted: queryText })

const TYPE_LABELS: Record<(typeof QUESTION_TYPES)[number], string> = {
  short_text: 'Short text',
  long_text: 'Long text',
  single_choice: 'Single choice',
  multiple_choice: 'Multiple choice',
}

/** Beta programs: the list, a program's page and sign-up, admin creation and review, CSV, and the API. */
export async function betaRoutes(app: FastifyInstance): Promise<void> {
  const { beta } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()
  const program = { schema: { params: ProgramParams } }

  // The question slots of the program form, keeping what the admin typed (an edit form
  // has one slot per existing question, with its id, and two spare ones).
  const slots = (form: Form = {}, count = FORM_QUESTION_SLOTS) =>
    Array.from({ length: Math.max(FORM_QUESTION_SLOTS, count) }, (_, i) => {
      const get = (k: string) => String(form[`q${i + 1}_${k}`] ?? '')
      return {
        n: i + 1,
        id: get('id'),
        label: get('label'),
        choices: get('choices'),
        required: get('required') === 'on',
        types: QUESTION_TYPES.map((t) => ({ value: t, label: TYPE_LABELS[t], selected: get('type') === t })),
      }
    })

  // ── pages ───────────────────────────────────────────────────────────────────
  app.get('/beta', async (req, reply) => reply.view('beta/index', { title: 'Beta programs', programs: await beta.list(req.user) }))

  app.get('/beta/new', async (req, reply) => {
    await requireAdmin(req)
    return reply.view('beta/new', { title: 'New beta program', values: { capacity: '20', minTrustLevel: '0' }, slots: slots() })
  })

  r.post('/beta', { schema: { body: MultiFormBody } }, async (req, reply) => {
    const admin = await requireAdmin(req)
    const form = req.body
    return handleForm(reply, 'beta/new', form, async () => {
      const program = await beta.create(admin, programFromForm(form))
      return reply.redirect(program.url, 303)
    }, { title: 'New beta program', slots: slots(form) })
  })

  // ── editing, closing and reopening (admins) ──────────────────────────────────
  const utcField = (d: Date | null) => (d ? d.toISOString().slice(0, 16) : '')
  function editValues(program: Awaited<ReturnType<typeof beta.get>>): Form {
    const form: Form = {
      title: program.title,
      description: program.descriptionMd,
      ideaId: program.ideaId ? String(program.ideaId) : '',
      opensAt: utcField(program.opensAt),
      closesAt: utcField(program.closesAt),
      capacity: String(program.capacity),
      minTrustLevel: String(program.minTrustLevel),
      membersOnly: program.membersOnly ? 'on' : '',
      reviewMode: program.reviewMode,
    }
    program.questions.forEach((q, i) => {
      const n = i + 1
      Object.assign(form, { [`q${n}_id`]: q.id, [`q${n}_label`]: q.label, [`q${n}_type`]: q.type, [`q${n}_choices`]: q.choices.join('\n'), [`q${n}_required`]: q.required ? 'on' : '' })
    })
    return form
  }
  const editPage = (program: Awaited<ReturnType<typeof beta.get>>, form: Form) => ({
    title: `Edit: ${program.title}`,
    program,
    editing: true,
    slots: slots(form, program.questions.length + 2),
  })

  r.get('/beta/:id/edit', program, async (req, reply) => {
    const admin = await requireAdmin(req)
    const found = await beta.get(req.params.id, admin)
    const values = editValues(found)
    return reply.view('beta/new', { ...editPage(found, values), values })
  })

  r.post('/beta/:id/edit', { schema: { params: ProgramParams, body: MultiFormBody } }, async (req, reply) => {
    const admin = await requireAdmin(req)
    const { id } = req.params
    const form = req.body
    const found = await beta.get(id, admin)
    return handleForm(reply, 'beta/new', form, async () => {
      const result = await beta.update(admin, id, programFromForm(form))
      return reply.redirect(`/beta/${id}/manage?saved=1${result.promoted ? `&promoted=${result.promoted}` : ''}`, 303)
    }, editPage(found, form))
  })

  for (const [path, closed] of [['close', true], ['reopen', false]] as const) {
    r.post(`/beta/:id/${path}`, { schema: { params: ProgramParams, body: FormBody } }, async (req, reply) => {
      const admin = await requireAdmin(req)
      await beta.setClosed(admin, req.params.id, closed, req.body)
      return reply.redirect(`/beta/${req.params.id}/manage`, 303)
    })
    r.post(`/api/v1/beta/:id/${path}`, program, async (req) => beta.setClosed(requireUser(req), req.params.id, closed, req.body ?? {}))
  }

  async function programPage(req: FastifyRequest, id: number, answers: Record<string, unknown> = {}, errors: Record<string, string> = {}) {
    const program = await beta.get(id, req.user)
    return {
      title: program.title,
      program,
      fields: questionFields(program.questions, answers, errors),
      error: Object.values(errors)[0],
      here: `/beta/${id}`,
    }
  }

  r.get('/beta/:id', program, async (req, reply) => {
    const { id } = req.params
    return reply.view('beta/show', await programPage(req, id))
  })

  r.post('/beta/:id/signup', { schema: { params: ProgramParams, body: MultiFormBody } }, async (req, reply) => {
    const { id } = req.params
    if (!req.user) return reply.redirect(`/login?next=${encodeURIComponent(`/beta/${id}`)}`, 303)
    const answers = answersFromForm(req.body)
    try {
      await beta.signUp(req.user, id, { answers })
    } catch (err) {
      const fields = fieldErrors(err)
      if (!fields) throw err
      return reply.code(400).view('beta/show', await programPage(req, id, answers, fields))
    }
    return reply.redirect(`/beta/${id}#my-signup`, 303)
  })

  r.post('/beta/:id/withdraw', program, async (req, reply) => {
    const { id } = req.params
    await beta.withdraw(requireUser(req), id)
    return reply.redirect(`/beta/${id}#my-signup`, 303)
  })

  r.get('/beta/:id/manage', { schema: { params: ProgramParams, querystring: ManageQuery } }, async (req, reply) => {
    const admin = await requireAdmin(req)
    const { id } = req.params
    const data = await beta.signups(admin, id)
    const promoted = Number(req.query.promoted)
    return reply.view('beta/manage', {
      title: `Manage: ${data.program.title}`,
      ...data,
      saved: req.query.saved === '1',
      promoted: Number.isInteger(promoted) && promoted > 0 ? promoted : 0,
    })
  })

  r.post('/beta/:id/signups/:userId/review', { schema: { params: ReviewParams } }, async (req, reply) => {
    const admin = await requireAdmin(req)
    const { id, userId } = req.params
    await beta.review(admin, id, userId, req.body)
    return reply.redirect(`/beta/${id}/manage`, 303)
  })

  r.get('/beta/:id/participants.csv', program, async (req, reply) => {
    const admin = await requireAdmin(req)
    const { id } = req.params
    const { filename, csv } = await beta.participantsCsv(admin, id)
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${filename}"`)
      .header('cache-control', 'no-store')
      .send(csv)
  })

  // ── JSON API ──────────────────────────────────────────────────────────────────
  app.get('/api/v1/beta', async (req) => ({ items: await beta.list(req.user) }))

  app.post('/api/v1/beta', async (req, reply) => reply.code(201).send(await beta.create(requireUser(req), req.body)))

  r.get('/api/v1/beta/:id', program, async (req) => beta.get(req.params.id, req.user))

  r.patch('/api/v1/beta/:id', program, async (req) => beta.update(requireUser(req), req.params.id, req.body))

  r.post('/api/v1/beta/:id/signups', program, async (req, reply) => {
    const { created, ...result } = await beta.signUp(requireUser(req), req.params.id, req.body)
    return reply.code(created ? 201 : 200).send(result)
  })

  r.delete('/api/v1/beta/:id/signups/me', program, async (req) => beta.withdraw(requireUser(req), req.params.id))

  r.get('/api/v1/beta/:id/signups', program, async (req) => {
    const data = await beta.signups(requireUser(req), req.params.id)
    return {
      program: data.program,
      signups: data.signups.map((s) => ({
        userId: s.user_id,
        username: s.username,
        status: s.status,
        position: s.waitlist_position ?? undefined,
        answers: s.answers,
        createdAt: s.created_at,
      })),
    }
  })

  r.post('/api/v1/beta/:id/signups/:userId/review', { schema: { params: ReviewParams } }, async (req) => {
    const { id, userId } = req.params
    return beta.review(requireUser(req), id, userId, req.body)
  })
}
