import fs from 'node:fs'
import path from 'node:path'
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import type { Db } from '../../src/core/db.js'
import type { Forum } from '../helpers/forum.js'
import { replyTo, startThread } from '../helpers/forum.js'
import { PASSWORD, type Persona, persona } from '../helpers/personas.js'

/** What a leaving member left behind, to check after their account is deleted. */
export interface Footprint {
  member: Persona
  /** Every name and address to look for: current and former username, email. */
  needles: string[]
  soloThread: { id: number; postId: number }
  sharedThread: { id: number; postId: number }
  ownReply: number
  likedPost: number
  regularPostMentioning: number
  idea: number
  votedIdea: number
  program: number
}

/**
 * A member who has done a bit of everything: renamed once, threads (one alone, one others
 * replied to), replies and an edit, likes given and received, an idea and a vote, a beta
 * sign-up with answers, a flag with a note, mentions both ways, an API token, and staff
 * actions about them in the moderation log.
 */
export async function memberWithFootprint(app: FastifyInstance, db: Db, f: Forum): Promise<Footprint> {
  const member = await persona(app, db, { stem: 'zephyr', trustLevel: 2 })
  const oldName = member.username
  const newName = `quill${member.id}x`
  const renamed = await member.client.api('PUT', '/api/v1/me/username', { username: newName, password: PASSWORD })
  if (renamed.statusCode !== 200) throw new Error(`rename: ${renamed.body}`)
  member.username = newName

  const soloThread = await startThread(member, f.cats.open.id, 'Notes from my garden', 'Only I write here.')
  const sharedThread = await startThread(member, f.cats.open.id, 'What do you grow?', `Tomatoes mostly. Ask @${f.regular.username}.`)
  const mentioning = await replyTo(f.regular, sharedThread.id, `Beans! Thanks @${newName} and hello @${oldName}.`)
  const regularPost = await replyTo(f.regular, sharedThread.id, 'Also squash.')
  const adminThread = await startThread(f.admin, f.cats.open.id, 'Welcome thread', 'Say hello.')
  const ownReply = await replyTo(member, adminThread.id, 'Hello from me, first draft.')
  const edited = await member.client.api('PATCH', `/api/v1/posts/${ownReply}`, { body: 'Hello from me, edited.' })
  if (edited.statusCode !== 200) throw new Error(`edit: ${edited.body}`)
  await member.client.api('PUT', `/api/v1/posts/${regularPost}/like`)
  await f.regular.client.api('PUT', `/api/v1/posts/${ownReply}/like`)
  const flagged = await member.client.api('POST', `/api/v1/posts/${regularPost}/flags`, { reason: 'other', note: `Flagged by ${newName}, write to ${member.email}` })
  if (flagged.statusCode !== 201) throw new Error(`flag: ${flagged.body}`)

  const idea = (await member.client.api('POST', '/api/v1/ideas', { title: 'Seed swap board', body: `A place to swap seeds, proposed by ${newName}.` })).data.id as number
  const votedIdea = (await f.regular.client.api('POST', '/api/v1/ideas', { title: 'Compost calculator', body: 'Work out how much compost a bed needs.' })).data.id as number
  await member.client.api('PUT', `/api/v1/ideas/${votedIdea}/vote`)
  await member.client.api('PUT', `/api/v1/ideas/${votedIdea}/subscription`)
  const program = (
    await f.admin.client.api('POST', '/api/v1/beta', {
      title: 'Garden planner beta',
      description: 'Try it.',
      capacity: 1,
      questions: [{ id: 'why', label: 'Why?', type: 'long_text', required: true }],
    })
  ).data.id as number
  const signed = await member.client.api('POST', `/api/v1/beta/${program}/signups`, { answers: { why: `I am ${newName}, reach me at ${member.email}` } })
  if (signed.statusCode !== 201) throw new Error(`beta: ${signed.body}`)
  await f.regular.client.api('POST', `/api/v1/beta/${program}/signups`, { answers: { why: 'Me too' } })
  const token = await member.client.submit('/settings/tokens', { name: `${newName} laptop script` }, '/settings')
  if (token.statusCode !== 200) throw new Error(`token: ${token.statusCode}`)
  // Staff actions about the member, whose log entries carry their name.
  await f.admin.client.submit('/admin/members', { username: newName, role: 'member', trustLevel: '2', reason: `checking on ${newName}` }, `/admin?member=${newName}`)
  await app.hearth.accounts.adminPasswordReset({ ...(await db.selectFrom('users').selectAll().where('id', '=', f.admin.id).executeTakeFirstOrThrow()) }, member.id, false)
  return {
    member,
    needles: [oldName, newName, member.email],
    soloThread,
    sharedThread,
    ownReply,
    likedPost: regularPost,
    regularPostMentioning: mentioning,
    idea,
    votedIdea,
    program,
  }
}

/** Every text, varchar, array and jsonb column of every table: where a name or address could hide. */
export async function textColumns(db: Db): Promise<{ table: string; column: string }[]> {
  const { rows } = await sql<{ table_name: string; column_name: string }>`
    select c.table_name, c.column_name from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
      and (c.data_type in ('text', 'character varying', 'character', 'jsonb', 'json', 'ARRAY', 'tsvector', 'USER-DEFINED'))
    order by c.table_name, c.column_name`.execute(db)
  return rows.map((r) => ({ table: r.table_name, column: r.column_name }))
}

/** Where in the database any of the needles still appears (case-insensitively): `table.column` per hit. */
export async function findTraces(db: Db, needles: string[]): Promise<string[]> {
  const hits: string[] = []
  for (const { table, column } of await textColumns(db)) {
    for (const needle of needles) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${sql.ref(column)}::text ilike ${`%${needle}%`}`.execute(db)
      if (rows[0]!.n > 0) hits.push(`${table}.${column} holds ${needle} (${rows[0]!.n} rows)`)
    }
  }
  return hits
}

/** Files under a folder whose name or content holds any of the needles. */
export function findTracesInFiles(dir: string, needles: string[]): string[] {
  if (!fs.existsSync(dir)) return []
  const hits: string[] = []
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const file = path.join(entry.parentPath, entry.name)
    const content = fs.readFileSync(file).toString('latin1').toLowerCase()
    for (const needle of needles) {
      if (file.toLowerCase().includes(needle.toLowerCase()) || content.includes(needle.toLowerCase())) hits.push(`${file} holds ${needle}`)
    }
  }
  return hits
}
