import type { JobDefinition } from './core/queue.js'
import { accountJobs } from './features/accounts/jobs.js'
import { digestJobs } from './features/digests/jobs.js'
import { emailJobs } from './features/email/jobs.js'

/** Every feature's jobs; the worker checks this covers every job name exactly once. */
export const allJobs: JobDefinition[] = [...accountJobs, ...digestJobs, ...emailJobs]
