/** One shipped idea as the changelog feed needs it. */
export interface FeedEntry {
  id: number
  title: string
  doneAt: Date
  releaseNoteHtml: string
  url: string
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

/** Escapes text for XML element content and attribute values; drops characters XML 1.0 forbids. */
export function xmlEscape(value: string): string {
  return value
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!)
}

/** The changelog as an Atom 1.0 feed: one entry per done idea, its release note as escaped HTML. */
export function changelogFeed(baseUrl: string, communityName: string, entries: FeedEntry[]): string {
  const updated = (entries[0]?.doneAt ?? new Date(0)).toISOString()
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <title>${xmlEscape(`${communityName} changelog`)}</title>`,
    `  <subtitle>${xmlEscape('Ideas from the community that are now done')}</subtitle>`,
    `  <id>${xmlEscape(`${baseUrl}/changelog`)}</id>`,
    `  <link rel="self" type="application/atom+xml" href="${xmlEscape(`${baseUrl}/feeds/changelog.atom`)}"/>`,
    `  <link rel="alternate" type="text/html" href="${xmlEscape(`${baseUrl}/changelog`)}"/>`,
    `  <updated>${updated}</updated>`,
    `  <author><name>${xmlEscape(communityName)}</name></author>`,
  ]
  for (const entry of entries) {
    const url = `${baseUrl}${entry.url}`
    lines.push(
      '  <entry>',
      `    <title>${xmlEscape(entry.title)}</title>`,
      `    <id>${xmlEscape(url)}</id>`,
      `    <link rel="alternate" type="text/html" href="${xmlEscape(url)}"/>`,
      `    <updated>${entry.doneAt.toISOString()}</updated>`,
      `    <content type="html">${xmlEscape(entry.releaseNoteHtml)}</content>`,
      '  </entry>',
    )
  }
  lines.push('</feed>', '')
  return lines.join('\n')
}
