import type { JobDefinition } from './core/queue.js'
import { accountJobs } from './features/accounts/jobs.js'
import { trustJobs } from './features/trust/jobs.js'

/** Every feature's jobs; the worker checks this covers every job name exactly once. */
export const allJobs: JobDefinition[] = [...accountJobs, ...trustJobs]
