import type { JobDefinition } from '../../worker-runtime.js'

/**
 * Nightly, after the trust recompute: fills the activity log from existing data the first
 * time, rolls the closed days' figures for the health dashboard, and recomputes every
 * member's lifecycle stage.
 */
export const activityNightly: JobDefinition<'activity.nightly'> = {
  name: 'activity.nightly',
  schedule: { pattern: '55 3 * * *' },
  async handle(_payload, ctx) {
    const result = await ctx.services.activity.nightly()
    ctx.log.info(result, 'activity: days rolled and stages recomputed')
    return result
  },
}

export const activityJobs: JobDefinition[] = [activityNightly as JobDefinition]
