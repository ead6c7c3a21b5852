import { z } from 'zod'
import { cursorCount, cursorId, cursorNumber, isCursor } from '../../core/cursor.js'
import { idField } from '../../core/http.js'
import { lf } from '../../core/newlines.js'
import type { IdeaStatus } from '../../core/db-types.js'

export const IDEA_STATUSES = ['open', 'under_review', 'planned', 'in_progress', 'done', 'declined'] as const satisfies readonly IdeaStatus[]

/** What members read for each status. */
export const STATUS_LABELS: Record<IdeaStatus, string> = {
  open: 'Open',
  under_review: 'Under review',
  planned: 'Planned',
  in_progress: 'In progress',
  done: 'Done',
  declined: 'Declined',
}

/** Statuses after which an idea is closed: no new votes, and held votes come back. */
export const CLOSED_STATUSES: readonly IdeaStatus[] = ['done', 'declined']

const tag = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(24, 'Tags are at most 24 characters')
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'Tags use only letters, digits and -')

/** Tags arrive as an array (API) or one comma-separated field (form). */
const tags = z
  .union([z.array(z.string()), z.string()])
  .optional()
  .transform((v) => (typeof v === 'string' ? v.split(',') : (v ?? [])).map((t) => t.trim()).filter((t) => t.length > 0))
  .pipe(z.array(tag).max(5, 'Use at most 5 tags'))
  .transform((list) => [...new Set(list)])

export const NewIdeaInput = z.object({
  title: z
    .string({ error: 'Give your idea a title' })
    .trim()
    .min(5, 'Titles are at least 5 characters')
    .max(120, 'Titles are at most 120 characters'),
  body: z
    .string({ error: 'Describe your idea' })
    .overwrite(lf)
    .trim()
    .min(10, 'Describe your idea in at least 10 characters')
    .max(20_000, 'Keep the description under 20,000 characters'),
  tags,
})
export type NewIdeaInput = z.output<typeof NewIdeaInput>

/** An edit of an idea: the same fields as proposing it, and an optional reason (logged when staff edit). */
export const EditIdeaInput = NewIdeaInput.extend({
  reason: z.string().trim().max(200, 'Keep the reason under 200 characters').default(''),
})

/** Keyset cursor of a board page: (sort key, id) of the last idea shown; the key of "top" is a vote count. */
export const BoardCursor = z.tuple([cursorNumber, cursorId])
const TopCursor = z.tuple([cursorCount, cursorId])
/** The cursor schema of a board order. */
export const boardCursor = (sort: 'top' | 'trending' | 'new') => (sort === 'top' ? TopCursor : BoardCursor)

export const BoardQuery = z
  .object({
    sort: z.enum(['top', 'trending', 'new'], { error: 'Sort by top, trending or new' }).default('top'),
    status: z.enum(IDEA_STATUSES, { error: 'Unknown status' }).optional().or(z.literal('').transform(() => undefined)),
    tag: tag.optional().or(z.literal('').transform(() => undefined)),
    cursor: z.string().max(200).optional().or(z.literal('').transform(() => undefined)),
  })
  .refine((q) => !q.cursor || isCursor(boardCursor(q.sort), q.cursor), { path: ['cursor'], message: 'That page link is broken; start from the first page' })
export type BoardQuery = z.output<typeof BoardQuery>

export const SimilarQuery = z.object({
  q: z.string({ error: 'Say what to look for' }).trim().max(500, 'Keep the text under 500 characters').default(''),
  typing: z.enum(['1', '0']).optional(),
})

export const StatusInput = z.object({
  status: z.enum(IDEA_STATUSES, { error: 'Choose a status' }),
  note: z
    .string({ error: 'Write a public note explaining the move' })
    .trim()
    .min(1, 'Write a public note explaining the move')
    .max(5_000, 'Keep the note under 5,000 characters'),
})

export const MergeInput = z.object({
  intoId: idField('Say which idea to merge into'),
  note: z.string().trim().max(2_000, 'Keep the note under 2,000 characters').default(''),
})

/** Per-trust-level limits on open votes: `{"0": 5, "1": 10}`; a level not listed is unlimited. */
export const VoteLimits = z.record(z.string().regex(/^[0-4]$/), z.number().int().min(0).max(10_000)).nullable()
export type VoteLimits = z.output<typeof VoteLimits>

/** Notices on an idea's page: after proposing it, or arriving from an idea merged into it. */
export const IdeaPageQuery = z.object({ proposed: z.string().max(1).optional(), saved: z.string().max(1).optional(), merged_from: z.string().max(20).optional() })
