import { z } from 'zod'
import { optionalIdField } from '../../core/http.js'

/**
 * A member lookup as the composer types `@al`: the start of a username (or display name),
 * and the thread being written in, whose participants come first.
 */
export const MemberLookupQuery = z.object({
  q: z
    .string()
    .trim()
    .max(20, 'Usernames are at most 20 characters')
    .regex(/^[A-Za-z0-9_-]*$/, 'Usernames have only letters, digits, _ and -')
    .default(''),
  threadId: optionalIdField(),
})
export type MemberLookupQuery = z.output<typeof MemberLookupQuery>
