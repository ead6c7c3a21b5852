import type { JobDefinition } from './core/queue.js'
import { accountJobs } from './features/accounts/jobs.js'
import { registerDiscussionDigest } from './features/discussions/digest.js'
import { digestJobs } from './features/digests/jobs.js'
import { emailJobs } from './features/email/jobs.js'
import { registerIdeaDigest } from './features/ideas/digest.js'
import { trustJobs } from './features/trust/jobs.js'

// What a digest holds, after its stats header: discussions, then ideas and betas.
registerDiscussionDigest()
registerIdeaDigest()

/** Every feature's jobs; the worker checks this covers every job name exactly once. */
export const allJobs: JobDefinition[] = [...accountJobs, ...digestJobs, ...emailJobs, ...trustJobs]
