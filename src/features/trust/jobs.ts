import type { JobDefinition } from '../../worker-runtime.js'

/** Recomputes every member's trust level nightly (and on demand from /admin). */
export const recomputeTrust: JobDefinition<'trust.recompute'> = {
  name: 'trust.recompute',
  schedule: { pattern: '10 3 * * *' },
  withoutRedis: true,
  async handle(_payload, ctx) {
    const result = await ctx.services.trust.recompute()
    ctx.log.info(result, 'trust levels recomputed')
    return result
  },
}

/** Promotes and demotes category moderators nightly, after the trust recompute (and on demand). */
export const promoteModerators: JobDefinition<'moderators.promote'> = {
  name: 'moderators.promote',
  schedule: { pattern: '40 3 * * *' },
  withoutRedis: true,
  async handle(_payload, ctx) {
    const result = await ctx.services.trust.promote()
    ctx.log.info(result, 'moderator promotion run')
    return result
  },
}

export const trustJobs: JobDefinition[] = [recomputeTrust as JobDefinition, promoteModerators as JobDefinition]
