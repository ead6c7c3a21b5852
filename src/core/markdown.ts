import MarkdownIt from 'markdown-it'
import sanitizeHtml from 'sanitize-html'

/** What rendering produced: safe HTML, and the usernames it mentions (without `@`). */
export interface Rendered {
  html: string
  mentions: string[]
}

const MENTION = /(^|[^\w@/.])@([A-Za-z0-9][A-Za-z0-9_-]{2,19})\b/g

/** Mentions in one post that become links (and notifications); later ones stay plain text. */
export const MAX_MENTION_LINKS = 30
/** The most HTML one post may render to; a longer result is shortened, with a note. */
export const MAX_RENDERED_BYTES = 128 * 1024

/** An image this site stores (src/features/uploads): the only `<img src>` a post may show. */
export const OWN_UPLOAD = /^\/uploads\/[a-f0-9]{32}(?:-[0-9]{2,4})?\.(?:jpg|png|webp|gif)$/

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false })

// Every link a member writes is marked as theirs and not endorsed, and opens normally.
const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options))
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx]!.attrSet('rel', 'nofollow ugc noopener')
  return defaultLinkOpen(tokens, idx, options, env, self)
}

// A ```poll block is data, not text: features/polls reads it when the post is saved and the
// thread page shows the poll itself under the post, so the block renders as nothing.
const defaultFence = md.renderer.rules.fence!
md.renderer.rules.fence = (tokens, idx, options, env, self) =>
  tokens[idx]!.info.trim().toLowerCase() === 'poll' ? '' : defaultFence(tokens, idx, options, env, self)

/** The contents of the fenced blocks of one kind (```poll …```), in order, as markdown-it finds them. */
export function fencedBlocks(source: string, info: string): string[] {
  return md
    .parse(source, {})
    .filter((t) => t.type === 'fence' && t.info.trim().toLowerCase() === info)
    .map((t) => t.content)
}

// @mentions become profile links in text (never inside code or existing links).
md.core.ruler.after('linkify', 'mentions', (state) => {
  const env = state.env as { mentions?: string[]; mentionLinks?: number }
  const found = (env.mentions ??= [])
  for (const block of state.tokens) {
    if (block.type !== 'inline' || !block.children) continue
    const children = []
    let insideLink = 0
    for (const token of block.children) {
      if (token.type === 'link_open') insideLink++
      if (token.type === 'link_close') insideLink--
      if (token.type !== 'text' || insideLink > 0 || !token.content.includes('@')) {
        children.push(token)
        continue
      }
      let last = 0
      const text = token.content
      for (const m of text.matchAll(MENTION)) {
        // Past the limit the rest stay text: 65 KB of "@name " must not become a megabyte of links.
        if ((env.mentionLinks ?? 0) >= MAX_MENTION_LINKS) break
        env.mentionLinks = (env.mentionLinks ?? 0) + 1
        const start = m.index + m[1]!.length
        const name = m[2]!
        if (start > last) children.push(textToken(state, text.slice(last, start)))
        const open = new state.Token('link_open', 'a', 1)
        open.attrs = [['href', `/u/${name}`], ['class', 'mention']]
        children.push(open, textToken(state, `@${name}`), new state.Token('link_close', 'a', -1))
        if (!found.some((f) => f.toLowerCase() === name.toLowerCase())) found.push(name)
        last = start + name.length + 1
      }
      if (last < text.length) children.push(textToken(state, text.slice(last)))
    }
    block.children = children
  }
})

function textToken(state: { Token: new (type: string, tag: string, nesting: -1 | 0 | 1) => { content: string } }, content: string) {
  const token = new state.Token('text', '', 0)
  token.content = content
  return token as never
}

const sanitizeOptions: sanitizeHtml.IOptions = {
  allowedTags: [
    'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'code', 'em', 'strong', 's', 'del',
    'ul', 'ol', 'li', 'a', 'img', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  ],
  allowedAttributes: {
    a: ['href', 'rel', 'class', 'title'],
    img: ['src', 'alt', 'title', 'loading'],
    code: ['class'],
    ol: ['start'],
    th: ['align'],
    td: ['align'],
  },
  allowedClasses: { a: ['mention'], code: [/^language-[\w-]+$/] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowProtocolRelative: false,
  transformTags: {
    // Belt and braces: every link keeps rel even if markdown-it's rule is bypassed.
    a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: 'nofollow ugc noopener' } }),
    // Pictures come from this site's uploads only: another site's image would tell it who reads
    // the post (and could change after moderation). It becomes a link to the picture instead.
    img: (tagName, attribs): sanitizeHtml.Tag => {
      const src = attribs.src ?? ''
      if (OWN_UPLOAD.test(src)) {
        const kept: sanitizeHtml.Attributes = { src, alt: attribs.alt ?? '', loading: 'lazy' }
        if (attribs.title) kept.title = attribs.title
        return { tagName, attribs: kept }
      }
      return { tagName: 'a', attribs: { href: src, rel: 'nofollow ugc noopener' }, text: attribs.alt || src || 'image' }
    },
  },
}

/**
 * Renders member-written markdown: raw HTML is off (it shows as text), the output is
 * sanitised to an allowlist, links are `rel="nofollow ugc"`, and `@name` links to the profile.
 */
export function renderMarkdown(source: string): Rendered {
  let env: { mentions?: string[] } = {}
  let html = sanitizeHtml(md.render(source, env), sanitizeOptions)
  // Markdown can multiply its size (a list of empty items, a table): a post whose HTML is
  // over the limit is rendered again from a proportionally shorter source, then noted.
  let kept = source.length
  for (let attempt = 0; Buffer.byteLength(html) > MAX_RENDERED_BYTES && attempt < 4; attempt++) {
    kept = Math.floor((kept * MAX_RENDERED_BYTES * 0.9) / Buffer.byteLength(html))
    env = {}
    html = sanitizeHtml(md.render(source.slice(0, kept), env), sanitizeOptions) + SHORTENED
  }
  if (Buffer.byteLength(html) > MAX_RENDERED_BYTES) html = `<p>${escapeHtml(source.slice(0, MAX_RENDERED_BYTES / 8))}</p>${SHORTENED}`
  return { html, mentions: env.mentions ?? [] }
}

const SHORTENED = '<p><em>(This post is too long to show in full.)</em></p>'

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** Plain text of a markdown source, for excerpts, feeds and mail (no markup at all). */
export function markdownToText(source: string, maxLength = 300): string {
  const text = sanitizeHtml(md.render(source), { allowedTags: [], allowedAttributes: {} })
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ')
    .trim()
  return text.length > maxLength ? `${text.slice(0, maxLength - 1).trimEnd()}…` : text
}
