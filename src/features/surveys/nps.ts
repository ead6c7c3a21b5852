/** Net Promoter Score with its sample size and a 95% confidence interval. */
export interface NpsResult {
  n: number
  promoters: number
  passives: number
  detractors: number
  /** % promoters − % detractors, −100…100; null without answers. */
  score: number | null
  /** The 95% interval, clipped to −100…100; null without answers. */
  low: number | null
  high: number | null
  /** How the interval was computed: `wald` (the usual variance) or `adjusted` (small or one-sided samples). */
  method: 'wald' | 'adjusted' | null
}

/** Below this many answers, or when one side has none (or all), the interval is the adjusted one. */
export const NPS_SMALL_SAMPLE = 30
const Z95 = 1.959964

const clip = (v: number) => Math.max(-100, Math.min(100, v))
const round1 = (v: number) => Math.round(v * 10) / 10

/**
 * NPS from 0–10 answers: promoters 9–10, passives 7–8, detractors 0–6. Each answer counts
 * +1, 0 or −1, so NPS is 100 × their mean and its variance is
 * (p_pro + p_det − (p_pro − p_det)²) / n; the interval is ±1.96 standard errors.
 *
 * That Wald interval collapses to zero width when every answer is on one side (all
 * promoters: "100 ± 0") and is unreliable for small samples. Then (n < 30, or no promoters,
 * or no detractors, or only one kind of answer) the interval is the adjusted one: one
 * pseudo-answer of each kind is added (Agresti–Caffo's "add one per category" idea for a
 * difference of proportions), the variance computed from the adjusted shares and n + 3, and
 * the interval centred on the adjusted score. The point estimate stays the raw score, and
 * the interval is widened to include it where the adjustment pulled the centre away.
 */
export function nps(scores: readonly number[]): NpsResult {
  const n = scores.length
  const promoters = scores.filter((s) => s >= 9).length
  const detractors = scores.filter((s) => s <= 6).length
  const passives = n - promoters - detractors
  if (n === 0) return { n, promoters, passives, detractors, score: null, low: null, high: null, method: null }
  const score = ((promoters - detractors) / n) * 100
  const adjusted = n < NPS_SMALL_SAMPLE || promoters === 0 || detractors === 0 || promoters === n || detractors === n || passives === n
  const [pro, det, size] = adjusted ? [(promoters + 1) / (n + 3), (detractors + 1) / (n + 3), n + 3] : [promoters / n, detractors / n, n]
  const variance = (pro + det - (pro - det) ** 2) / size
  const centre = (pro - det) * 100
  const half = Z95 * Math.sqrt(variance) * 100
  return {
    n,
    promoters,
    passives,
    detractors,
    score: round1(score),
    low: round1(Math.min(clip(centre - half), score)),
    high: round1(Math.max(clip(centre + half), score)),
    method: adjusted ? 'adjusted' : 'wald',
  }
}
