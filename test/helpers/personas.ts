import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { sql } from 'kysely'
import type { Db } from '../../src/core/db.js'
import type { Role } from '../../src/core/db-types.js'
import { Client } from './client.js'

export const PASSWORD = 'correct horse battery staple'

export interface Persona {
  id: number
  username: string
  email: string
  client: Client
}

let counter = 0
/** A unique, valid username with a readable stem. */
export function uniqueName(stem = 'member'): string {
  counter += 1
  return `${stem}${counter}_${randomBytes(2).toString('hex')}`.slice(0, 20)
}

/**
 * Signs a member up through the API (a real session cookie), then sets role and trust
 * level directly, as an admin or the trust job would.
 */
export async function persona(
  app: FastifyInstance,
  db: Db,
  options: { stem?: string; role?: Role; trustLevel?: number } = {},
): Promise<Persona> {
  const client = new Client(app)
  const username = uniqueName(options.stem)
  const email = `${username}@example.test`
  const res = await client.api('POST', '/api/v1/auth/signup', { username, email, password: PASSWORD })
  if (res.statusCode !== 201) throw new Error(`persona sign-up failed: ${res.statusCode} ${res.body}`)
  const id = res.data.user.id as number
  await db
    .updateTable('users')
    .set({
      role: options.role ?? (res.data.user.role as Role),
      trust_level: options.trustLevel ?? 0,
      email_verified_at: sql<Date>`now()` as unknown as Date,
    })
    .where('id', '=', id)
    .execute()
  return { id, username, email, client }
}

/** The usual cast: the first account (admin), a new member (TL0) and a regular (TL2). */
export async function personas(app: FastifyInstance, db: Db) {
  const admin = await persona(app, db, { stem: 'admin', role: 'admin', trustLevel: 4 })
  const newMember = await persona(app, db, { stem: 'newbie', trustLevel: 0 })
  const regular = await persona(app, db, { stem: 'regular', trustLevel: 2 })
  return { admin, newMember, regular, guest: new Client(app) }
}

/** How a member's standing limits them: suspended, silenced, or an unconfirmed address. */
export type Standing = 'suspended' | 'silenced' | 'unverified'

/**
 * Limits a member's standing directly in the database, as a moderator's decision (or a
 * new sign-up's unconfirmed address) would; their existing session and tokens stay valid.
 */
export async function restrict(db: Db, userId: number, standing: Standing, days = 7): Promise<void> {
  const until = new Date(Date.now() + days * 86_400_000)
  const set = standing === 'suspended' ? { suspended_until: until } : standing === 'silenced' ? { silenced_until: until } : { email_verified_at: null }
  await db.updateTable('users').set(set).where('id', '=', userId).execute()
}

/** One member (trust level 2) of each limited standing, logged in before the limit applied. */
export async function restrictedPersonas(app: FastifyInstance, db: Db): Promise<Record<Standing, Persona>> {
  const out = {} as Record<Standing, Persona>
  for (const standing of ['suspended', 'silenced', 'unverified'] as const) {
    out[standing] = await persona(app, db, { stem: standing.slice(0, 8), trustLevel: 2 })
    await restrict(db, out[standing].id, standing)
  }
  return out
}
