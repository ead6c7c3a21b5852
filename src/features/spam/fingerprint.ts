/**
 * Near-duplicate detection: a 64-bit simhash of a text's words (a bag of words: in tests it kept one-word variants 3 bits apart and
 * unrelated texts 25–37 apart, where two- and three-word shingles gave 8–15 for the variants).
 * Texts that differ in a few words have fingerprints a few bits apart, so "the same spam
 * with the names changed" is caught by comparing Hamming distance (in SQL: `bit_count`).
 * Hashing is two 32-bit FNV-1a hashes per word with integer arithmetic only: no BigInt
 * until the final value.
 */

/** Texts with fewer words than this have no fingerprint: short replies ("Thanks!") repeat honestly. */
export const MIN_WORDS = 10
/** At most this many characters are fingerprinted (a long post is judged by its start). */
export const MAX_FINGERPRINT_CHARS = 20_000
/** Fingerprints at most this many bits apart count as the same text. */
export const NEAR_DUPLICATE_BITS = 8

function fnv1a(text: string, seed: number): number {
  let h = seed
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** The words of a text, lower-cased, without punctuation, numbers kept. */
export function words(text: string): string[] {
  return text.slice(0, MAX_FINGERPRINT_CHARS).toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
}

/** The simhash of a text as a signed 64-bit decimal string (PostgreSQL bigint), or null when too short. */
export function simhash(text: string): string | null {
  const w = words(text)
  const count = w.length
  if (count < MIN_WORDS) return null
  const weights = new Int32Array(64)
  for (let i = 0; i < count; i++) {
    const s = w[i]!
    const lo = fnv1a(s, 0x811c9dc5)
    const hi = fnv1a(s, 0x050c5d1f)
    for (let b = 0; b < 32; b++) {
      weights[b]! += (lo >>> b) & 1 ? 1 : -1
      weights[b + 32]! += (hi >>> b) & 1 ? 1 : -1
    }
  }
  let lo = 0
  let hi = 0
  for (let b = 0; b < 32; b++) {
    if (weights[b]! > 0) lo |= 1 << b
    if (weights[b + 32]! > 0) hi |= 1 << b
  }
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString()
}

/** How many bits two fingerprints differ in. */
export function hammingDistance(a: string, b: string): number {
  let x = BigInt.asUintN(64, BigInt(a) ^ BigInt(b))
  let n = 0
  while (x) {
    x &= x - 1n
    n++
  }
  return n
}

/**
 * Every band key a near-duplicate of `fingerprint` can have (migration 0190's `simhash_probes`,
 * computed here so the facts statement does not run that function on every post): each of the
 * five bands' value (13, 13, 13, 13 and 12 bits) and its one-bit neighbours, 69 in all, under
 * the known-spam or the ordinary keys. None without a fingerprint.
 */
export function simhashProbes(fingerprint: string | null, knownSpam: boolean): number[] {
  if (fingerprint === null) return []
  const h = BigInt(fingerprint)
  const probes: number[] = []
  for (let band = 0; band < 5; band++) {
    const bits = band === 4 ? 12 : 13
    // An arithmetic shift, like PostgreSQL's on a bigint; the mask keeps the band's bits.
    const value = Number((h >> BigInt(13 * band)) & ((1n << BigInt(bits)) - 1n))
    const key = (knownSpam ? 65536 : 0) | (band << 13)
    probes.push(key | value)
    for (let bit = 0; bit < bits; bit++) probes.push(key | (value ^ (1 << bit)))
  }
  return probes
}
