import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { paths } from '../../src/core/paths.js'
import { createHandlebars, latin1Source } from '../../src/core/views.js'

t.test("a page template's text beyond Latin-1 becomes character references; its values do not", async (t) => {
  t.equal(latin1Source('<p>♥ café › 😀</p>'), '<p>&#9829; café &#8250; &#128512;</p>', 'Latin-1 stays, the rest (an emoji as one reference) goes')
  t.equal(latin1Source('{{> field hint="“3–20”"}} — {{!-- a “comment” --}}'), '{{> field hint="“3–20”"}} &#8212; {{!-- a “comment” --}}', 'inside {{ }} nothing changes')
  const page = createHandlebars({ html: true }).compile('<h1>{{title}} — ♥</h1>')
  const html = page({ title: 'Über “quotes”' })
  t.equal(html, '<h1>Über “quotes” &#8212; &#9829;</h1>', "a value is left as it is: only the template's own text changes")
  t.equal(createHandlebars().compile('♥ {{x}}')({ x: 1 }), '♥ 1', "mail's plain text keeps its characters")
})

t.test('every avatar size a template asks for has its size in the style sheet', async (t) => {
  const css = fs.readFileSync(path.join(paths.static, 'css/hearth.css'), 'utf8')
  const sizes = new Set<string>(['32']) // the helper's default
  const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
  for (const file of [...walk(paths.views), ...walk(path.join(paths.views, '../src'))].filter((f) => /\.(hbs|ts)$/.test(f))) {
    const text = fs.readFileSync(file, 'utf8')
    for (const m of text.matchAll(/\{\{avatar [^}]*?(\d+)\}\}|avatar!?\([^)]*?, (\d+)\)/g)) sizes.add(m[1] ?? m[2]!)
  }
  t.ok(sizes.has('28'), 'the post partial\'s size is found')
  for (const px of sizes) t.match(css, `img.a${px} { width: ${px}px; height: ${px}px; }`, `avatars of ${px} px`)
  t.match(createHandlebars().compile('{{avatar 7 "ann" null 28}}')({}), /^<img class="avatar a28" src="\/avatars\/7\/A\.svg" alt="" loading="lazy">$/)
})
