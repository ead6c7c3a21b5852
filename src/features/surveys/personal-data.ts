import { plain, type PersonalDataContributor } from '../accounts/personal-data-registry.js'

/**
 * Surveys: the invitations a member got, their attributed answers and the follow-ups about
 * them. Anonymous answers are not theirs to export or erase: nothing stored links them to
 * the member (the "has answered" ledger holds a keyed hash that only tells the server
 * whether this member answered one survey, and says nothing once the account is gone).
 */
export const surveyPersonalData: PersonalDataContributor = {
  name: 'surveys',

  async exportFor(userId, trx) {
    const [invitations, answers, followups] = await Promise.all([
      trx.selectFrom('survey_invitations as i').innerJoin('surveys as s', 's.id', 'i.survey_id').select(['s.id as survey_id', 's.title', 'i.created_at']).where('i.user_id', '=', userId).orderBy('i.created_at').execute(),
      trx.selectFrom('survey_responses as r').innerJoin('surveys as s', 's.id', 'r.survey_id').select(['s.id as survey_id', 's.title', 'r.answers', 'r.answered_on']).where('r.user_id', '=', userId).orderBy('r.answered_on').execute(),
      trx.selectFrom('survey_followups').select(['survey_id', 'score', 'status', 'note', 'created_at', 'updated_at']).where('user_id', '=', userId).orderBy('created_at').execute(),
    ])
    return [
      { key: 'survey_invitations', title: 'Surveys you were invited to', items: invitations.map(plain) },
      { key: 'survey_answers', title: 'Your answers to attributed surveys', items: answers.map(plain) },
      { key: 'survey_followups', title: 'Follow-ups the team kept after your answers', items: followups.map(plain) },
    ]
  },

  // Anonymising keeps the answers for the results without the member (they become anonymous);
  // erasing deletes them. Invitations and follow-ups go either way.
  async eraseFor(userId, mode, trx) {
    await trx.deleteFrom('survey_followups').where('user_id', '=', userId).execute()
    await trx.deleteFrom('survey_invitations').where('user_id', '=', userId).execute()
    if (mode === 'erase') await trx.deleteFrom('survey_responses').where('user_id', '=', userId).execute()
    else await trx.updateTable('survey_responses').set({ user_id: null, anonymous: true }).where('user_id', '=', userId).execute()
  },
}
