import { EventBus } from '../../core/events.js'
import type { JobContext, JobDefinition } from '../../core/queue.js'
import { CommunitySettings } from '../../core/settings.js'
import { NotificationService } from '../notifications/service.js'
import { TrustService } from './service.js'

function trustService({ db, log }: JobContext): TrustService {
  const events = new EventBus((err, event) => log.error({ err, event: event.type }, 'event listener failed'))
  return new TrustService(db, new CommunitySettings(db), new NotificationService(db, events))
}

/** Recomputes every member's trust level nightly (and on demand from /admin). */
export const recomputeTrust: JobDefinition<'trust.recompute'> = {
  name: 'trust.recompute',
  schedule: { pattern: '10 3 * * *' },
  async handle(_payload, ctx) {
    const result = await trustService(ctx).recompute()
    ctx.log.info(result, 'trust levels recomputed')
    return result
  },
}

/** Promotes and demotes category moderators nightly, after the trust recompute (and on demand). */
export const promoteModerators: JobDefinition<'moderators.promote'> = {
  name: 'moderators.promote',
  schedule: { pattern: '40 3 * * *' },
  async handle(_payload, ctx) {
    const result = await trustService(ctx).promote()
    ctx.log.info(result, 'moderator promotion run')
    return result
  },
}

export const trustJobs: JobDefinition[] = [recomputeTrust as JobDefinition, promoteModerators as JobDefinition]
