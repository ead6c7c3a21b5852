/**
 * Server-rendered SVG charts for the health dashboard: they need no JavaScript, obey the
 * strict CSP (no inline styles: colours come from classes in hearth.css), scale to the
 * page's width, and every chart has its numbers in a table beside it.
 */
import { compactCount } from '../../core/views.js'

export interface Series {
  name: string
  /** A CSS class suffix: the line gets `chart-line chart-<key>`. */
  key: string
  values: number[]
}

const W = 640
const H = 220
const PAD = { top: 12, right: 12, bottom: 28, left: 44 }

export function lineChart(labels: string[], series: Series[], title: string): string {
  if (!labels.length) return ''
  const max = niceMax(Math.max(1, ...series.flatMap((s) => s.values)))
  const innerW = W - PAD.left - PAD.right
  const innerH = H - PAD.top - PAD.bottom
  const x = (i: number) => PAD.left + (labels.length === 1 ? innerW / 2 : (i * innerW) / (labels.length - 1))
  const y = (v: number) => PAD.top + innerH - (v / max) * innerH
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = Math.round(max * f)
      return `<line class="chart-grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}"/><text class="chart-axis" x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end">${compactCount(v)}</text>`
    })
    .join('')
  const ticks = tickIndexes(labels.length, 6)
    .map((i) => `<text class="chart-axis" x="${x(i)}" y="${H - 8}" text-anchor="middle">${escape(labels[i]!)}</text>`)
    .join('')
  const lines = series
    .map((s) => {
      const points = s.values.map((v, i) => `${round(x(i))},${round(y(v))}`).join(' ')
      return `<polyline class="chart-line chart-${escape(s.key)}" points="${points}"><title>${escape(s.name)}</title></polyline>`
    })
    .join('')
  const legend = series.map((s) => `<span class="legend-item"><span class="legend-swatch chart-${escape(s.key)}"></span>${escape(s.name)}</span>`).join('')
  return `<figure class="chart"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${escape(title)}" preserveAspectRatio="xMidYMid meet">${grid}${ticks}${lines}</svg><figcaption class="legend">${legend}</figcaption></figure>`
}

/** Horizontal bars, one per row: label, value. */
export function barChart(rows: { label: string; value: number; key?: string }[], title: string): string {
  if (!rows.length) return ''
  const max = Math.max(1, ...rows.map((r) => r.value))
  const rowH = 26
  const labelW = 120
  const h = rows.length * rowH + 4
  const bars = rows
    .map((r, i) => {
      const w = Math.max(r.value > 0 ? 2 : 0, ((W - labelW - 60) * r.value) / max)
      const top = i * rowH + 4
      return `<text class="chart-axis" x="${labelW - 8}" y="${top + 15}" text-anchor="end">${escape(r.label)}</text><rect class="chart-bar chart-${escape(r.key ?? 'bar')}" x="${labelW}" y="${top}" width="${round(w)}" height="${rowH - 8}" rx="3"/><text class="chart-value" x="${labelW + round(w) + 6}" y="${top + 15}">${r.value}</text>`
    })
    .join('')
  return `<figure class="chart"><svg viewBox="0 0 ${W} ${h}" role="img" aria-label="${escape(title)}" preserveAspectRatio="xMidYMid meet">${bars}</svg></figure>`
}

// A round upper bound for an axis: 1, 2 or 5 times a power of ten.
function niceMax(n: number): number {
  const p = 10 ** Math.floor(Math.log10(n))
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p
  return 10 * p
}

function tickIndexes(n: number, most: number): number[] {
  if (n <= most) return [...Array(n).keys()]
  const step = (n - 1) / (most - 1)
  return [...Array(most).keys()].map((i) => Math.round(i * step))
}

function round(n: number): number {
  return Math.round(n * 10) / 10
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
