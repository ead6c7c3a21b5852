import { z } from 'zod'
import { hexColor } from '../discussions/schemas.js'
import { CommunityImageSource } from './images.js'

/** The community identity form in /admin (and its JSON API). */
export const CommunityForm = z.object({
  community_name: z.string({ error: 'Name the community' }).trim().min(2, 'Names are at least 2 characters').max(80, 'Names are at most 80 characters'),
  tagline: z.string().trim().max(160, 'Keep the tagline under 160 characters').default(''),
  logo_url: CommunityImageSource.default(''),
  favicon_url: CommunityImageSource.default(''),
  accent_color: hexColor('Use a colour like #2563eb').transform((v) => v ?? ''),
  guidelines: z.string().trim().min(1, 'Write the guidelines new members read').max(20_000, 'Keep the guidelines under 20,000 characters'),
  about: z.string().trim().max(20_000, 'Keep the about text under 20,000 characters').default(''),
  contact: z
    .string()
    .trim()
    .max(300, 'Keep the contact under 300 characters')
    .refine((v) => !/[<>]/.test(v), 'Write an address, a link or a sentence, without < or >')
    .default(''),
})
export type CommunityForm = z.output<typeof CommunityForm>
