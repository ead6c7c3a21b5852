import type { FastifyInstance } from 'fastify'
import type { Db } from '../../src/core/db.js'
import { type Persona, persona } from './personas.js'

export interface Forum {
  admin: Persona
  /** Trust level 1. */
  member: Persona
  /** Trust level 0. */
  newbie: Persona
  /** Trust level 2. */
  regular: Persona
  /** Moderates only the members-only and trust-gated categories. */
  categoryMod: Persona
  cats: { open: { id: number; slug: string }; members: { id: number; slug: string }; trusted: { id: number; slug: string } }
}

/** A community with the usual cast and three categories: public, members only, and trust level 2+. */
export async function forum(app: FastifyInstance, db: Db): Promise<Forum> {
  const admin = await persona(app, db, { stem: 'admin', role: 'admin', trustLevel: 4 })
  const member = await persona(app, db, { stem: 'member', trustLevel: 1 })
  const newbie = await persona(app, db, { stem: 'newbie', trustLevel: 0 })
  const regular = await persona(app, db, { stem: 'regular', trustLevel: 2 })
  const categoryMod = await persona(app, db, { stem: 'catmod', trustLevel: 1 })
  const create = async (body: Record<string, unknown>) => {
    const res = await admin.client.api('POST', '/api/v1/categories', body)
    if (res.statusCode !== 201) throw new Error(`category: ${res.body}`)
    return { id: res.data.category.id as number, slug: res.data.category.slug as string }
  }
  const open = await create({ name: 'General', slug: 'general' })
  const members = await create({ name: 'Members lounge', slug: 'lounge', visibility: 'members' })
  const trusted = await create({ name: 'Inner circle', slug: 'inner', visibility: 'trust', minTrustLevel: 2 })
  for (const cat of [members, trusted]) {
    await app.hearth.categories.appointModerator(admin.id, cat.id, categoryMod.username)
  }
  return { admin, member, newbie, regular, categoryMod, cats: { open, members, trusted } }
}

/** Starts a thread through the API as this persona; returns its id and opening post id. */
export async function startThread(who: Persona, categoryId: number, title = 'A thread about things', body = 'The opening post.') {
  const res = await who.client.api('POST', '/api/v1/threads', { categoryId, title, body })
  if (res.statusCode !== 201) throw new Error(`thread: ${res.statusCode} ${res.body}`)
  return { id: res.data.id as number, postId: res.data.postId as number, url: res.data.url as string }
}

/** Replies through the API as this persona; returns the new post id. */
export async function replyTo(who: Persona, threadId: number, body: string, parentId?: number): Promise<number> {
  const res = await who.client.api('POST', `/api/v1/threads/${threadId}/posts`, { body, parentId })
  if (res.statusCode !== 201) throw new Error(`reply: ${res.statusCode} ${res.body}`)
  return res.data.id as number
}
