import t from 'tap'
import { z } from 'zod'
import { cursorId, cursorNumber, decodeCursor, encodeCursor } from '../../src/core/cursor.js'

const ThreadKey = z.tuple([z.boolean(), z.iso.datetime(), cursorId])
// What every malformed cursor must become: a 400 naming the cursor field.
const brokenLink = { status: 400, field: 'cursor', message: /page link is broken/ }
const ScoreKey = z.tuple([cursorNumber, cursorId])

t.test('a cursor round-trips its row value; dates travel as ISO strings', async (t) => {
  const at = new Date('2026-01-02T03:04:05.678Z')
  const cursor = encodeCursor([true, at, 42])
  t.match(cursor, /^[A-Za-z0-9_-]+$/, 'URL-safe without escaping')
  t.same(decodeCursor(ThreadKey, cursor), [true, '2026-01-02T03:04:05.678Z', 42])
  t.same(decodeCursor(ScoreKey, encodeCursor([0.125, 7])), [0.125, 7])
})

t.test('anything malformed is Invalid on the cursor field, never a crash', async (t) => {
  const raw = (s: string) => Buffer.from(s).toString('base64url')
  const bad = [
    '',
    'not-a-cursor',
    '%%%',
    raw('{}'),
    raw('[1]'),
    raw('[1,2,3]'),
    raw('["1",2]'),
    raw('[1e999,2]'),
    raw('[1,-2]'),
    raw('[1,2.5]'),
    raw('null'),
    raw('[1,2'),
    raw('\u0000'),
  ]
  for (const cursor of bad) {
    t.throws(() => decodeCursor(ScoreKey, cursor), brokenLink, `rejects ${JSON.stringify(cursor)}`)
  }
  t.throws(() => decodeCursor(ThreadKey, encodeCursor([true, 'yesterday', 1])), brokenLink, 'a date that is not ISO')
})
