import fs from 'node:fs'
import { sql } from 'kysely'
import t from 'tap'
import { createTestDatabase } from '../helpers/db.js'

// Stands for "either": generated columns are compared by presence only.
const GENERATED = 'generated' as const

// Kysely's own bookkeeping; db-types.ts declares only the tables Hearth owns.
const KYSELY_TABLES = new Set(['kysely_migration', 'kysely_migration_lock'])

interface Declared {
  /** table name → column name → nullable? */
  tables: Map<string, Map<string, boolean>>
  problems: string[]
}

// Splits a type at its top-level separators (not inside <…>, (…) or {…}).
function splitTop(type: string, separator: string): string[] {
  const parts: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < type.length; i++) {
    const c = type[i]!
    if ('<({['.includes(c)) depth++
    else if ('>)}]'.includes(c) && type[i - 1] !== '=') depth--
    else if (c === separator && depth === 0) {
      parts.push(type.slice(start, i).trim())
      start = i + 1
    }
  }
  parts.push(type.slice(start).trim())
  return parts
}

/**
 * Whether a column's declared type reads as nullable: `T | null`, or a `ColumnType<…>` /
 * `Generated<…>` whose select type (the first argument) is `… | null`.
 */
function declaresNull(type: string): boolean {
  if (splitTop(type, '|').includes('null')) return true
  const wrapped = /^(?:ColumnType|Generated)<([\s\S]*)>$/.exec(type)
  return wrapped ? declaresNull(splitTop(wrapped[1]!, ',')[0]!) : false
}

/**
 * Reads the hand-written declarations in src/core/db-types.ts: each `interface XxxTable { col: Type }`
 * and the `Database` interface mapping table names to them. A column is nullable when its type
 * reads as `| null` (see declaresNull; TypeScript 7 has no compiler API to ask).
 */
function readDeclarations(text: string): Declared {
  const problems: string[] = []
  const interfaces = new Map<string, Map<string, boolean>>()
  for (const m of text.matchAll(/^export interface (\w+Table) \{\n([\s\S]*?)^\}/gm)) {
    const columns = new Map<string, boolean>()
    for (const line of m[2]!.split('\n')) {
      const trimmed = line.trim()
      if (trimmed === '' || trimmed.startsWith('//') || trimmed.startsWith('/*') || trimmed.startsWith('*')) continue
      const col = /^(\w+)(\??):\s*(.+?);?$/.exec(trimmed)
      if (!col) {
        problems.push(`${m[1]}: cannot read the line "${trimmed}"`)
        continue
      }
      if (col[2]) problems.push(`${m[1]}.${col[1]}: optional properties hide nullability; write "| null"`)
      columns.set(col[1]!, declaresNull(col[3]!))
    }
    interfaces.set(m[1]!, columns)
  }
  const database = /^export interface Database \{\n([\s\S]*?)^\}/m.exec(text)
  if (!database) throw new Error('db-types.ts has no Database interface')
  const tables = new Map<string, Map<string, boolean>>()
  for (const line of database[1]!.split('\n')) {
    const entry = /^\s*(\w+):\s*(\w+)\s*$/.exec(line)
    if (!entry) continue
    const columns = interfaces.get(entry[2]!)
    if (!columns) problems.push(`Database.${entry[1]} names ${entry[2]}, which is not declared as an interface`)
    else tables.set(entry[1]!, columns)
  }
  return { tables, problems }
}

/** Every difference between the migrated schema and the declarations, one line each. */
function drift(schema: Map<string, Map<string, boolean | typeof GENERATED>>, declared: Map<string, Map<string, boolean>>): string[] {
  const out: string[] = []
  for (const [table, columns] of schema) {
    const mine = declared.get(table)
    if (!mine) {
      out.push(`table ${table} is in the schema but not in db-types.ts`)
      continue
    }
    for (const [column, nullable] of columns) {
      if (!mine.has(column)) out.push(`${table}.${column} is in the schema but not in db-types.ts`)
      else if (nullable !== GENERATED && mine.get(column) !== nullable) {
        out.push(`${table}.${column} is ${nullable ? 'nullable' : 'NOT NULL'} in the schema but declared ${mine.get(column) ? 'with' : 'without'} "| null"`)
      }
    }
    for (const column of mine.keys()) if (!columns.has(column)) out.push(`${table}.${column} is declared in db-types.ts but not in the schema`)
  }
  for (const table of declared.keys()) if (!schema.has(table)) out.push(`table ${table} is declared in db-types.ts but not in the schema`)
  return out
}

t.test('db-types.ts declares exactly the migrated schema: tables, columns and nullability', async (t) => {
  const { db, drop } = await createTestDatabase()
  t.teardown(drop)
  const { rows } = await sql<{ table_name: string; column_name: string; is_nullable: 'YES' | 'NO'; is_generated: 'ALWAYS' | 'NEVER' }>`
    select c.table_name, c.column_name, c.is_nullable, c.is_generated
    from information_schema.columns c
    join information_schema.tables tb on tb.table_schema = c.table_schema and tb.table_name = c.table_name
    where c.table_schema = 'public' and tb.table_type = 'BASE TABLE'
    order by c.table_name, c.ordinal_position`.execute(db)
  const schema = new Map<string, Map<string, boolean | typeof GENERATED>>()
  for (const r of rows) {
    if (KYSELY_TABLES.has(r.table_name)) continue
    if (!schema.has(r.table_name)) schema.set(r.table_name, new Map())
    // PostgreSQL reports a generated column (the search tsvectors) as nullable whatever it is
    // computed from; db-types declares it read-only (`ColumnType<T, never, never>`) and non-null
    // because its inputs are NOT NULL, so only its presence is compared.
    const generated = r.is_generated === 'ALWAYS'
    schema.get(r.table_name)!.set(r.column_name, generated ? GENERATED : r.is_nullable === 'YES')
  }
  t.ok(schema.size > 10, 'the migrated schema has its tables')

  const declared = readDeclarations(fs.readFileSync(new URL('../../src/core/db-types.ts', import.meta.url), 'utf8'))
  t.same(declared.problems, [], 'every declaration is readable')
  t.same(drift(schema, declared.tables), [], 'no drift between migrations and db-types.ts')
})

t.test('nullability is read from plain and wrapped column types', async (t) => {
  t.equal(declaresNull('Timestamp | null'), true)
  t.equal(declaresNull('ColumnType<number | null, number | null | undefined, number | null>'), true)
  t.equal(declaresNull('ColumnType<number, number | null | undefined, number>'), false, 'only the select type counts')
  t.equal(declaresNull('ColumnType<Record<string, unknown>, string | undefined, string>'), false)
  t.equal(declaresNull('Generated<number>'), false)
  t.equal(declaresNull('string'), false)
})

t.test('the comparison names what drifted', async (t) => {
  const schema = new Map([['posts', new Map<string, boolean | typeof GENERATED>([['id', false], ['body', false], ['edited_at', true], ['search', GENERATED]])]])
  const declared = new Map([
    ['posts', new Map([['id', false], ['body', true], ['search', false], ['gone', false]])],
    ['ghosts', new Map([['id', false]])],
  ])
  t.same(drift(schema, declared), [
    'posts.body is NOT NULL in the schema but declared with "| null"',
    'posts.edited_at is in the schema but not in db-types.ts',
    'posts.gone is declared in db-types.ts but not in the schema',
    'table ghosts is declared in db-types.ts but not in the schema',
  ])
})
