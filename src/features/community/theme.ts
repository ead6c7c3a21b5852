import { createHash } from 'node:crypto'

/** Hearth's own page backgrounds (static/css/hearth.css), which an accent must stand out from. */
const LIGHT_BG = '#fbfaf8'
const DARK_BG = '#171513'

type Rgb = [number, number, number]

function rgb(hex: string): Rgb {
  return [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as Rgb
}

function hex(c: Rgb): string {
  return `#${c.map((v) => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, '0')).join('')}`
}

function mix(a: Rgb, b: Rgb, weightOfB: number): Rgb {
  return a.map((v, i) => v + (b[i]! - v) * weightOfB) as Rgb
}

function luminance(c: Rgb): number {
  const [r, g, b] = c.map((v) => {
    const s = v / 255
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
  }) as Rgb
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}

/** WCAG contrast ratio of two colours. */
export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(rgb(a)), luminance(rgb(b))].sort((p, q) => q - p) as [number, number]
  return (x + 0.05) / (y + 0.05)
}

// Moves a colour towards `towards` until it reads on `bg` (links and focus rings are the accent).
function readableOn(color: Rgb, bg: string, towards: Rgb): Rgb {
  let c = color
  for (let step = 0; step < 20 && contrast(hex(c), bg) < 4.5; step++) c = mix(c, towards, 0.1)
  return c
}

function accentVariables(accent: string, bg: string, dark: boolean): string {
  const base = dark ? mix(rgb(accent), [255, 255, 255], 0.3) : rgb(accent)
  const main = readableOn(base, bg, dark ? [255, 255, 255] : [0, 0, 0])
  const fg = contrast(hex(main), '#ffffff') >= contrast(hex(main), '#111111') ? '#ffffff' : '#111111'
  const soft = mix(main, rgb(bg), dark ? 0.8 : 0.9)
  return `--accent: ${hex(main)}; --accent-fg: ${fg}; --accent-soft: ${hex(soft)};`
}

/**
 * The community's colours as a stylesheet (`/theme.css`): its accent, adjusted so links stay
 * readable in light and dark mode, and each category's colour as `.cat-<id>`. Pages link it
 * with a version, so it is cached for good and a change is seen at once; no inline styles.
 * Only validated `#rrggbb` values reach it.
 */
export function themeCss(accent: string | null, categories: readonly { id: number; color: string | null }[]): { css: string; version: string } {
  const lines = ['/* The community\'s colours, set in /admin. */']
  if (accent) {
    lines.push(`:root { ${accentVariables(accent, LIGHT_BG, false)} }`)
    lines.push(`@media (prefers-color-scheme: dark) { :root { ${accentVariables(accent, DARK_BG, true)} } }`)
  }
  for (const c of categories) if (c.color && /^#[0-9a-f]{6}$/.test(c.color)) lines.push(`.cat-${c.id} { --cat: ${c.color}; }`)
  const css = `${lines.join('\n')}\n`
  return { css, version: createHash('sha256').update(css).digest('hex').slice(0, 12) }
}
