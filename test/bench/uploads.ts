/**
 * Upload pipeline benchmark: `npm run bench:uploads`.
 * Makes a 12-megapixel photo-like JPEG (4000 × 3000, gaussian noise, so it compresses like
 * a real photo, with EXIF and GPS), then times what an upload does to it in the web process:
 * sniffing the bytes, reading the header (the pixel guard), turning it upright, scaling to the
 * community's largest dimension (1920 px) and re-encoding without metadata. Prints the
 * median and worst of BENCH_RUNS runs (default 7, after one warm-up), the file sizes, the
 * process's peak RSS, and the same for the avatar path (square crop, two sizes).
 * BENCH_CONCURRENCY > 1 also times that many uploads at once (members posting together).
 */
import os from 'node:os'
import sharp from 'sharp'
import { processAvatar, processImage, sniff } from '../../src/features/uploads/images.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 7)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4)
const limits = { maxPixels: 40_000_000, maxDimension: 1920 }

const started = performance.now()
const photo = await sharp({ create: { width: 4000, height: 3000, channels: 3, background: { r: 110, g: 130, b: 150 }, noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
  .jpeg({ quality: 90 })
  .withExif({ IFD0: { Make: 'BenchCam', Model: 'B1' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' } })
  .toBuffer()
console.log(`photo: 4000 × 3000 JPEG, ${(photo.length / 1024 / 1024).toFixed(1)} MB (made in ${Math.round(performance.now() - started)} ms)`)
console.log(`machine: ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, libvips threads ${sharp.concurrency()}`)

async function pipeline() {
  const kind = await sniff(photo)
  if (!kind) throw new Error('not recognised')
  return processImage(photo, kind, limits)
}

async function time(label: string, run: () => Promise<{ data?: Buffer; files?: { data: Buffer }[] }>) {
  await run()
  const ms: number[] = []
  let bytes = 0
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    const out = await run()
    ms.push(performance.now() - t0)
    bytes = out.data?.length ?? out.files!.reduce((sum, f) => sum + f.data.length, 0)
  }
  ms.sort((a, b) => a - b)
  console.log(`${label}: median ${Math.round(ms[Math.floor(ms.length / 2)]!)} ms, best ${Math.round(ms[0]!)} ms, worst ${Math.round(ms[ms.length - 1]!)} ms over ${RUNS} runs; stored ${(bytes / 1024).toFixed(0)} KB`)
}

await time('image (sniff, guard, rotate, 1920 px, re-encode)', pipeline)
await time('avatar (square crop, 256 and 96 px WebP)', () => processAvatar(photo, limits))
if (CONCURRENCY > 1) {
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, pipeline))
  const total = performance.now() - t0
  console.log(`${CONCURRENCY} images at once: ${Math.round(total)} ms in all, ${(CONCURRENCY / (total / 1000)).toFixed(1)} photos/s`)
}
const out = await pipeline()
const meta = await sharp(out.data).metadata()
console.log(`output: ${meta.width} × ${meta.height} ${meta.format}, EXIF ${meta.exif ? 'present (!)' : 'none'}`)
console.log(`peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`)
