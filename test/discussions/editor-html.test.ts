import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { createHandlebars } from '../../src/core/views.js'
import { editorHelper, imageFieldPartial } from '../../src/features/discussions/editor-html.js'

// The editor field is a helper written as a function (src/features/discussions/editor-html.ts); it
// replaced a Handlebars partial, kept here as the reference: for every combination the composers
// pass, the helper draws exactly what the partial drew where the page called it. A change to the
// field's markup is made in both. So is the image field (a partial: the new-idea form includes it on its own).
const reference = createHandlebars({ html: true })
const fast = createHandlebars({ html: true })
reference.registerPartial('image-field', fs.readFileSync(path.join(import.meta.dirname, 'image-field-reference.hbs'), 'utf8'))
fast.registerPartial('image-field', imageFieldPartial(fast))
reference.registerPartial('editor', fs.readFileSync(path.join(import.meta.dirname, 'editor-reference.hbs'), 'utf8'))
fast.registerHelper('editorField', editorHelper(fast))
// As the thread page, the new-thread page and an idea page call it (the form's indentation
// included): the partial as the pages called it before, the helper as they call it now.
const calls = [
  'value=values.body preview=previewHtml previewed=previewed error=errors.body label="Your reply" rows=6 thread=thread.id imageError=errors.image}}\n  <div>',
  'value=values.body preview=previewHtml previewed=previewed error=errors.body rows=12 imageError=errors.image}}\n</form>',
  'value=null preview=null previewed=null error=null label="Add a comment" rows=4 thread=idea.threadId imageError=errors.image}}\n</form>',
].map((args, i) => ({ partial: `<form>\n${i === 1 ? '    ' : '        '}{{~> editor ${args}`, helper: `<form>\n${i === 1 ? '    ' : '        '}{{~editorField ${args}` }))
// What each of those pages holds (the new-thread page has no thread: a partial would have read the page's).
const pages = [{ thread: { id: 12 } }, {}, { idea: { threadId: 7 } }]
const hostile = `"><img src=x onerror=alert(1)> & 'q' \`t\` =`
const bodies = ['', 'One line', 'First paragraph\n\n    indented code\n  two spaces\n\nLast', `${hostile}\n\n> quote`, '\nleading newline']

t.test('the function draws what the template drew, for every composer and state', async (t) => {
  let cases = 0
  for (const [i, call] of calls.entries()) {
    const drawReference = reference.compile(call.partial)
    const drawFast = fast.compile(call.helper)
    for (const body of bodies) {
      for (const previewed of [false, true]) {
        for (const preview of ['', '<p>Rendered <strong>preview</strong></p>']) {
          for (const errors of [{}, { body: 'Write something first', image: `Too big ${hostile}` }]) {
            for (const currentUser of [null, { id: 1 }]) {
              const data = { values: { body }, previewHtml: preview, previewed, errors, currentUser, ...pages[i] }
              t.equal(drawFast(data), drawReference(data), JSON.stringify({ call: cases % 3, body: body.slice(0, 10), previewed, preview: !!preview, errors: !!errors.body, member: !!currentUser }))
              cases++
            }
          }
        }
      }
    }
  }
  t.equal(cases, 3 * 5 * 2 * 2 * 2 * 2)
})

t.test('the textarea holds the text exactly, escaped, and marks an error', async (t) => {
  const draw = fast.compile('{{~editorField value=body error=error thread=12}}')
  const text = 'First paragraph\n\n    indented code\n  two spaces\n\n<b>bold?</b> & done'
  const html = draw({ body: text, error: 'Too short', currentUser: { id: 1 } })
  t.match(html, '>First paragraph\n\n    indented code\n  two spaces\n\n&lt;b&gt;bold?&lt;/b&gt; &amp; done</textarea>')
  t.match(html, 'aria-invalid="true"')
  t.match(html, '<p id="f-body-error" class="error" role="alert">Too short</p>')
  t.match(html, 'data-thread-id="12"')
  t.match(html, 'name="image"', 'a member gets the image field')
  t.notMatch(draw({ body: '' }), 'name="image"', 'a guest does not')
})

t.test('the image field on its own, as the new-idea form includes it, draws what its template drew', async (t) => {
  const call = '<form>\n    {{> image-field imageError=errors.image}}\n    <div>'
  const drawReference = reference.compile(call)
  const drawFast = fast.compile(call)
  for (const image of [undefined, '', 'That file is not an image', hostile]) {
    t.equal(drawFast({ errors: { image } }), drawReference({ errors: { image } }), `error: ${String(image).slice(0, 12)}`)
  }
  t.match(drawFast({ errors: { image: 'Too big' } }), '\n    <div class="field upload-field has-error">', 'indented like the form around it')
})
