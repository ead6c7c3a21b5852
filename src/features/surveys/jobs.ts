import type { JobDefinition } from '../../worker-runtime.js'

/**
 * One batch of a survey's invitations (INVITE_BATCH members, one transaction), queued when
 * the survey opens; each batch queues the next (job ids per batch, so a retry or a second
 * run adds nobody twice: invitations are unique per member). A survey gone or closed is skipped.
 */
export const surveyInvite: JobDefinition<'surveys.invite'> = {
  name: 'surveys.invite',
  async handle(payload, ctx) {
    const result = await ctx.services.surveys.runInviteJob(payload.surveyId, payload.afterUserId)
    ctx.log.info({ ...payload, ...result }, 'survey invitations sent')
    return result
  },
}

export const surveyJobs = [surveyInvite] as JobDefinition[]
