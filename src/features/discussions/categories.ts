import { sql } from 'kysely'
import type { SessionUser } from '../../core/auth/sessions.js'
import { type Db, type DbOrTrx, prepared, type Trx } from '../../core/db.js'
import { Conflict, Invalid, NotFound, parse } from '../../core/errors.js'
import { type CategoryAccess, can, canModerate, canSeeCategory, type Viewer } from '../../core/guard.js'
import { logStaffAction } from '../moderation/log.js'
import type { Outbox } from '../../core/outbox.js'
import { CategoryDeleteInput, CategoryInput, CategoryUpdateInput } from './schemas.js'

/** The category holding each idea's comment thread: those threads belong on the idea's page, not in reading lists. */
export const IDEA_COMMENTS_CATEGORY = 'idea-discussions'

export interface Category extends CategoryAccess {
  name: string
  slug: string
  description: string
  position: number
  /** `#rrggbb`, or null for the default; pages show it through /theme.css (no inline styles). */
  color: string | null
}

const columns = [
  'id', 'name', 'slug', 'description', 'parent_id', 'visibility', 'min_trust_level', 'who_can_start', 'min_trust_to_start', 'position', 'color',
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

  /** Without an outbox (the digest's read-only use), edits announce nothing. */
  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox | null = null,
  ) {}

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
    // Prepared: category and search pages and the relay's fan-out of every post read it (planning cost more than running it).
    const rows = await prepared(trx ?? this.db, (trx ?? this.db).selectFrom('categories').select(columns).orderBy('position').orderBy('id'))
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
        'p.min_trust_to_start as p_min_trust_to_start', 'p.position as p_position', 'p.color as p_color',
      ])
      .where('c.slug', '=', slug.toLowerCase())
      .execute()
    const row = rows[0]
    if (!row) throw new NotFound('No such category')
    const parent: Category | null = row.p_id
      ? {
          id: row.p_id, name: row.p_name!, slug: row.p_slug!, description: row.p_description!, parent_id: row.p_parent_id,
          visibility: row.p_visibility!, min_trust_level: row.p_min_trust_level!, who_can_start: row.p_who_can_start!,
          min_trust_to_start: row.p_min_trust_to_start!, position: row.p_position!, color: row.p_color ?? null,
        }
      : null
    const category: Category = {
      id: row.id, name: row.name, slug: row.slug, description: row.description, parent_id: row.parent_id,
      visibility: row.visibility, min_trust_level: row.min_trust_level, who_can_start: row.who_can_start,
      min_trust_to_start: row.min_trust_to_start, position: row.position, color: row.color,
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
            color: input.color ?? null,
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

  /**
   * Edits a category (admins): every field of a new one, and its place among its siblings.
   * Fields left out keep their values (the API's PATCH). A new slug keeps the old one as a
   * redirect; a change of visibility or parent makes every live socket's access be checked
   * again. Logged with what changed.
   */
  async update(actorId: number, id: number, raw: unknown): Promise<Category> {
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('categories').select(columns).where('id', '=', id).forUpdate().executeTakeFirst()
      if (!current) throw new NotFound('No such category')
      const given = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {}
      const input = parse(CategoryUpdateInput, {
        name: current.name, slug: current.slug, description: current.description, parentId: current.parent_id ?? undefined,
        visibility: current.visibility, minTrustLevel: current.min_trust_level, whoCanStart: current.who_can_start,
        minTrustToStart: current.min_trust_to_start, color: current.color ?? undefined,
        ...given,
      })
      const slug = input.slug ?? slugify(input.name, 'category')
      if (slug !== current.slug && current.slug === IDEA_COMMENTS_CATEGORY) {
        throw Invalid.field('slug', 'The idea discussions category keeps its address: idea pages find their comments by it')
      }
      const parentId = input.parentId ?? null
      if (parentId !== null) {
        if (parentId === id) throw Invalid.field('parentId', 'A category cannot be its own parent')
        const parent = await trx.selectFrom('categories').select(['id', 'parent_id']).where('id', '=', parentId).executeTakeFirst()
        if (!parent) throw Invalid.field('parentId', 'That parent category does not exist')
        if (parent.parent_id !== null) throw Invalid.field('parentId', 'Sub-categories cannot have sub-categories of their own')
        const children = await trx.selectFrom('categories').select('id').where('parent_id', '=', id).limit(1).execute()
        if (children.length > 0) throw Invalid.field('parentId', 'This category has sub-categories of its own, so it cannot become one')
      }
      const parentChanged = parentId !== current.parent_id
      const changes = {
        name: input.name,
        slug,
        description: input.description,
        parent_id: parentId,
        visibility: input.visibility,
        min_trust_level: input.visibility === 'trust' ? input.minTrustLevel : 0,
        who_can_start: input.whoCanStart,
        min_trust_to_start: input.minTrustToStart,
        color: input.color ?? null,
        // A category moved under another parent goes to the end of its new siblings.
        ...(parentChanged ? { position: await this.nextPosition(trx, parentId) } : {}),
      }
      let updated: Category
      try {
        updated = await trx.updateTable('categories').set(changes).where('id', '=', id).returning(columns).executeTakeFirstOrThrow()
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new Conflict('A category with that slug exists', 'slug')
        throw err
      }
      if (slug !== current.slug) {
        // The live slug wins over any redirect of that name; the old one now leads here.
        await trx.deleteFrom('category_slug_redirects').where('slug', '=', slug).execute()
        await trx
          .insertInto('category_slug_redirects')
          .values({ slug: current.slug, category_id: id })
          .onConflict((oc) => oc.column('slug').doUpdateSet({ category_id: id, created_at: new Date() }))
          .execute()
      }
      if (input.position !== undefined) updated = { ...updated, position: await this.place(trx, updated, input.position) }
      const changed = Object.keys(changes).filter((k) => k !== 'position' && (current as Record<string, unknown>)[k] !== (changes as Record<string, unknown>)[k])
      if (input.position !== undefined && input.position !== current.position) changed.push('position')
      if (changed.length > 0) {
        await logStaffAction(trx, {
          actorId,
          action: 'category.update',
          target: { type: 'category', id },
          categoryId: id,
          details: Object.fromEntries(changed.map((k) => [k, { from: (current as Record<string, unknown>)[k] ?? null, to: (updated as unknown as Record<string, unknown>)[k] ?? null }])),
        })
      }
      const accessChanged = ['parent_id', 'visibility', 'min_trust_level'].some((k) => changed.includes(k))
      if (accessChanged) await this.outbox?.emit(trx, 'access.changed', {})
      return updated
    })
  }

  /**
   * Deletes a category (admins), moving its threads to another in the same transaction: the
   * threads, their posts and counts stay whole, and the old addresses (its slug and any it
   * had before) redirect to the category they moved to. Sub-categories must go first; the
   * idea discussions category cannot go. Logged, and live access is checked again.
   */
  async remove(actorId: number, id: number, raw: unknown): Promise<{ moved: number; into: Category }> {
    const { moveTo } = parse(CategoryDeleteInput, raw)
    return this.db.transaction().execute(async (trx) => {
      const doomed = await trx.selectFrom('categories').select(columns).where('id', '=', id).forUpdate().executeTakeFirst()
      if (!doomed) throw new NotFound('No such category')
      if (doomed.slug === IDEA_COMMENTS_CATEGORY) throw Invalid.field('moveTo', 'The idea discussions category holds every idea’s comments; it cannot be deleted')
      if (moveTo === id) throw Invalid.field('moveTo', 'Choose another category for its threads')
      const into = await trx.selectFrom('categories').select(columns).where('id', '=', moveTo).forUpdate().executeTakeFirst()
      if (!into) throw Invalid.field('moveTo', 'That category does not exist')
      const children = await trx.selectFrom('categories').select('name').where('parent_id', '=', id).execute()
      if (children.length > 0) {
        throw Invalid.field('moveTo', `Move or delete its sub-categories first: ${children.map((c) => c.name).join(', ')}`)
      }
      const moved = await trx.updateTable('threads').set({ category_id: moveTo }).where('category_id', '=', id).executeTakeFirst()
      await trx.updateTable('category_slug_redirects').set({ category_id: moveTo }).where('category_id', '=', id).execute()
      await trx
        .insertInto('category_slug_redirects')
        .values({ slug: doomed.slug, category_id: moveTo })
        .onConflict((oc) => oc.column('slug').doUpdateSet({ category_id: moveTo, created_at: new Date() }))
        .execute()
      await trx.deleteFrom('categories').where('id', '=', id).execute()
      const count = Number(moved.numUpdatedRows)
      // The entry belongs to where the threads went, so it is seen by whoever may see them.
      await logStaffAction(trx, {
        actorId,
        action: 'category.delete',
        target: { type: 'category', id: moveTo },
        categoryId: moveTo,
        details: { name: doomed.name, slug: doomed.slug, threads: count, movedTo: moveTo },
      })
      await this.outbox?.emit(trx, 'access.changed', {})
      return { moved: count, into }
    })
  }

  /**
   * Where a slug a category no longer has leads now, when the viewer may see it: the
   * current slug of the category that had it (renamed) or took its threads (deleted).
   */
  async movedTo(viewer: Viewer, slug: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('category_slug_redirects as r')
      .innerJoin('categories as c', 'c.id', 'r.category_id')
      .select('c.id')
      .where('r.slug', '=', slug.toLowerCase())
      .executeTakeFirst()
    if (!row) return null
    const category = await this.byId(viewer, row.id).catch(() => null)
    return category?.slug ?? null
  }

  private async nextPosition(trx: Trx, parentId: number | null): Promise<number> {
    const { max } = await trx
      .selectFrom('categories')
      .select((eb) => eb.fn.max<number>('position').as('max'))
      .where((eb) => (parentId === null ? eb('parent_id', 'is', null) : eb('parent_id', '=', parentId)))
      .executeTakeFirstOrThrow()
    return (max ?? 0) + 1
  }

  // Puts a category at a 1-based place among its siblings and renumbers them; returns its position.
  private async place(trx: Trx, category: Category, wanted: number): Promise<number> {
    const siblings = await trx
      .selectFrom('categories')
      .select(['id'])
      .where((eb) => (category.parent_id === null ? eb('parent_id', 'is', null) : eb('parent_id', '=', category.parent_id)))
      .orderBy('position')
      .orderBy('id')
      .forUpdate()
      .execute()
    const order = siblings.map((s) => s.id).filter((s) => s !== category.id)
    order.splice(Math.min(wanted, order.length + 1) - 1, 0, category.id)
    for (const [index, categoryId] of order.entries()) {
      await trx.updateTable('categories').set({ position: index + 1 }).where('id', '=', categoryId).execute()
    }
    return order.indexOf(category.id) + 1
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
