import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { paths } from '../../src/core/paths.js'
import { createHandlebars } from '../../src/core/views.js'
import { postPartial } from '../../src/features/discussions/post-html.js'

// The post partial is a function (src/features/discussions/post-html.ts); it replaced a Handlebars
// template, kept here as the reference: for every combination a page can ask for, the function
// draws exactly what the template draws, with the same escaping. A change to the post's markup
// is made in both.
const reference = createHandlebars({ html: true })
const fast = createHandlebars({ html: true })
const poll = fs.readFileSync(path.join(paths.views, 'partials/poll.hbs'), 'utf8')
for (const hbs of [reference, fast]) hbs.registerPartial('poll', poll)
// The template was compacted when it loaded: every newline and the indentation after it removed.
const template = fs.readFileSync(path.join(import.meta.dirname, 'post-partial-reference.hbs'), 'utf8')
reference.registerPartial('post', template.replace(/\r?\n[ \t]*/g, ''))
fast.registerPartial('post', postPartial(fast))
const page = (hbs: typeof reference) => hbs.compile('{{#each posts}}{{> post}}{{/each}}')
const drawReference = page(reference)
const drawFast = page(fast)

const hostile = `"><img src=x onerror=alert(1)> & 'quoted' \`tick\` =`
let next = 1
function post(over: Record<string, unknown> = {}): Record<string, unknown> {
  const id = next++
  return {
    id, post_number: id, author_id: 7, author_username: 'ann_b', author_display_name: 'Ann B', author_avatar: null,
    created_at: new Date(Date.UTC(2026, 10, 1, 8, 30)), edited_at: null, revision_count: 1, isNew: false, deleted: false,
    hidden: false, mutedAuthor: false, body_html: '<p>Hello <strong>there</strong></p>\n', like_count: 3, liked: false,
    canEdit: false, depth: 1, reply_count: 0, continues: false, replyTo: null, polls: [], children: [], ...over,
  }
}

const variants: Record<string, unknown>[] = [
  {},
  { isNew: true },
  { deleted: true, body_html: '' },
  { hidden: true },
  { hidden: true, body_html: '' },
  { hidden: true, author_id: 42 },
  { mutedAuthor: true },
  { edited_at: new Date(Date.UTC(2026, 10, 2)), revision_count: 1 },
  { edited_at: new Date(Date.UTC(2026, 10, 2)), revision_count: 4 },
  { replyTo: { postId: 3, number: 3, username: 'bo', href: '#p3', onlyWhenFlat: true } },
  { replyTo: { postId: 3, number: 3, username: hostile, href: `/p/3${hostile}`, onlyWhenFlat: false } },
  { liked: true, like_count: 1 },
  { canEdit: true },
  { canEdit: true, depth: 0 },
  { continues: true, reply_count: 1 },
  { continues: true, reply_count: 12 },
  { author_display_name: hostile, author_username: 'x"y' },
  { author_display_name: '', author_avatar: 'abc123' },
  { author_id: 42 },
  { children: [post(), post({ children: [post({ liked: true })] })] },
  { children: [post()] },
  { polls: [{ id: 5, question: 'Lunch?', kind: 'single' }, {}] },
]
const roots: Record<string, unknown>[] = [
  { thread: { id: 12, slug: 'a-thread' } },
  { thread: { id: 12, slug: 'a-thread' }, currentUser: { id: 42 }, csrfToken: 'tok', canReply: true, canFlag: true },
  { thread: { id: 12, slug: hostile }, currentUser: { id: 7 }, csrfToken: hostile, canReply: true, canFlag: true, canModerate: true },
  { thread: { id: 12, slug: 's' }, currentUser: { id: 42 }, csrfToken: 'tok', canReply: false, canFlag: false },
  { currentUser: { id: 42 }, csrfToken: 'tok' },
]

t.test('the post partial draws what its template drew, for every kind of post and viewer', async (t) => {
  let compared = 0
  for (const root of roots) {
    for (const variant of variants) {
      const context = { ...root, posts: [post(variant)] }
      const expected = drawReference(context)
      t.equal(drawFast(context), expected, JSON.stringify({ variant: Object.keys(variant), root: Object.keys(root) }))
      compared++
    }
  }
  t.equal(compared, roots.length * variants.length)
})

t.test('everything but the stored post HTML is escaped', async (t) => {
  const root = { thread: { id: 12, slug: hostile }, currentUser: { id: 42 }, csrfToken: hostile, canReply: true, canFlag: true, canModerate: true }
  const html = drawFast({ ...root, posts: [post({ author_display_name: hostile, replyTo: { postId: 1, number: 1, username: hostile, href: hostile, onlyWhenFlat: false }, continues: true, reply_count: 2 })] })
  t.notMatch(html, /<img src=x/, 'no markup from a name, a slug, a link or a token')
  t.match(html, /&quot;&gt;&lt;img src&#x3D;x onerror&#x3D;alert\(1\)&gt; &amp; &#x27;quoted&#x27; &#x60;tick&#x60; &#x3D;/)
  t.match(html, /<div class="post-body"><p>Hello <strong>there<\/strong><\/p>/, "the post's own (sanitised) HTML as it is")
})
