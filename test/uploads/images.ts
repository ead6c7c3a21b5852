import zlib from 'node:zlib'
import sharp from 'sharp'

/** A small PNG of one colour. */
export function png(width = 40, height = 30, colour = { r: 200, g: 80, b: 40 }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } }).png().toBuffer()
}

/** A noisy JPEG (photo-like), optionally with camera and location metadata. */
export function jpeg(width: number, height: number, options: { exif?: boolean; orientation?: number } = {}): Promise<Buffer> {
  let image = sharp({ create: { width, height, channels: 3, background: { r: 90, g: 140, b: 200 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg({ quality: 90 })
  if (options.exif) {
    image = image.withExif({
      IFD0: { Make: 'SecretPhoneMaker', Model: 'Model X', Copyright: 'Private Person' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 2639/100', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 5741/100' },
    })
  }
  if (options.orientation) image = image.withMetadata({ orientation: options.orientation })
  return image.toBuffer()
}

/**
 * A PNG whose header claims a huge picture (`width` × `height`) with almost no data behind
 * it: what a decompression bomb looks like to a server that trusts the header.
 */
export function pngBomb(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(zlib.crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 8 // bit depth
  header[9] = 0 // greyscale
  // One row of zeros, deflated: enough for a decoder to start, and to spend its time on.
  const data = zlib.deflateSync(Buffer.alloc(width + 1))
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', data), chunk('IEND', Buffer.alloc(0))])
}
