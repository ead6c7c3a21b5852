import type { JobDefinition } from '../../worker-runtime.js'
import { enqueueDueDigests, sendDigest } from './service.js'

/** Every hour: find members due a digest and fan out one mail job each, in batches. */
export const enqueueDigests: JobDefinition<'digest.enqueue'> = {
  name: 'digest.enqueue',
  schedule: { pattern: '7 * * * *' },
  async handle(_payload, { db, queue, log }) {
    const enqueued = await enqueueDueDigests(db, queue)
    log.info({ enqueued }, 'digests enqueued')
    return { enqueued }
  },
}

/** One member's digest for one period (rate-limited mail queue). */
export const sendDigestJob: JobDefinition<'mail.digest'> = {
  name: 'mail.digest',
  async handle({ userId, periodKey }, { db, config, mailer, services }) {
    const result = await sendDigest({ db, config, mailer, mailLinks: services.email.mailLinks }, userId, periodKey)
    return { result }
  },
}

export const digestJobs: JobDefinition[] = [enqueueDigests as JobDefinition, sendDigestJob as JobDefinition]
