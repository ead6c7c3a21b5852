/** The links of a rendered post: their count and their domains (mentions are not links). */
export function linkDomains(html: string): { count: number; domains: string[] } {
  const domains = new Set<string>()
  let count = 0
  for (const m of html.matchAll(/<a\s([^>]*)>/g)) {
    const attrs = m[1]!
    if (attrs.includes('class="mention"')) continue
    const href = /href="([^"]*)"/.exec(attrs)?.[1]
    if (!href) continue
    count++
    const domain = domainOf(href.replace(/&amp;/g, '&'))
    if (domain) domains.add(domain)
  }
  return { count, domains: [...domains] }
}

/** The host of an absolute http(s) link, lower-cased and without `www.`; null for relative links. */
export function domainOf(href: string): string | null {
  if (!/^https?:\/\//i.test(href)) return null
  try {
    const host = new URL(href).hostname.toLowerCase()
    return host.startsWith('www.') ? host.slice(4) : host
  } catch {
    return null
  }
}
