import { markdownToText } from '../../core/markdown.js'

function xml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
}

export interface FeedEntry {
  id: string
  title: string
  url: string
  author: string
  updated: Date
  published: Date
  summaryMarkdown: string
}

/** An Atom 1.0 document; every piece of member text is escaped. */
export function atomFeed(feed: { id: string; title: string; url: string; selfUrl: string; entries: FeedEntry[] }): string {
  const updated = feed.entries.reduce((max, e) => (e.updated > max ? e.updated : max), new Date(0))
  const entries = feed.entries
    .map(
      (e) => `  <entry>
    <id>${xml(e.id)}</id>
    <title>${xml(e.title)}</title>
    <link rel="alternate" type="text/html" href="${xml(e.url)}"/>
    <author><name>${xml(e.author)}</name></author>
    <published>${e.published.toISOString()}</published>
    <updated>${e.updated.toISOString()}</updated>
    <summary type="text">${xml(markdownToText(e.summaryMarkdown, 500))}</summary>
  </entry>`,
    )
    .join('\n')
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${xml(feed.id)}</id>
  <title>${xml(feed.title)}</title>
  <link rel="alternate" type="text/html" href="${xml(feed.url)}"/>
  <link rel="self" type="application/atom+xml" href="${xml(feed.selfUrl)}"/>
  <updated>${(feed.entries.length ? updated : new Date()).toISOString()}</updated>
${entries}
</feed>
`
}
