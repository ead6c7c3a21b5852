import { sql } from 'kysely'
import type { Trx } from '../../core/db.js'
import { renderMarkdown } from '../../core/markdown.js'
import { deletedUsername, leavingMember, plain, type PersonalDataContributor, selfReferences } from '../accounts/personal-data-registry.js'

/** Threads, posts and their revisions, likes and reading markers. */
export const discussionPersonalData: PersonalDataContributor = {
  name: 'discussions',

  async exportFor(userId, trx) {
    const [posts, revisions, threads, likes, reads] = await Promise.all([
      trx
        .selectFrom('posts as p')
        .innerJoin('threads as t', 't.id', 'p.thread_id')
        .select(['p.id', 'p.thread_id', 't.title as thread_title', 'p.parent_id', 'p.body_md', 'p.created_at', 'p.edited_at', 'p.deleted_at', 'p.hidden_at', 'p.like_count'])
        .where('p.author_id', '=', userId)
        .orderBy('p.id')
        .execute(),
      trx
        .selectFrom('post_revisions as r')
        .innerJoin('posts as p', 'p.id', 'r.post_id')
        .select(['r.post_id', 'r.number', 'r.body_md', 'r.created_at'])
        .where((eb) => eb.or([eb('p.author_id', '=', userId), eb('r.editor_id', '=', userId)]))
        .orderBy('r.post_id')
        .orderBy('r.number')
        .execute(),
      trx.selectFrom('threads').select(['id', 'title', 'category_id', 'created_at', 'deleted_at']).where('author_id', '=', userId).orderBy('id').execute(),
      trx.selectFrom('post_likes').select(['post_id', 'created_at']).where('user_id', '=', userId).orderBy('created_at').execute(),
      trx.selectFrom('thread_reads').select(['thread_id', 'last_read_post_id', 'updated_at']).where('user_id', '=', userId).orderBy('thread_id').execute(),
    ])
    return [
      { key: 'threads', title: 'Threads you started', items: threads.map(plain) },
      { key: 'posts', title: 'Your posts', items: posts.map(plain) },
      { key: 'post_revisions', title: 'Earlier versions of posts (yours, or edited by you)', items: revisions.map(plain) },
      { key: 'likes', title: 'Posts you liked', items: likes.map(plain) },
      { key: 'read_markers', title: 'How far you read each thread', items: reads.map(plain) },
    ]
  },

  async eraseFor(userId, mode, trx) {
    const { names, email } = await leavingMember(trx, userId)
    await rewriteMentions(trx, userId, names)
    await trx.deleteFrom('thread_reads').where('user_id', '=', userId).execute()
    // What stays of their own words no longer names them (a signature, their address).
    const self = selfReferences(userId, names, email)
    const own = await trx.selectFrom('posts').select(['id', 'body_md']).where('author_id', '=', userId).where(sql<boolean>`body_md ~* ${self.pattern}`).execute()
    for (const post of own) {
      const body = self.rewrite(post.body_md)
      await trx.updateTable('posts').set({ body_md: body, body_html: renderMarkdown(body).html }).where('id', '=', post.id).execute()
    }
    const titles = await trx.selectFrom('threads').select(['id', 'title']).where('author_id', '=', userId).where(sql<boolean>`title ~* ${self.pattern}`).execute()
    for (const thread of titles) await trx.updateTable('threads').set({ title: self.rewrite(thread.title) }).where('id', '=', thread.id).execute()
    const revisions = await trx
      .selectFrom('post_revisions as r')
      .innerJoin('posts as p', 'p.id', 'r.post_id')
      .select(['r.id', 'r.body_md'])
      .where('p.author_id', '=', userId)
      .where(sql<boolean>`r.body_md ~* ${self.pattern}`)
      .execute()
    for (const r of revisions) await trx.updateTable('post_revisions').set({ body_md: self.rewrite(r.body_md) }).where('id', '=', r.id).execute()
    if (mode === 'anonymize') return

    // Likes given go, and the counts they made with them.
    await sql`update posts set like_count = like_count - 1 where id in (select post_id from post_likes where user_id = ${userId})`.execute(trx)
    await trx.deleteFrom('post_likes').where('user_id', '=', userId).execute()

    // Replies still showing leave their thread's count; every post becomes an empty
    // placeholder ("[deleted]") that keeps the replies below it in place.
    await sql`
      update threads t set reply_count = greatest(t.reply_count - n.replies, 0)
      from (select thread_id, count(*)::int as replies from posts where author_id = ${userId} and depth > 0 and deleted_at is null group by thread_id) n
      where t.id = n.thread_id`.execute(trx)
    await trx.deleteFrom('post_revisions').where('post_id', 'in', (eb) => eb.selectFrom('posts').select('id').where('author_id', '=', userId)).execute()
    await sql`
      update posts set body_md = '', body_html = '', hidden_reason = null, edited_at = null, revision_count = 0,
        deleted_at = coalesce(deleted_at, now()), deleted_by = coalesce(deleted_by, ${userId})
      where author_id = ${userId}`.execute(trx)
    // A thread they started goes entirely when nobody else's words are in it; otherwise it
    // stays for the others' replies, its opening post a placeholder. Idea comment threads
    // belong to the idea and stay.
    await sql`
      update threads t set deleted_at = coalesce(t.deleted_at, now()), title = '[deleted]'
      where t.author_id = ${userId}
        and not exists (select 1 from posts p where p.thread_id = t.id and p.author_id <> ${userId} and p.deleted_at is null)
        and not exists (select 1 from ideas i where i.thread_id = t.id)`.execute(trx)
  },
}

/**
 * Other members' @mentions of the leaving member (by any name they used) now name the
 * anonymised account, in posts and in their earlier versions, so neither the text nor a
 * profile link keeps the old name (Discourse's anonymiser does the same).
 */
async function rewriteMentions(trx: Trx, userId: number, names: string[]): Promise<void> {
  if (names.length === 0) return
  const replacement = `@${deletedUsername(userId)}`
  const alternatives = names.join('|') // usernames are [A-Za-z0-9_-]: nothing to escape
  const pattern = `(^|[^A-Za-z0-9_@/.])@(${alternatives})(?![A-Za-z0-9_-])`
  const posts = await trx
    .selectFrom('posts')
    .select(['id', 'body_md'])
    .where(sql<boolean>`body_md ~* ${pattern}`)
    .execute()
  const js = new RegExp(`(^|[^A-Za-z0-9_@/.])@(?:${alternatives})(?![A-Za-z0-9_-])`, 'gi')
  for (const post of posts) {
    const body = post.body_md.replace(js, (_m, before: string) => `${before}${replacement}`)
    await trx.updateTable('posts').set({ body_md: body, body_html: renderMarkdown(body).html }).where('id', '=', post.id).execute()
  }
  await sql`update post_revisions set body_md = regexp_replace(body_md, ${pattern}, ${`\\1${replacement}`}, 'gi') where body_md ~* ${pattern}`.execute(trx)
}
