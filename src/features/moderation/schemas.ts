import { z } from 'zod'
import { idField } from '../../core/http.js'

/** Longest note a flagger may add. */
export const FLAG_NOTE_MAX = 500

export const FlagInput = z
  .object({
    reason: z.enum(['spam', 'inappropriate', 'off_topic', 'other'], { error: 'Choose why you are flagging this post' }),
    note: z
      .string()
      .trim()
      .max(FLAG_NOTE_MAX, `Keep the note under ${FLAG_NOTE_MAX} characters`)
      .default(''),
  })
  .refine((v) => v.reason !== 'other' || v.note.length > 0, { path: ['note'], message: 'Say what is wrong with this post' })

export const ResolveInput = z
  .object({
    action: z.enum(['agree', 'disagree', 'defer'], { error: 'Choose agree, disagree or defer' }),
    outcome: z.enum(['hide', 'delete'], { error: 'Choose to keep the post hidden or delete it' }).default('hide'),
    penalty: z.enum(['none', 'silence', 'suspend'], { error: 'Choose no penalty, silence or suspend' }).default('none'),
    days: z.coerce.number({ error: 'Enter a number of days' }).int('Whole days').min(1, 'At least 1 day').max(3650, 'At most 10 years').default(7),
    reason: z.string().trim().max(500, 'Keep the reason under 500 characters').default(''),
  })
  .refine((v) => v.action !== 'agree' || v.penalty === 'none' || v.reason.length > 0, {
    path: ['reason'],
    message: 'Give the member a reason for the penalty',
  })

const flag = z.coerce.boolean()
export const MemberStandingInput = z.object({
  username: z.string({ error: 'Enter a username' }).trim().min(1, 'Enter a username'),
  role: z.enum(['member', 'moderator', 'admin'], { error: 'Choose member, moderator or admin' }),
  roleLocked: z.preprocess((v) => v === 'on' || v === 'true' || v === true, flag),
  trustLevel: z.coerce.number({ error: 'Trust levels are 0–4' }).int('Trust levels are 0–4').min(0, 'Trust levels are 0–4').max(4, 'Trust levels are 0–4'),
  trustLocked: z.preprocess((v) => v === 'on' || v === 'true' || v === true, flag),
  reason: z.string().trim().max(500, 'Keep the reason under 500 characters').default(''),
})

export const LiftInput = z.object({
  kind: z.enum(['suspension', 'silence'], { error: 'Choose a suspension or a silence to lift' }),
  reason: z.string().trim().max(500, 'Keep the reason under 500 characters').default(''),
})

export const LogQuery = z.object({
  before: idField('Bad page cursor').optional(),
})
