import { plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/** Posts of theirs that waited for approval, and the invitation links they made. */
export const spamPersonalData: PersonalDataContributor = {
  name: 'spam',

  async exportFor(userId, trx) {
    const [held, invites] = await Promise.all([
      trx.selectFrom('held_posts').select(['id', 'title', 'body_md', 'status', 'decision_reason', 'created_at']).where('author_id', '=', userId).orderBy('id').execute(),
      trx.selectFrom('invites').selectAll().where('created_by', '=', userId).execute(),
    ])
    return [
      { key: 'held_posts', title: 'Posts that waited for approval', items: held.map(plain) },
      { key: 'invites', title: 'Invitation links you made', items: invites.map(plain) },
    ]
  },

  async eraseFor(userId, _mode, trx) {
    // A held post was never published: nobody else relies on it.
    await trx.deleteFrom('held_posts').where('author_id', '=', userId).execute()
    await trx.deleteFrom('invites').where('created_by', '=', userId).execute()
    // Their texts' fingerprints stay for the similarity check when they were known spam, unattributed.
    await trx.deleteFrom('post_fingerprints').where('author_id', '=', userId).where('known_spam', '=', false).execute()
    await trx.updateTable('post_fingerprints').set({ author_id: null }).where('author_id', '=', userId).execute()
  },
}
