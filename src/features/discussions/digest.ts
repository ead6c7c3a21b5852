import { sql } from 'kysely'
import { type DigestContext, registerDigestSection } from '../digests/sections.js'
import { CategoryService } from './categories.js'
import { threadUrl } from './service.js'

const PER_SECTION = 5

async function visibleCategoryIds({ db, user }: DigestContext): Promise<number[]> {
  const categories = new CategoryService(db)
  const moderates = await db.selectFrom('category_moderators').select('category_id').where('user_id', '=', user.id).execute()
  return categories.visibleIds({ user: { ...user, suspended_until: null, silenced_until: null, email_verified_at: null }, moderates: new Set(moderates.map((m) => m.category_id)) })
}

/**
 * The digest's discussion sections: the most active threads since the last digest, then
 * new ones, only in categories the member may see and never by trust-level-0 authors.
 */
export function registerDiscussionDigest(): void {
  registerDigestSection('discussions', async (ctx) => {
    const ids = await visibleCategoryIds(ctx)
    if (ids.length === 0) return null
    const rows = await ctx.db
      .selectFrom('threads as t')
      .innerJoin('users as a', 'a.id', 't.author_id')
      .innerJoin('categories as c', 'c.id', 't.category_id')
      .select(['t.id', 't.slug', 't.title', 't.reply_count', 't.created_at', 'c.name as category', 'a.username as author'])
      .select(sql<number>`(select count(*) from posts p where p.thread_id = t.id and p.created_at > ${ctx.since} and p.deleted_at is null)`.as('recent'))
      .where('t.category_id', 'in', ids)
      .where('t.deleted_at', 'is', null)
      .where('t.last_post_at', '>', ctx.since)
      .where('a.trust_level', '>', 0)
      .where('t.author_id', '!=', ctx.user.id)
      .orderBy('recent', 'desc')
      .orderBy('t.id', 'desc')
      .limit(PER_SECTION * 3)
      .execute()
    const popular = rows.filter((r) => Number(r.recent) > 1).slice(0, PER_SECTION)
    const fresh = rows
      .filter((r) => r.created_at > ctx.since && !popular.includes(r))
      .sort((a, b) => b.created_at.getTime() - a.created_at.getTime())
      .slice(0, PER_SECTION)
    const item = (r: (typeof rows)[number]) => ({
      title: r.title,
      url: threadUrl(r),
      detail: `${r.category} · by ${r.author} · ${r.reply_count} ${r.reply_count === 1 ? 'reply' : 'replies'}`,
    })
    return { title: 'Popular and new discussions', items: [...popular, ...fresh].map(item) }
  })
}
