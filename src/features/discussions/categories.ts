import { sql } from 'kysely'
import type { SessionUser } from '../../core/auth/sessions.js'
import type { Db, DbOrTrx, Trx } from '../../core/db.js'
import { Conflict, Invalid, NotFound, parse } from '../../core/errors.js'
import { type CategoryAccess, can, canModerate, canSeeCategory, type Viewer } from '../../core/guard.js'
import { logStaffAction } from '../moderation/log.js'
import { CategoryInput } from './schemas.js'

/** The category holding each idea's comment thread: those threads belong on the idea's page, not in reading lists. */
export const IDEA_COMMENTS_CATEGORY = 'idea-discussions'

export interface Category extends CategoryAccess {
  name: string
  slug: string
  description: string
  position: number
}

const columns = [
  'id', 'name', 'slug', 'description', 'parent_id', 'visibility', 'min_trust_level', 'who_can_start', 'min_trust_to_start', 'position',
] as const

/** Category columns under a table alias, each named `<prefix>_<column>` (for joins that bring a category along). */
export function categoryColumnsOf<A extends string, P extends string>(alias: A, prefix: P) {
  return columns.map((k) => `${alias}.${k} as ${prefix}_${k}` as `${A}.${typeof k} as ${P}_${typeof k}`)
}

/** The category a join brought along under `prefix` (see categoryColumnsOf), or null when the join found none. */
export function categoryFromRow(row: Record<string, unknown>, prefix: string): Category | null {
  if (row[`${prefix}_id`] === null || row[`${prefix}_id`] === undefined) return null
  return Object.fromEntries(columns.map((k) => [k, row[`${prefix}_${k}`]])) as unknown as Category
}

/** Turns a name into a URL slug. */
export function slugify(text: string, fallback = 'thread'): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/g, '')
  return slug || fallback
}

/** Categories, their visibility and their moderators. */
export class CategoryService {
  // The moderation scope read with the session (same round trip), for the rest of that request:
  // keyed by the request's own user object, so it lives exactly as long as the request does.
  private readonly known = new WeakMap<SessionUser, Viewer>()

  constructor(private readonly db: Db) {}

  /** Records the categories a request's user moderates, as read with their session. */
  remember(user: SessionUser, moderates: Iterable<number>): Viewer {
    const viewer: Viewer = { user, moderates: new Set(moderates) }
    this.known.set(user, viewer)
    return viewer
  }

  /**
   * The viewer for a user: who they are and which categories they moderate. Outside a
   * transaction, a user whose scope came with their session costs no query.
   */
  async viewer(user: SessionUser | null, trx?: DbOrTrx): Promise<Viewer> {
    if (!user) return { user: null, moderates: new Set() }
    const known = trx ? undefined : this.known.get(user)
    if (known) return known
    const rows = await (trx ?? this.db)
      .selectFrom('category_moderators')
      .select('category_id')
      .where('user_id', '=', user.id)
      .execute()
    return { user, moderates: new Set(rows.map((r) => r.category_id)) }
  }

  /** Every category in display order (parents, each followed by its children). */
  async all(trx?: DbOrTrx): Promise<Category[]> {
    const rows = await (trx ?? this.db).selectFrom('categories').select(columns).orderBy('position').orderBy('id').execute()
    const top = rows.filter((c) => c.parent_id === null)
    return top.flatMap((parent) => [parent, ...rows.filter((c) => c.parent_id === parent.id)])
  }

  /** The categories this viewer may see, in display order. */
  async visible(viewer: Viewer, trx?: DbOrTrx): Promise<Category[]> {
    const all = await this.all(trx)
    const byId = new Map(all.map((c) => [c.id, c]))
    return all.filter((c) => canSeeCategory(viewer, c, c.parent_id ? byId.get(c.parent_id) : null))
  }

  /** Ids of the categories this viewer may see (for lists, search and feeds). */
  async visibleIds(viewer: Viewer, trx?: DbOrTrx): Promise<number[]> {
    return (await this.visible(viewer, trx)).map((c) => c.id)
  }

  /** A category by slug that the viewer may see, or NotFound (private spaces never leak). */
  async bySlug(viewer: Viewer, slug: string): Promise<Category & { parent: Category | null }> {
    const rows = await this.db
      .selectFrom('categories as c')
      .leftJoin('categories as p', 'p.id', 'c.parent_id')
      .select(columns.map((k) => `c.${k}` as const))
      .select([
        'p.id as p_id', 'p.name as p_name', 'p.slug as p_slug', 'p.description as p_description', 'p.parent_id as p_parent_id',
        'p.visibility as p_visibility', 'p.min_trust_level as p_min_trust_level', 'p.who_can_start as p_who_can_start',
        'p.min_trust_to_start as p_min_trust_to_start', 'p.position as p_position',
      ])
      .where('c.slug', '=', slug.toLowerCase())
      .execute()
    const row = rows[0]
    if (!row) throw new NotFound('No such category')
    const parent: Category | null = row.p_id
      ? {
          id: row.p_id, name: row.p_name!, slug: row.p_slug!, description: row.p_description!, parent_id: row.p_parent_id,
          visibility: row.p_visibility!, min_trust_level: row.p_min_trust_level!, who_can_start: row.p_who_can_start!,
          min_trust_to_start: row.p_min_trust_to_start!, position: row.p_position!,
        }
      : null
    const category: Category = {
      id: row.id, name: row.name, slug: row.slug, description: row.description, parent_id: row.parent_id,
      visibility: row.visibility, min_trust_level: row.min_trust_level, who_can_start: row.who_can_start,
      min_trust_to_start: row.min_trust_to_start, position: row.position,
    }
    if (!canSeeCategory(viewer, category, parent)) throw new NotFound('No such category')
    return { ...category, parent }
  }

  /** A category by id that the viewer may see, or NotFound. */
  async byId(viewer: Viewer, id: number, trx?: DbOrTrx): Promise<Category> {
    const all = await this.all(trx)
    const category = all.find((c) => c.id === id)
    const parent = category?.parent_id ? all.find((c) => c.id === category.parent_id) : null
    if (!category || !canSeeCategory(viewer, category, parent)) throw new NotFound('No such category')
    return category
  }

  /** May the viewer start threads here? (Used to show or hide the button.) */
  canStart(viewer: Viewer, category: Category): boolean {
    return can(viewer, 'post', { category })
  }

  /** May the viewer moderate here? */
  canModerate(viewer: Viewer, categoryId: number): boolean {
    return canModerate(viewer, categoryId)
  }

  /** Creates a category (admins). Sub-categories go one level deep and are never more open than their parent. */
  async create(actorId: number, raw: unknown): Promise<Category> {
    const input = parse(CategoryInput, raw)
    return this.db.transaction().execute(async (trx) => {
      if (input.parentId) {
        const parent = await trx.selectFrom('categories').select(['id', 'parent_id']).where('id', '=', input.parentId).executeTakeFirst()
        if (!parent) throw Invalid.field('parentId', 'That parent category does not exist')
        if (parent.parent_id !== null) throw Invalid.field('parentId', 'Sub-categories cannot have sub-categories of their own')
      }
      const slug = input.slug ?? slugify(input.name, 'category')
      const { max } = await trx
        .selectFrom('categories')
        .select((eb) => eb.fn.max<number>('position').as('max'))
        .executeTakeFirstOrThrow()
      try {
        const created = await trx
          .insertInto('categories')
          .values({
            name: input.name,
            slug,
            description: input.description,
            parent_id: input.parentId ?? null,
            visibility: input.visibility,
            min_trust_level: input.visibility === 'trust' ? input.minTrustLevel : 0,
            who_can_start: input.whoCanStart,
            min_trust_to_start: input.minTrustToStart,
            position: (max ?? 0) + 1,
          })
          .returning(columns)
          .executeTakeFirstOrThrow()
        // The entry belongs to the new category: a members-only one is not announced to guests.
        await logStaffAction(trx, {
          actorId,
          action: 'category.create',
          target: { type: 'category', id: created.id },
          categoryId: created.id,
          details: { name: created.name, visibility: created.visibility },
        })
        return created
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new Conflict('A category with that slug exists', 'slug')
        throw err
      }
    })
  }

  /** Moves a category one place up or down among its siblings. */
  async move(id: number, direction: 'up' | 'down'): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const me = await trx.selectFrom('categories').select(['id', 'position', 'parent_id']).where('id', '=', id).forUpdate().executeTakeFirst()
      if (!me) throw new NotFound('No such category')
      const siblings = await trx
        .selectFrom('categories')
        .select(['id', 'position'])
        .where((eb) => (me.parent_id === null ? eb('parent_id', 'is', null) : eb('parent_id', '=', me.parent_id)))
        .orderBy('position')
        .orderBy('id')
        .forUpdate()
        .execute()
      const index = siblings.findIndex((s) => s.id === id)
      const swapWith = siblings[direction === 'up' ? index - 1 : index + 1]
      if (!swapWith) return
      const order = siblings.map((s) => s.id)
      order[index] = swapWith.id
      order[siblings.indexOf(swapWith)] = id
      for (const [position, categoryId] of order.entries()) {
        await trx.updateTable('categories').set({ position: position + 1 }).where('id', '=', categoryId).execute()
      }
    })
  }

  /** The moderators of each category, for /admin. */
  async moderators() {
    return this.db
      .selectFrom('category_moderators as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['m.category_id', 'm.source', 'm.created_at', 'u.id as user_id', 'u.username'])
      .orderBy('u.username')
      .execute()
  }

  /**
   * Appoints a member as moderator of a category (admins); logged. Runs in the caller's
   * transaction when given one (the moderation service adds the member's notification to it).
   * `added` is false when they already were an appointed moderator there (nothing changes).
   */
  async appointModerator(actorId: number, categoryId: number, username: string, reason = '', trx?: Trx): Promise<{ userId: number; categoryName: string; added: boolean }> {
    if (!trx) return this.db.transaction().execute((t) => this.appointModerator(actorId, categoryId, username, reason, t))
    const user = await trx.selectFrom('users').select('id').where(sql`lower(username)`, '=', username.trim().toLowerCase()).executeTakeFirst()
    if (!user) throw Invalid.field('username', 'No member by that name')
    const category = await trx.selectFrom('categories').select(['id', 'name']).where('id', '=', categoryId).executeTakeFirst()
    if (!category) throw new NotFound('No such category')
    const added = await trx
      .insertInto('category_moderators')
      .values({ category_id: categoryId, user_id: user.id, source: 'appointed' })
      // A promoted moderator becomes an appointed one; an appointed one is left as is.
      .onConflict((oc) => oc.columns(['category_id', 'user_id']).doUpdateSet({ source: 'appointed' }).where('category_moderators.source', '!=', 'appointed'))
      .executeTakeFirst()
    // An owner's appointment lifts an earlier removal that kept the promotion job away.
    await trx.deleteFrom('moderator_offers').where('category_id', '=', categoryId).where('user_id', '=', user.id).where('status', '=', 'blocked').execute()
    const changed = Number(added.numInsertedOrUpdatedRows ?? 0) > 0
    if (changed) {
      await logStaffAction(trx, { actorId, action: 'moderator.appoint', target: { type: 'user', id: user.id }, reason, categoryId })
    }
    return { userId: user.id, categoryName: category.name, added: changed }
  }

  /** Removes a category moderator (admins); logged. */
  async removeModerator(actorId: number, categoryId: number, userId: number, reason = ''): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const removed = await trx
        .deleteFrom('category_moderators')
        .where('category_id', '=', categoryId)
        .where('user_id', '=', userId)
        .executeTakeFirst()
      if (removed.numDeletedRows === 0n) throw new NotFound('Not a moderator of that category')
      // The owner's removal wins: the promotion job will not grant this category to them again.
      await trx
        .insertInto('moderator_offers')
        .values({ category_id: categoryId, user_id: userId, status: 'blocked', decided_at: new Date() })
        .onConflict((oc) => oc.columns(['category_id', 'user_id']).doUpdateSet({ status: 'blocked', decided_at: new Date() }))
        .execute()
      await logStaffAction(trx, { actorId, action: 'moderator.remove', target: { type: 'user', id: userId }, reason, categoryId })
    })
  }
}
