import { createHash } from 'node:crypto'
import { fileTypeFromBuffer } from 'file-type'
import sharp, { type Metadata, type Sharp } from 'sharp'
import { AVATAR_SIZES } from '../../core/avatars.js'
import { TooLarge, UnsupportedType } from '../../core/errors.js'

/** The kinds of image Hearth takes, by what the bytes are (never by name or Content-Type). */
export const ACCEPTED = {
  'image/jpeg': { output: 'jpeg', ext: 'jpg' },
  'image/png': { output: 'png', ext: 'png' },
  'image/webp': { output: 'webp', ext: 'webp' },
  'image/gif': { output: 'gif', ext: 'gif' },
  // AVIF is read, and stored as WebP: encoding AVIF costs seconds per photo.
  'image/avif': { output: 'webp', ext: 'webp' },
} as const

type Accepted = keyof typeof ACCEPTED
/** What a stored file is served as, by its extension. */
export const CONTENT_TYPES: Record<string, string> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif' }

/** The limits one upload is processed under (from community settings). */
export interface ImageLimits {
  /** Largest picture, in pixels (width × height × frames): a small file can claim a huge one. */
  maxPixels: number
  /** Longest side after scaling down. */
  maxDimension: number
}

/** One processed file, ready to store. */
export interface ProcessedImage {
  data: Buffer
  /** sha-256 of the bytes, 32 hex characters: the file's name, so a changed picture is a new URL. */
  hash: string
  ext: string
  contentType: string
  width: number
  height: number
}

export const UNSUPPORTED = 'Only JPEG, PNG, WebP, GIF or AVIF images can be uploaded'

/** What the bytes are, when they are an image Hearth takes; null otherwise (HTML, SVG, PDF, anything). */
export async function sniff(data: Buffer): Promise<Accepted | null> {
  const found = await fileTypeFromBuffer(data)
  return found && found.mime in ACCEPTED ? (found.mime as Accepted) : null
}

/** The content hash a stored file is named by. */
export function contentHash(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 32)
}

// Opens the bytes with sharp, refusing a picture whose header claims more pixels than allowed
// before anything is decoded (a 50 KB PNG can claim 50,000 × 50,000 pixels).
async function open(data: Buffer, field: string, limits: ImageLimits, animated: boolean) {
  let meta: Metadata
  try {
    meta = await sharp(data, { limitInputPixels: false }).metadata()
  } catch {
    throw new UnsupportedType('This image could not be read; it may be damaged', field)
  }
  const frames = animated ? (meta.pages ?? 1) : 1
  const width = meta.width ?? 0
  const height = meta.pageHeight ?? meta.height ?? 0
  if (width * height * frames > limits.maxPixels || width * height > limits.maxPixels) {
    const mp = Math.round(limits.maxPixels / 1_000_000)
    throw new TooLarge(`This picture is too large (${width} × ${height}${frames > 1 ? ` × ${frames} frames` : ''}); the limit is ${mp} megapixels`, field)
  }
  // limitInputPixels guards decoding too, whatever the header said.
  return sharp(data, { limitInputPixels: limits.maxPixels, animated, failOn: 'error', sequentialRead: true })
}

async function finish(pipeline: Sharp, field: string, ext: string): Promise<ProcessedImage> {
  try {
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true })
    return { data, hash: contentHash(data), ext, contentType: CONTENT_TYPES[ext]!, width: info.width, height: info.pageHeight ?? info.height }
  } catch (err) {
    if (/pixel limit/i.test(String((err as Error).message))) throw new TooLarge('This picture is too large', field)
    throw new UnsupportedType('This image could not be read; it may be damaged', field)
  }
}

/**
 * An image for a post: turned upright (EXIF orientation), scaled down to fit
 * `maxDimension`, and re-encoded in its own format (AVIF as WebP) without any metadata
 * (EXIF, GPS, XMP, comments: sharp keeps none unless asked). GIFs keep their animation.
 */
export async function processImage(data: Buffer, kind: Accepted, limits: ImageLimits, field = 'image'): Promise<ProcessedImage> {
  const { output, ext } = ACCEPTED[kind]
  const animated = kind === 'image/gif' || kind === 'image/webp'
  const image = (await open(data, field, limits, animated))
    .rotate()
    .resize({ width: limits.maxDimension, height: limits.maxDimension, fit: 'inside', withoutEnlargement: true })
  const encoded =
    // libjpeg-turbo, not mozjpeg: mozjpeg's files are a quarter smaller but take three times
    // as long, and the member waits for this (npm run bench:uploads).
    output === 'jpeg' ? image.jpeg({ quality: 82, progressive: true })
    : output === 'png' ? image.png({ compressionLevel: 8, adaptiveFiltering: false })
    : output === 'webp' ? image.webp({ quality: 82 })
    : image.gif()
  return finish(encoded, field, ext)
}

/**
 * An avatar: upright, cropped to a square around the most interesting part (sharp's
 * attention strategy), one WebP per size in AVATAR_SIZES, first frame only, no metadata.
 * Every size shares the hash of the largest, so `<hash>-<size>.webp` names them all.
 */
export async function processAvatar(data: Buffer, limits: ImageLimits, field = 'avatar'): Promise<{ hash: string; files: ProcessedImage[] }> {
  const source = (await open(data, field, limits, false)).rotate()
  const largest = await finish(
    source.clone().resize({ width: AVATAR_SIZES[AVATAR_SIZES.length - 1], height: AVATAR_SIZES[AVATAR_SIZES.length - 1], fit: 'cover', position: sharp.strategy.attention }).webp({ quality: 85 }),
    field,
    'webp',
  )
  const files = [largest]
  for (const size of AVATAR_SIZES.slice(0, -1)) {
    files.unshift(await finish(sharp(largest.data).resize(size, size).webp({ quality: 85 }), field, 'webp'))
  }
  return { hash: largest.hash, files }
}
