import { plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/** The activity log, daily and monthly figures and lifecycle stages; the member's referral link and who referred them. */
export const activityPersonalData: PersonalDataContributor = {
  name: 'activity',

  async exportFor(userId, trx) {
    const [acts, stages, link, referred] = await Promise.all([
      trx.selectFrom('activity_log').select(['kind', 'subject_id', 'category_id', 'at']).where('user_id', '=', userId).orderBy('at').execute(),
      trx.selectFrom('member_stage_changes').selectAll().where('user_id', '=', userId).execute(),
      trx.selectFrom('referral_links').select(['code', 'visits', 'created_at']).where('owner_id', '=', userId).execute(),
      trx.selectFrom('referrals').select(['link_id', 'created_at']).where('user_id', '=', userId).execute(),
    ])
    return [
      { key: 'activity', title: 'What you did, as the activity log counts it', items: acts.map(plain) },
      { key: 'lifecycle_stages', title: 'Your lifecycle stages over time', items: stages.map(plain) },
      { key: 'referral_link', title: 'Your invite link', items: link.map(plain) },
      { key: 'referred_by', title: 'The link you joined through', items: referred.map(plain) },
    ]
  },

  async eraseFor(userId, _mode, trx) {
    for (const table of ['activity_log', 'member_days', 'member_months', 'member_stage_changes', 'member_stages', 'health_members', 'helper_months', 'health_helpers', 'referrals'] as const) {
      await trx.deleteFrom(table).where('user_id', '=', userId).execute()
    }
    await trx.deleteFrom('referral_links').where('owner_id', '=', userId).execute()
    await trx.updateTable('referrals').set({ referrer_id: null }).where('referrer_id', '=', userId).execute()
  },
}
