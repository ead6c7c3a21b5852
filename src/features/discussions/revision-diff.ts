import { type ChangeObject, diffLines, diffWordsWithSpace } from 'diff'

/** One run of text in a diff: kept, inserted or deleted. */
export interface DiffPart {
  type: 'same' | 'ins' | 'del'
  text: string
  /** An inserted or deleted run of only whitespace across a line break (an added or removed blank line): shown with a mark, or it would be invisible. */
  blank?: boolean
}

/** A run of the diff to show: text (kept context and changes, word by word), or a gap of unchanged lines left out. */
export type DiffHunk = { kind: 'text'; parts: DiffPart[] } | { kind: 'gap'; lines: number }

/** What changed between two texts, ready to show: the changes with a little context, and how many words came and went. */
export interface TextDiff {
  hunks: DiffHunk[]
  wordsAdded: number
  wordsRemoved: number
}

/** Unchanged lines shown around each change; longer unchanged stretches collapse to a gap. */
export const CONTEXT_LINES = 2
// Budgets: two 64 KB texts with nothing in common must not hold a request for long. The edit
// lengths bound the work deterministically (the diff is O(size × edits)); the times are a
// backstop only, generous enough that a busy machine never turns a small edit into a block.
const LINE_EDITS = 500
const WORD_EDITS = 1000
/** Changed blocks longer than this (both sides, characters) are shown as replaced lines, without a word-level pass. */
const WORD_DIFF_CHARS = 8000
const BACKSTOP_MS = 1000

const words = (text: string) => text.match(/\S+/g)?.length ?? 0

function splitLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/)
  return lines[lines.length - 1] === '' ? lines.slice(0, -1) : lines
}

/**
 * The difference between two versions of a post's Markdown: line by line first, then word
 * by word inside each changed block (so a corrected typo shows as one word, and an added
 * paragraph as an added paragraph). Unchanged stretches keep CONTEXT_LINES lines on each
 * side of a change; the rest is a gap. A diff past its budget shows the old block deleted
 * and the new inserted, which is still true.
 */
export function textDiff(before: string, after: string): TextDiff {
  const lines: ChangeObject<string>[] = diffLines(before, after, { maxEditLength: LINE_EDITS, timeout: BACKSTOP_MS }) ?? [
    { value: before, removed: true, added: false, count: 1 },
    { value: after, removed: false, added: true, count: 1 },
  ]
  // Consecutive removed/added chunks form one change block; unchanged chunks stay as they are.
  const blocks: ({ kind: 'same'; text: string } | { kind: 'change'; removed: string; added: string })[] = []
  for (const chunk of lines) {
    if (!chunk.added && !chunk.removed) {
      blocks.push({ kind: 'same', text: chunk.value })
      continue
    }
    let last = blocks[blocks.length - 1]
    if (!last || last.kind !== 'change') {
      last = { kind: 'change', removed: '', added: '' }
      blocks.push(last)
    }
    if (chunk.removed) last.removed += chunk.value
    else last.added += chunk.value
  }

  const hunks: DiffHunk[] = []
  let wordsAdded = 0
  let wordsRemoved = 0
  const push = (part: DiffPart) => {
    if (part.text === '') return
    let last = hunks[hunks.length - 1]
    if (!last || last.kind !== 'text') {
      last = { kind: 'text', parts: [] }
      hunks.push(last)
    }
    const previous = last.parts[last.parts.length - 1]
    if (previous && previous.type === part.type) previous.text += part.text
    else last.parts.push({ ...part })
  }
  blocks.forEach((block, i) => {
    if (block.kind === 'same') {
      const kept = splitLines(block.text)
      const head = i > 0 ? CONTEXT_LINES : 0
      const tail = i < blocks.length - 1 ? CONTEXT_LINES : 0
      if (kept.length <= head + tail) {
        push({ type: 'same', text: block.text })
        return
      }
      push({ type: 'same', text: kept.slice(0, head).join('') })
      hunks.push({ kind: 'gap', lines: kept.length - head - tail })
      push({ type: 'same', text: kept.slice(kept.length - tail).join('') })
      return
    }
    wordsRemoved += words(block.removed)
    wordsAdded += words(block.added)
    const inner = block.removed && block.added && block.removed.length + block.added.length <= WORD_DIFF_CHARS ? diffWordsWithSpace(block.removed, block.added, { maxEditLength: WORD_EDITS, timeout: BACKSTOP_MS }) : undefined
    if (!inner) {
      push({ type: 'del', text: block.removed })
      push({ type: 'ins', text: block.added })
      return
    }
    for (const part of inner) push({ type: part.added ? 'ins' : part.removed ? 'del' : 'same', text: part.value })
  })
  // Word counts come from the word-level diff where there is one: a one-word fix is one word, not a line.
  const counted = hunks.flatMap((h) => (h.kind === 'text' ? h.parts : []))
  for (const hunk of hunks) {
    if (hunk.kind !== 'text') continue
    for (const part of hunk.parts) if (part.type !== 'same' && part.text.includes('\n') && part.text.trim() === '') part.blank = true
  }
  return {
    hunks,
    wordsAdded: Math.min(wordsAdded, counted.filter((p) => p.type === 'ins').reduce((n, p) => n + words(p.text), 0)),
    wordsRemoved: Math.min(wordsRemoved, counted.filter((p) => p.type === 'del').reduce((n, p) => n + words(p.text), 0)),
  }
}
