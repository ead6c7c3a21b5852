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

t.test("posts show this site's uploaded images only; another site's picture becomes a link", async (t) => {
  const own = '/uploads/0123456789abcdef0123456789abcdef.jpg'
  t.equal(renderMarkdown(`![a cat](${own} "Tom")`).html, `<p><img src="${own}" alt="a cat" loading="lazy" title="Tom" /></p>\n`)
  t.equal(
    renderMarkdown('![a cat](https://tracker.example/cat.png)').html,
    '<p><a href="https://tracker.example/cat.png" rel="nofollow ugc noopener">a cat</a></p>\n',
    'a hot-linked image is a link to it, named by its alt text',
  )
  t.match(renderMarkdown('![](http://tracker.example/pixel.gif)').html, /<a href="http:\/\/tracker.example\/pixel.gif" rel="nofollow ugc noopener">http:\/\/tracker.example\/pixel.gif<\/a>/, 'or by its address')
  for (const src of ['/uploads/../secret.png', '/uploads/0123456789abcdef0123456789abcdef.svg', '//evil.example/uploads/0123456789abcdef0123456789abcdef.jpg', 'data:image/png;base64,AAAA', '/static/logo.png']) {
    t.notMatch(renderMarkdown(`![x](${src})`).html, /<img/, `no image from ${src}`)
  }
  t.notMatch(renderMarkdown('![x](javascript:alert(1))').html, /<img|href="javascript/)
})
