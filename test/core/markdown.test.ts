import t from 'tap'
import { markdownToText, renderMarkdown } from '../../src/core/markdown.js'

// A corpus of the usual cross-site scripting tricks; none may survive as markup.
const XSS = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '[click](javascript:alert(1))',
  '[click](JaVaScRiPt:alert(1))',
  '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '![x](javascript:alert(1))',
  '<a href="javascript:alert(1)">x</a>',
  '<iframe src="https://evil.example"></iframe>',
  '<svg onload=alert(1)>',
  '<style>body{display:none}</style>',
  '[x](vbscript:msgbox(1))',
  '<div style="background:url(javascript:alert(1))">',
  '"><script>alert(1)</script>',
  '<details open ontoggle=alert(1)>',
  '[a](https://ok.example "title\\" onmouseover=\\"alert(1)")',
  '```\n</code><script>alert(1)</script>\n```',
]

t.test('markdown XSS corpus renders inert', async (t) => {
  for (const source of XSS) {
    const { html } = renderMarkdown(source)
    // Only real tags count: escaped text such as `&lt;img onerror=…&gt;` is harmless.
    const tags = [...html.matchAll(/<([a-z][a-z0-9]*)([^>]*)>/gi)]
    for (const [tag, name, attrs] of tags) {
      t.ok(['p', 'a', 'img', 'pre', 'code', 'br'].includes(name!.toLowerCase()), `only safe elements (${tag}) for: ${source}`)
      const names = attrs!.replace(/"[^"]*"/g, '""')
      t.notMatch(names, /\son\w+\s*=/i, `no event handler attribute in ${tag}`)
      t.notMatch(names, /\s(style|srcdoc)\s*=/i, `no style in ${tag}`)
      t.notMatch(attrs, /(href|src)\s*=\s*"\s*(javascript|vbscript|data):/i, `no script URL in ${tag}`)
    }
  }
})

t.test('markdown features members expect', async (t) => {
  const code = renderMarkdown('```ts\nconst a = 1 < 2\n```').html
  t.match(code, /<pre><code class="language-ts">const a = 1 &lt; 2\n<\/code><\/pre>/)
  const link = renderMarkdown('see https://example.com').html
  t.match(link, /<a href="https:\/\/example.com" rel="nofollow ugc noopener">/, 'autolinks are nofollow ugc')
  const { html, mentions } = renderMarkdown('thanks @alice and @Bob_2 — not `@code`, not a@b.com, @alice again')
  t.same(mentions, ['alice', 'Bob_2'], 'each mention once, not in code or emails')
  t.match(html, /<a href="\/u\/alice" class="mention"/)
  t.match(html, /<code>@code<\/code>/)
  t.match(renderMarkdown('<b>bold?</b>').html, /&lt;b&gt;bold\?&lt;\/b&gt;/, 'raw HTML shows as text')
  t.equal(markdownToText('**Hi** there\n\n- one\n- two', 11), 'Hi there o…')
})
