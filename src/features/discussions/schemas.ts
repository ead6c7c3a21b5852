import { z } from 'zod'
import { idField, optionalIdField, pathText } from '../../core/http.js'
import { cursorId, cursorParam, cursorTime, isCursor } from '../../core/cursor.js'
import { lf } from '../../core/newlines.js'

const id = idField()
const optionalId = optionalIdField()

/** A `#rrggbb` colour (also `#rgb`, widened), stored lowercase; empty means none. */
export function hexColor(message: string) {
  return z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/, message)
      .transform((c) => (c.length === 4 ? `#${c[1]}${c[1]}${c[2]}${c[2]}${c[3]}${c[3]}` : c))
      .optional(),
  )
}

export const SlugParams = z.object({ slug: pathText(60) })

export const CategoryInput = z
  .object({
    name: z.string({ error: 'Name the category' }).trim().min(2, 'Category names are at least 2 characters').max(50, 'Category names are at most 50 characters'),
    slug: z.preprocess(
      (v) => (v === '' ? undefined : v),
      z
        .string()
        .trim()
        .toLowerCase()
        .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'Use lowercase letters, digits and single dashes')
        .max(50, 'Slugs are at most 50 characters')
        .optional(),
    ),
    description: z.string().trim().max(500, 'Keep the description under 500 characters').default(''),
    parentId: optionalId,
    visibility: z.enum(['public', 'members', 'trust'], { error: 'Choose public, members or trust' }).default('public'),
    minTrustLevel: z.coerce.number().int().min(0, 'Trust levels are 0–4').max(4, 'Trust levels are 0–4').default(0),
    whoCanStart: z.enum(['members', 'staff'], { error: 'Choose members or staff' }).default('members'),
    minTrustToStart: z.coerce.number().int().min(0, 'Trust levels are 0–4').max(4, 'Trust levels are 0–4').default(0),
    color: hexColor('Use a colour like #2563eb').optional(),
  })
  .refine((v) => v.visibility !== 'trust' || v.minTrustLevel > 0, {
    path: ['minTrustLevel'],
    message: 'A trust-gated category needs a minimum trust level above 0',
  })
export type CategoryInput = z.output<typeof CategoryInput>

/** An edit of a category in /admin: every field of a new one, plus its place among its siblings. */
export const CategoryUpdateInput = z.intersection(
  CategoryInput,
  z.object({
    position: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number({ error: 'Enter a position' }).int('Enter a whole number').min(1, 'Positions start at 1').max(10_000).optional()),
  }),
)

/** A category deletion: where its threads go. */
export const CategoryDeleteInput = z.object({
  moveTo: idField('Choose the category its threads move to'),
})

/** Titles and bodies: lengths come from community settings, so they are checked in the service. */
export const ThreadInput = z.object({
  categoryId: id,
  title: z.string({ error: 'Give your thread a title' }).trim(),
  body: z.string({ error: 'Write something' }).overwrite(lf),
})

export const ReplyInput = z.object({
  body: z.string({ error: 'Write something' }).overwrite(lf),
  parentId: optionalId,
})

export const EditInput = z.object({
  body: z.string({ error: 'Write something' }).overwrite(lf),
  title: z.string().trim().optional(),
  reason: z.string().trim().max(200, 'Keep the reason under 200 characters').optional(),
})

export const ThreadModerationInput = z.object({
  action: z.enum(['pin', 'unpin', 'lock', 'unlock', 'move'], { error: 'Unknown action' }),
  categoryId: optionalId,
  reason: z.string().trim().max(500).default(''),
})

export const ThreadPatchInput = z.object({
  pinned: z.boolean().optional(),
  locked: z.boolean().optional(),
  categoryId: id.optional(),
  reason: z.string().trim().max(500).default(''),
})

/** Keyset cursor of a category page: (pinned, last_post_at, id) of the last thread shown. */
export const ThreadCursor = z.tuple([z.boolean(), cursorTime, cursorId])

export const ThreadPageQuery = z.object({
  after: optionalId,
  post: optionalId,
  /** Continue a page that was cut short after this post. */
  cont: optionalId,
  /** A post by its number in the thread (#1 is the opening post): answered with a redirect to its page. */
  n: optionalId,
  /** Set after flagging a post, to thank the member. */
  flagged: z.string().max(20).optional(),
  /** Set after choosing a notification level, to confirm it. */
  level: z.string().max(20).optional(),
})

/** The home page's reading lists (and `GET /api/v1/threads`): which list, Top's period, the page's cursor. */
export const READING_LISTS = ['latest', 'top', 'new', 'unread'] as const
export const TOP_PERIODS = ['day', 'week', 'month', 'year', 'all'] as const
/** Keyset cursors of the reading lists: Latest as a category page, New by creation, Unread by activity, Top by score (replies + likes). */
export const LatestCursor = ThreadCursor
export const TimeCursor = z.tuple([cursorTime, cursorId])
export const ScoreCursor = z.tuple([z.number().int().min(0), cursorId])
const listCursor = { latest: LatestCursor, top: ScoreCursor, new: TimeCursor, unread: TimeCursor } as const

export const ReadingListQuery = z
  .object({
    list: z.enum(READING_LISTS, { error: 'Choose latest, top, new or unread' }).or(z.literal('').transform(() => 'latest' as const)).default('latest'),
    period: z.enum(TOP_PERIODS, { error: 'Choose day, week, month, year or all' }).or(z.literal('').transform(() => 'month' as const)).default('month'),
    cursor: z.string().max(200).optional().or(z.literal('').transform(() => undefined)),
  })
  .refine((q) => !q.cursor || isCursor(listCursor[q.list], q.cursor), { path: ['cursor'], message: 'That page link is broken; start from the first page' })
export type ReadingListQuery = z.output<typeof ReadingListQuery>

/** A category page: the keyset cursor of the page (absent or empty on the first). */
export const CategoryPageQuery = z.object({ cursor: cursorParam(ThreadCursor).optional(), level: z.string().max(20).optional() })

/** The reply page: the thread, the post answered, and whether to quote it. */
export const ReplyPageParams = z.object({ id, postId: id })
export const ReplyPageQuery = z.object({ quote: z.string().max(1).optional() })

/** A category's feed: `<slug>.atom`. */
export const FeedParams = z.object({ file: pathText(70) })

/** What a search looks through: everything (posts, with the best matching ideas and members above), or one kind. */
export const SEARCH_TYPES = ['all', 'posts', 'ideas', 'members'] as const
export const SEARCH_SORTS = ['relevance', 'newest', 'likes'] as const
export const SEARCH_PERIODS = ['day', 'week', 'month', 'year'] as const
const blank = (v: unknown) => (v === '' ? undefined : v)
const searchDate = (label: string) =>
  z.preprocess(
    blank,
    z
      .string()
      .trim()
      .regex(/^\d{4}-\d{2}-\d{2}$/, `Give the ${label} date as YYYY-MM-DD`)
      .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), `Give the ${label} date as YYYY-MM-DD`)
      .optional(),
  )

export const SearchQuery = z
  .object({
    q: z.string().trim().max(200, 'Keep the search under 200 characters').default(''),
    type: z.preprocess(blank, z.enum(SEARCH_TYPES, { error: 'Choose all, posts, ideas or members' }).default('all')),
    category: z.string().trim().max(60).optional(),
    author: z.string().trim().max(20).optional(),
    /** Written on or after this day (UTC)… */
    after: searchDate('“after”'),
    /** …and before this one. */
    before: searchDate('“before”'),
    /** Or simply: in the last day, week, month or year. */
    period: z.preprocess(blank, z.enum(SEARCH_PERIODS, { error: 'Choose day, week, month or year' }).optional()),
    sort: z.preprocess(blank, z.enum(SEARCH_SORTS, { error: 'Sort by relevance, newest or likes' }).default('relevance')),
    page: z.coerce.number().int().min(1).max(50, 'Refine your search to see more').default(1),
  })
  .refine((q) => !q.after || !q.before || q.after < q.before, { path: ['before'], message: 'The “before” date must come after the “after” date' })

export const ReadingInput = z.object({
  seconds: z.number().int().min(1).max(120),
})
