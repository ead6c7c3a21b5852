import { sql } from 'kysely'
import { markdownToText, renderMarkdown } from '../../core/markdown.js'
import { leavingMember, plain, type PersonalDataContributor, selfReferences } from '../accounts/personal-data-registry.js'

const ERASED_IDEA = '*The member who proposed this idea has deleted their account.*'

/** Ideas proposed, votes and followed ideas. */
export const ideaPersonalData: PersonalDataContributor = {
  name: 'ideas',

  async exportFor(userId, trx) {
    const [ideas, votes, follows] = await Promise.all([
      trx.selectFrom('ideas').select(['id', 'title', 'body_md', 'status', 'vote_count', 'created_at', 'updated_at']).where('author_id', '=', userId).orderBy('id').execute(),
      trx
        .selectFrom('idea_votes as v')
        .innerJoin('ideas as i', 'i.id', 'v.idea_id')
        .select(['v.idea_id', 'i.title', 'v.created_at'])
        .where('v.user_id', '=', userId)
        .orderBy('v.created_at')
        .execute(),
      // Following an idea is watching its comment thread (notification levels).
      trx
        .selectFrom('thread_notification_levels as l')
        .innerJoin('ideas as i', 'i.thread_id', 'l.thread_id')
        .select(['i.id as idea_id', 'i.title', 'l.updated_at as created_at'])
        .where('l.user_id', '=', userId)
        .where('l.level', '=', 'watching')
        .orderBy('i.id')
        .execute(),
    ])
    return [
      { key: 'ideas', title: 'Ideas you proposed', items: ideas.map(plain) },
      { key: 'idea_votes', title: 'Ideas you voted for', items: votes.map(plain) },
      { key: 'idea_follows', title: 'Ideas you follow', items: follows.map(plain) },
    ]
  },

  async eraseFor(userId, mode, trx) {
    // Follows are notification levels: the notifications contributor erases them.
    // What stays of their ideas no longer names them.
    const { names, email } = await leavingMember(trx, userId)
    const self = selfReferences(userId, names, email)
    const own = await trx
      .selectFrom('ideas')
      .select(['id', 'title', 'body_md'])
      .where('author_id', '=', userId)
      .where((eb) => eb.or([sql<boolean>`body_md ~* ${self.pattern}`, sql<boolean>`title ~* ${self.pattern}`]))
      .execute()
    for (const idea of own) {
      const body = self.rewrite(idea.body_md)
      await trx
        .updateTable('ideas')
        .set({ title: self.rewrite(idea.title), body_md: body, body_html: renderMarkdown(body).html, excerpt: markdownToText(body, 200) })
        .where('id', '=', idea.id)
        .execute()
    }
    // Earlier versions of their ideas: gone with the text (erase), or rewritten like it.
    const theirs = (eb: any) => eb.selectFrom('ideas').select('id').where('author_id', '=', userId)
    if (mode === 'erase') await trx.deleteFrom('idea_revisions').where('idea_id', 'in', theirs).execute()
    else {
      const revisions = await trx
        .selectFrom('idea_revisions')
        .select(['id', 'title', 'body_md'])
        .where('idea_id', 'in', theirs)
        .where((eb) => eb.or([sql<boolean>`body_md ~* ${self.pattern}`, sql<boolean>`title ~* ${self.pattern}`]))
        .execute()
      for (const r of revisions) await trx.updateTable('idea_revisions').set({ title: self.rewrite(r.title), body_md: self.rewrite(r.body_md) }).where('id', '=', r.id).execute()
    }
    if (mode === 'erase') {
      // The idea stays for those who voted and commented; its text and author go.
      const html = renderMarkdown(ERASED_IDEA).html
      await trx.updateTable('ideas').set({ body_md: ERASED_IDEA, body_html: html, excerpt: 'The member who proposed this idea has deleted their account.' }).where('author_id', '=', userId).execute()
      await sql`update ideas set vote_count = vote_count - 1 where id in (select idea_id from idea_votes where user_id = ${userId})`.execute(trx)
      await trx.deleteFrom('idea_votes').where('user_id', '=', userId).execute()
    }
    await trx.updateTable('ideas').set({ author_id: null }).where('author_id', '=', userId).execute()
  },
}
