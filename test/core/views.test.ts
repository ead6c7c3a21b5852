import t from 'tap'
import { createHandlebars, latin1Source } from '../../src/core/views.js'

t.test("a page template's text beyond Latin-1 becomes character references; its values do not", async (t) => {
  t.equal(latin1Source('<p>♥ café › 😀</p>'), '<p>&#9829; café &#8250; &#128512;</p>', 'Latin-1 stays, the rest (an emoji as one reference) goes')
  t.equal(latin1Source('{{> field hint="“3–20”"}} — {{!-- a “comment” --}}'), '{{> field hint="“3–20”"}} &#8212; {{!-- a “comment” --}}', 'inside {{ }} nothing changes')
  const page = createHandlebars({ html: true }).compile('<h1>{{title}} — ♥</h1>')
  const html = page({ title: 'Über “quotes”' })
  t.equal(html, '<h1>Über “quotes” &#8212; &#9829;</h1>', "a value is left as it is: only the template's own text changes")
  t.equal(createHandlebars().compile('♥ {{x}}')({ x: 1 }), '♥ 1', "mail's plain text keeps its characters")
})
