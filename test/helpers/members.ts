import type { FastifyInstance } from 'fastify'
import type { Db } from '../../src/core/db.js'
import type { Role } from '../../src/core/db-types.js'
import { Client } from './client.js'
import { uniqueName } from './personas.js'

export interface Member {
  id: number
  username: string
  client: Client
}

/**
 * Many logged-in members at once, for racing tests: inserted in one statement (no
 * password hashing), each with a real session cookie from the app's session store.
 */
export async function members(
  app: FastifyInstance,
  db: Db,
  count: number,
  options: { stem?: string; role?: Role; trustLevel?: number } = {},
): Promise<Member[]> {
  const rows = await db
    .insertInto('users')
    .values(
      Array.from({ length: count }, () => {
        const username = uniqueName(options.stem ?? 'crowd')
        return {
          username,
          email: `${username}@example.test`,
          password_hash: 'not-a-login',
          role: options.role ?? 'member',
          trust_level: options.trustLevel ?? 1,
        }
      }),
    )
    .returning(['id', 'username'])
    .execute()
  return Promise.all(
    rows.map(async (row) => {
      const { token } = await app.hearth.sessions.create(row.id)
      const client = new Client(app)
      client.cookies.set('hearth_session', token)
      return { ...row, client }
    }),
  )
}
