import t from 'tap'
import { CONTEXT_LINES, textDiff } from '../../src/features/discussions/revision-diff.js'

const parts = (before: string, after: string) => textDiff(before, after).hunks.map((h) => (h.kind === 'gap' ? `[${h.lines} lines]` : h.parts.map((p) => (p.type === 'same' ? p.text : `${p.type === 'ins' ? '+' : '-'}{${p.text}}`)).join('')))

t.test('a changed word is shown as that word, inside its line', async (t) => {
  t.same(parts('The cat sat.', 'The dog sat.'), ['The -{cat}+{dog} sat.'])
  const diff = textDiff('The cat sat.', 'The dog sat.')
  t.equal(diff.wordsAdded, 1)
  t.equal(diff.wordsRemoved, 1)
})

t.test('unchanged stretches keep a little context and collapse the rest', async (t) => {
  const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`)
  const before = `${lines.join('\n')}\n`
  const after = before.replace('line 10\n', 'line ten\n')
  t.same(parts(before, after), [`[${10 - CONTEXT_LINES} lines]`, 'line 8\nline 9\nline -{10}+{ten}\nline 11\nline 12\n', `[${20 - 13} lines]`])
})

t.test('added and removed paragraphs, blank lines marked', async (t) => {
  const diff = textDiff('One.\n\nTwo.', 'One.\n\nTwo.\n\nThree.')
  t.same(parts('One.\n\nTwo.', 'One.\n\nTwo.\n\nThree.'), ['One.\n\nTwo.+{\n\nThree.}'])
  t.equal(diff.wordsAdded, 1)
  t.equal(diff.wordsRemoved, 0)
  const blank = textDiff('a\nb', 'a\n\nb').hunks.flatMap((h) => (h.kind === 'text' ? h.parts : []))
  t.ok(blank.some((p) => p.type === 'ins' && p.blank), 'an added blank line is marked, or it would be invisible')
})

t.test('two unrelated long texts still come back, as a whole block replaced', async (t) => {
  const a = Array.from({ length: 4000 }, (_, i) => `alpha ${i} ${i * 7}`).join('\n')
  const b = Array.from({ length: 4000 }, (_, i) => `beta ${i * 3} ${i}`).join('\n')
  const diff = textDiff(a, b)
  const text = diff.hunks.flatMap((h) => (h.kind === 'text' ? h.parts : []))
  t.equal(text.filter((p) => p.type === 'del').map((p) => p.text).join('').replace(/\s/g, '').length, a.replace(/\s/g, '').length - text.filter((p) => p.type === 'same').map((p) => p.text).join('').replace(/\s/g, '').length, 'everything old that is not kept is shown removed')
  t.ok(diff.wordsAdded > 0 && diff.wordsRemoved > 0)
})
