import type { JobDefinition } from '../../worker-runtime.js'

/**
 * Nightly: fingerprints of ordinary posts older than 30 days are deleted (the near-duplicate
 * check compares the newest 2,000 anyway); known spammers' texts are kept.
 */
export const pruneFingerprints: JobDefinition<'spam.prune'> = {
  name: 'spam.prune',
  schedule: { pattern: '50 4 * * *' },
  async handle(_payload, ctx) {
    const pruned = await ctx.services.spam.pruneFingerprints(30)
    ctx.log.info({ pruned }, 'old post fingerprints pruned')
    return { pruned }
  },
}

export const spamJobs: JobDefinition[] = [pruneFingerprints as JobDefinition]
