import { z } from 'zod'

/**
 * Where the community's logo and favicon come from. Today an owner gives an address: a path
 * on this site (`/static/…`, or an uploaded file's path) or an `https://` URL. This is the
 * seam for uploaded images: when the uploads pipeline lands, an upload is stored here as
 * `upload:<id>` and `communityImageUrl` turns it into that upload's served URL — the
 * settings form, the stored key and every page that shows the logo stay as they are.
 */
export const CommunityImageSource = z
  .string()
  .trim()
  .max(500, 'Keep the address under 500 characters')
  .refine((v) => v === '' || isSitePath(v) || isHttpsUrl(v), {
    message: 'Give a path on this site (starting with /) or an https:// address',
  })

/** The URL a page shows for a stored logo or favicon source, or null when none is set. */
export function communityImageUrl(source: string): string | null {
  if (source === '') return null
  if (isSitePath(source) || isHttpsUrl(source)) return source
  return null
}

// One leading slash only: `//host/x` is another site, `/\host` is too in some browsers.
function isSitePath(v: string): boolean {
  return /^\/(?![/\\])[^\s"'<>]*$/.test(v)
}

function isHttpsUrl(v: string): boolean {
  return URL.canParse(v) && new URL(v).protocol === 'https:' && !/[\s"'<>]/.test(v)
}
