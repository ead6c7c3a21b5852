import { pruneOutbox } from './core/outbox.js'
import { accountJobs } from './features/accounts/jobs.js'
import { activityJobs } from './features/activity/jobs.js'
import { registerDiscussionDigest } from './features/discussions/digest.js'
import { digestJobs } from './features/digests/jobs.js'
import { emailJobs } from './features/email/jobs.js'
import { eventJobs } from './features/events/jobs.js'
import { registerIdeaDigest } from './features/ideas/digest.js'
import { spamJobs } from './features/spam/jobs.js'
import { trustJobs } from './features/trust/jobs.js'
import { surveyJobs } from './features/surveys/jobs.js'
import type { JobDefinition } from './worker-runtime.js'

// What a digest holds, after its stats header: discussions, then ideas and betas.
registerDiscussionDigest()
registerIdeaDigest()

/** Every hour: delivered outbox events older than a day are deleted. */
const pruneOutboxJob: JobDefinition<'outbox.prune'> = {
  name: 'outbox.prune',
  schedule: { pattern: '23 * * * *' },
  withoutRedis: true,
  async handle(_payload, { db, log }) {
    const pruned = await pruneOutbox(db)
    log.info({ pruned }, 'delivered outbox events pruned')
    return { pruned }
  },
}

/** Every feature's jobs; the worker checks this covers every job name exactly once. */
export const allJobs: JobDefinition[] = [...accountJobs, ...activityJobs, ...digestJobs, ...emailJobs, ...trustJobs, ...spamJobs, pruneOutboxJob as JobDefinition, ...surveyJobs, ...eventJobs]
