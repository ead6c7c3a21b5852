import { z } from 'zod'
import type { BetaSignupStatus } from '../../core/db-types.js'
import { IdParams, idField } from '../../core/http.js'

export const QUESTION_TYPES = ['short_text', 'long_text', 'single_choice', 'multiple_choice'] as const
export type QuestionType = (typeof QUESTION_TYPES)[number]

/** How many question slots the no-JavaScript program form offers. */
export const FORM_QUESTION_SLOTS = 5

export const SIGNUP_LABELS: Record<BetaSignupStatus, string> = {
  accepted: 'Accepted',
  pending: 'Pending review',
  waitlisted: 'Waitlisted',
  declined: 'Declined',
  withdrawn: 'Withdrawn',
}

export const Question = z
  .object({
    id: z.string().regex(/^[a-z0-9_]{1,32}$/, 'Question ids use a-z, 0-9 and _'),
    label: z.string({ error: 'Write the question' }).trim().min(1, 'Write the question').max(300, 'Questions are at most 300 characters'),
    type: z.enum(QUESTION_TYPES, { error: 'Choose the kind of answer' }),
    required: z.boolean().default(false),
    choices: z.array(z.string().trim().min(1).max(100, 'Choices are at most 100 characters')).max(20, 'At most 20 choices').default([]),
  })
  .refine((q) => !q.type.endsWith('_choice') || (q.choices.length >= 2 && new Set(q.choices).size === q.choices.length), {
    path: ['choices'],
    message: 'Give at least two different choices',
  })
  .transform((q) => (q.type.endsWith('_choice') ? q : { ...q, choices: [] }))
export type Question = z.output<typeof Question>

const dateTime = (message: string) =>
  z
    .union([z.date(), z.string().trim().min(1, message)])
    .transform((v, ctx) => {
      // A datetime-local field has no zone; the form says its times are UTC.
      const date = v instanceof Date ? v : new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`)
      if (Number.isNaN(date.getTime())) {
        ctx.addIssue({ code: 'custom', message })
        return z.NEVER
      }
      return date
    })

const optional = <T extends z.ZodType>(schema: T) => z.union([z.literal('').transform(() => undefined), z.null().transform(() => undefined), schema]).optional()

export const NewProgramInput = z
  .object({
    title: z.string({ error: 'Give the program a title' }).trim().min(3, 'Titles are at least 3 characters').max(120, 'Titles are at most 120 characters'),
    description: z.string().trim().max(20_000, 'Keep the description under 20,000 characters').default(''),
    ideaId: optional(idField('Give an idea number')),
    opensAt: dateTime('Say when sign-ups open').default(() => new Date()),
    closesAt: optional(dateTime('Say when sign-ups close')),
    capacity: z.coerce.number({ error: 'How many seats?' }).int('Seats are a whole number').min(1, 'At least one seat').max(100_000, 'At most 100,000 seats'),
    minTrustLevel: z.coerce.number().int().min(0, 'Trust levels go from 0 to 4').max(4, 'Trust levels go from 0 to 4').default(0),
    membersOnly: z.boolean().default(false),
    reviewMode: z.enum(['auto', 'manual'], { error: 'Choose how sign-ups are accepted' }).default('auto'),
    questions: z.array(Question).max(20, 'At most 20 questions').default([]),
  })
  .refine((p) => !p.closesAt || p.closesAt > p.opensAt, { path: ['closesAt'], message: 'Sign-ups must close after they open' })
  .refine((p) => new Set(p.questions.map((q) => q.id)).size === p.questions.length, { path: ['questions'], message: 'Question ids must differ' })
export type NewProgramInput = z.output<typeof NewProgramInput>

/** Turns the flat fields of the program form (q1_label, q1_type, …) into the API's shape. */
export function programFromForm(form: Record<string, string | string[] | undefined>): Record<string, unknown> {
  const one = (k: string) => {
    const v = form[k]
    return Array.isArray(v) ? v[0] : v
  }
  const questions = []
  // The edit form may hold more slots than a new program's (one per existing question, plus spares).
  const slots = Math.max(FORM_QUESTION_SLOTS, ...Object.keys(form).map((k) => Number(/^q(\d{1,2})_/.exec(k)?.[1] ?? 0)))
  const kept = new Set(Array.from({ length: slots }, (_, i) => one(`q${i + 1}_id`)).filter(Boolean))
  for (let i = 1; i <= slots; i++) {
    const label = one(`q${i}_label`)?.trim()
    if (!label) continue
    // An existing question keeps its id (its answers are stored under it); a new one takes a free `qN`.
    let id = one(`q${i}_id`) || `q${i}`
    for (let n = i; !one(`q${i}_id`) && kept.has(id); n++) id = `q${n + 1}`
    kept.add(id)
    questions.push({
      id,
      label,
      type: one(`q${i}_type`),
      required: one(`q${i}_required`) === 'on',
      choices: (one(`q${i}_choices`) ?? '').split(/[\n,]/).map((c) => c.trim()).filter(Boolean),
    })
  }
  return {
    title: one('title'),
    description: one('description'),
    ideaId: one('ideaId'),
    opensAt: one('opensAt'),
    closesAt: one('closesAt'),
    capacity: one('capacity'),
    minTrustLevel: one('minTrustLevel'),
    membersOnly: one('membersOnly') === 'on',
    reviewMode: one('reviewMode'),
    questions,
  }
}

/**
 * The zod schema of one program's answers, built from its questions: required answers
 * must be there, choices must be among the offered ones. Unknown keys are dropped.
 */
export function answersSchema(questions: Question[]) {
  const shape: Record<string, z.ZodType> = {}
  for (const q of questions) {
    const missing = `Answer "${q.label}"`
    let field: z.ZodType
    if (q.type === 'short_text' || q.type === 'long_text') {
      const max = q.type === 'short_text' ? 200 : 5_000
      const text = z.string({ error: missing }).trim().max(max, `Keep this under ${max.toLocaleString('en')} characters`)
      field = q.required ? text.min(1, missing) : text.optional().transform((v) => v || undefined)
    } else if (q.type === 'single_choice') {
      const choice = z.enum(q.choices as [string, ...string[]], {
        error: (issue) => (issue.input === undefined ? missing : 'Choose one of the offered answers'),
      })
      field = z.preprocess((v) => (v === '' ? undefined : v), q.required ? choice : choice.optional())
    } else {
      const choices = z
        .preprocess(
          (v) => (v === undefined || v === '' ? [] : Array.isArray(v) ? v : [v]),
          // Checked as a whole so the message belongs to the question, not to one of its items.
          z.array(z.unknown(), { error: 'Choose among the offered answers' }).refine(
            (list) => list.every((c) => typeof c === 'string' && q.choices.includes(c)),
            'Choose among the offered answers',
          ),
        )
        .transform((list) => [...new Set(list as string[])])
      field = q.required ? choices.refine((list) => list.length > 0, missing) : choices
    }
    shape[q.id] = field
  }
  return z.object(shape)
}

/** Answers arrive as `{answers: {…}}` (API) or as `a_<questionId>` form fields. */
export function answersFromForm(form: Record<string, string | string[] | undefined>): Record<string, unknown> {
  const answers: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(form)) if (key.startsWith('a_')) answers[key.slice(2)] = value
  return answers
}

export const SignupBody = z.object({ answers: z.record(z.string(), z.unknown()).default({}) })

export const ReviewInput = z.object({
  decision: z.enum(['accept', 'decline'], { error: 'Accept or decline' }),
  note: z.string().trim().max(1_000, 'Keep the note under 1,000 characters').default(''),
})

/** Closing or reopening sign-ups, with an optional reason for the moderation log. */
export const ClosingInput = z.object({ reason: z.string().trim().max(500, 'Keep the reason under 500 characters').default('') })

export const ProgramParams = IdParams
export const ReviewParams = IdParams.extend({ userId: idField() })

/** The questions of a sign-up or RSVP form, with what the member typed and each field's message (for the page). */
export function questionFields(questions: Question[], answers: Record<string, unknown>, errors: Record<string, string>) {
  return questions.map((q) => {
    const value = answers[q.id]
    const picked = new Set(Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)])
    return {
      ...q,
      [q.type]: true,
      value: typeof value === 'string' ? value : '',
      options: q.choices.map((c) => ({ value: c, checked: picked.has(c) })),
      error: errors[`answers.${q.id}`],
    }
  })
}
