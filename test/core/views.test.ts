import t from 'tap'
import { createHandlebars, latin1Source } from '../../src/core/views.js'

t.test("a page template's text beyond Latin-1 becomes character references; its values do not", async (t) => {
  t.equal(latin1Source('<p>♥ café › 😀</p>'), '<p>&#x2665; café &#x203a; &#x1f600;</p>', 'Latin-1 stays, the rest (an emoji as one reference) goes')
  t.equal(latin1Source('{{> field hint="“3–20”"}} — {{!-- a “comment” --}}'), '{{> field hint="“3–20”"}} &#x2014; {{!-- a “comment” --}}', 'inside {{ }} nothing changes')
  const page = createHandlebars({ html: true }).compile('<h1>{{title}} — ♥</h1>')
  const html = page({ title: 'Über “quotes”' })
  t.equal(html, '<h1>Über “quotes” &#x2014; &#x2665;</h1>', "a value is left as it is: only the template's own text changes")
  t.equal(createHandlebars().compile('♥ {{x}}')({ x: 1 }), '♥ 1', "mail's plain text keeps its characters")
})
