import { z } from 'zod'
import { idField } from '../../core/http.js'
import { lf } from '../../core/newlines.js'
import { MAX_PATTERN_LENGTH, MAX_REPLACEMENT_LENGTH } from './watched.js'

/** A moderator's decision on a held post (form and API). */
export const DecisionInput = z.object({
  action: z.enum(['approve', 'reject', 'keep', 'delete'], { error: 'Approve or reject' }),
  reason: z.string().trim().max(500, 'Keep the reason under 500 characters').default(''),
})

/** The author's edit of a post awaiting review. */
export const HeldEditInput = z.object({
  title: z.string().trim().optional(),
  body: z.string({ error: 'Write something first' }).transform(lf),
})

/** A staff decision on a sign-up application. */
export const ApplicationDecisionInput = z.object({
  action: z.enum(['approve', 'reject'], { error: 'Approve or turn down' }),
  reason: z.string().trim().max(500, 'Keep the reason under 500 characters').default(''),
})

/** Marking a member as a spammer: why (shown in the log). */
export const SpammerInput = z.object({
  reason: z.string().trim().max(500, 'Keep the reason under 500 characters').default('Spam'),
})

/** A new watched word or pattern. */
export const WatchedWordInput = z
  .object({
    pattern: z.string({ error: 'Enter a word or a pattern' }).trim().min(1, 'Enter a word or a pattern').max(MAX_PATTERN_LENGTH, `Patterns are at most ${MAX_PATTERN_LENGTH} characters`),
    isRegex: z.preprocess((v) => v === true || v === 'on' || v === 'true', z.boolean()).default(false),
    action: z.enum(['block', 'hold', 'flag', 'replace'], { error: 'Choose block, hold, flag or replace' }),
    replacement: z.string().trim().max(MAX_REPLACEMENT_LENGTH, `Replacements are at most ${MAX_REPLACEMENT_LENGTH} characters`).default(''),
  })
  .refine((v) => v.action !== 'replace' || v.replacement.length > 0, { path: ['replacement'], message: 'Say what to replace it with' })

/** A new invitation link. */
export const InviteInput = z.object({
  maxUses: z.coerce.number({ error: 'Enter a number' }).int('Enter a whole number').min(1, 'At least 1').max(100, 'At most 100').default(1),
  days: z.coerce.number({ error: 'Enter a number' }).int('Enter a whole number').min(1, 'At least 1 day').max(90, 'At most 90 days').default(14),
})

/** Blocked-list entry ids in a path. */
export const BlockedParams = z.object({ id: idField() })
