import { plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/** Daily reading statistics and the categories the member moderates. */
export const trustPersonalData: PersonalDataContributor = {
  name: 'trust',

  async exportFor(userId, trx) {
    const [stats, moderates] = await Promise.all([
      trx.selectFrom('user_daily_stats').select(['day', 'posts_read', 'topics_entered', 'reading_seconds']).where('user_id', '=', userId).orderBy('day').execute(),
      trx
        .selectFrom('category_moderators as m')
        .innerJoin('categories as c', 'c.id', 'm.category_id')
        .select(['c.name as category', 'm.source', 'm.created_at'])
        .where('m.user_id', '=', userId)
        .execute(),
    ])
    return [
      { key: 'reading_stats', title: 'Your daily reading statistics', items: stats.map(plain) },
      { key: 'moderating', title: 'Categories you moderate', items: moderates.map(plain) },
    ]
  },

  async eraseFor(userId, _mode, trx) {
    await trx.deleteFrom('user_daily_stats').where('user_id', '=', userId).execute()
    await trx.deleteFrom('category_moderators').where('user_id', '=', userId).execute()
  },
}
