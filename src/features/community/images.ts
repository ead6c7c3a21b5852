import { z } from 'zod'

/**
 * Where the community's logo and favicon come from: a path on this site, typically an
 * uploaded image's (`/uploads/…`, from the uploads pipeline) or `/static/…`. Images from
 * other sites are not allowed: pages never hot-link them (the CSP's img-src is 'self').
 */
export const CommunityImageSource = z
  .string()
  .trim()
  .max(500, 'Keep the address under 500 characters')
  .refine((v) => v === '' || isSitePath(v), {
    message: 'Give a path on this site, such as an uploaded image’s address (/uploads/…)',
  })

/** The URL a page shows for a stored logo or favicon source, or null when none is set. */
export function communityImageUrl(source: string): string | null {
  if (source === '') return null
  if (isSitePath(source)) return source
  return null
}

// One leading slash only: `//host/x` is another site, `/\host` is too in some browsers.
function isSitePath(v: string): boolean {
  return /^\/(?![/\\])[^\s"'<>]*$/.test(v)
}
