import { z } from 'zod'

/** The kinds of question a survey may ask. */
export const QUESTION_KINDS = ['single', 'multiple', 'scale', 'text', 'nps', 'csat'] as const
export type QuestionKind = (typeof QUESTION_KINDS)[number]

export const QUESTION_LABELS: Record<QuestionKind, string> = {
  single: 'Single choice',
  multiple: 'Multiple choice',
  scale: 'Scale (1 to 5, or as set)',
  text: 'Free text',
  nps: 'NPS: how likely to recommend (0–10)',
  csat: 'CSAT: how satisfied (1–5)',
}

export const MAX_QUESTIONS = 20

/** One question of a survey as stored. */
export const Question = z.object({
  id: z.string().regex(/^q\d{1,3}$/),
  kind: z.enum(QUESTION_KINDS),
  label: z.string().trim().min(3, 'Write the question (at least 3 characters)').max(300),
  choices: z.array(z.string().trim().min(1).max(120)).max(20).default([]),
  required: z.boolean().default(false),
  /** A scale's ends (scale questions). */
  min: z.number().int().min(0).max(10).default(1),
  max: z.number().int().min(1).max(10).default(5),
})
export type Question = z.output<typeof Question>

/** Whom a survey is sent to. */
export const Target = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('everyone') }),
  z.object({ kind: z.literal('category'), categoryId: z.number().int().positive() }),
  z.object({ kind: z.literal('trust'), trustLevel: z.number().int().min(0).max(4) }),
  z.object({ kind: z.literal('segment'), segment: z.string().min(1).max(40) }),
])
export type Target = z.output<typeof Target>

const date = z.coerce.date({ error: 'Give a date' })

/** A new survey (the builder form, or the API). */
export const NewSurveyInput = z
  .object({
    title: z.string().trim().min(3, 'Give the survey a title').max(150),
    intro: z.string().max(5_000).default(''),
    anonymous: z.boolean().default(true),
    target: Target.default({ kind: 'everyone' }),
    opensAt: date.optional(),
    closesAt: date,
    questions: z.array(Question).min(1, 'Ask at least one question').max(MAX_QUESTIONS),
    /** Repeat this survey as its next wave (a series' NPS trend). */
    waveOf: z.number().int().positive().optional(),
  })
  .superRefine((s, ctx) => {
    const opens = s.opensAt ?? new Date()
    if (s.closesAt <= opens) ctx.addIssue({ code: 'custom', path: ['closesAt'], message: 'The survey must close after it opens' })
    for (const [i, q] of s.questions.entries()) {
      if ((q.kind === 'single' || q.kind === 'multiple') && q.choices.length < 2) {
        ctx.addIssue({ code: 'custom', path: ['questions', i, 'choices'], message: `Question ${i + 1}: give at least two choices, one per line` })
      }
      if (q.kind === 'scale' && q.max <= q.min) ctx.addIssue({ code: 'custom', path: ['questions', i, 'max'], message: `Question ${i + 1}: the scale’s top must be above its bottom` })
    }
  })
export type NewSurveyInput = z.output<typeof NewSurveyInput>

/** Staff marking a follow-up item. */
export const FollowupInput = z.object({
  status: z.enum(['open', 'contacted', 'resolved']),
  note: z.string().max(2_000).default(''),
})

/** Question slots on the builder form. */
export const FORM_QUESTION_SLOTS = 6

/** The builder form's fields as NewSurveyInput's shape (the service validates them). */
export function surveyFromForm(form: Record<string, string | string[] | undefined>): Record<string, unknown> {
  const one = (k: string) => {
    const v = form[k]
    return (Array.isArray(v) ? v[0] : v) ?? ''
  }
  const slots = Math.max(FORM_QUESTION_SLOTS, ...Object.keys(form).map((k) => Number(/^q(\d{1,2})_/.exec(k)?.[1] ?? 0)))
  const questions = []
  for (let i = 1; i <= slots; i++) {
    const label = one(`q${i}_label`).trim()
    if (!label) continue
    const kind = one(`q${i}_kind`) || 'single'
    questions.push({
      id: `q${i}`,
      kind,
      label,
      required: one(`q${i}_required`) === 'on',
      choices: one(`q${i}_choices`).split('\n').map((c) => c.trim()).filter(Boolean),
      ...(kind === 'scale' ? { min: Number(one(`q${i}_min`) || 1), max: Number(one(`q${i}_max`) || 5) } : {}),
    })
  }
  const targetKind = one('targetKind') || 'everyone'
  const target =
    targetKind === 'category' ? { kind: 'category', categoryId: Number(one('categoryId')) }
      : targetKind === 'trust' ? { kind: 'trust', trustLevel: Number(one('trustLevel') || 0) }
        : targetKind === 'segment' ? { kind: 'segment', segment: one('segment') }
          : { kind: 'everyone' }
  return {
    title: one('title'),
    intro: one('intro'),
    anonymous: one('anonymous') === 'on',
    target,
    ...(one('opensAt') ? { opensAt: one('opensAt') } : {}),
    closesAt: one('closesAt') || undefined,
    questions,
    ...(one('waveOf') ? { waveOf: Number(one('waveOf')) } : {}),
  }
}
