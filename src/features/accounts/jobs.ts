import type { JobDefinition } from '../../worker-runtime.js'

/** Deletes expired sessions every hour so the table holds only live ones. */
export const purgeSessions: JobDefinition<'sessions.purge'> = {
  name: 'sessions.purge',
  schedule: { pattern: '17 * * * *' },
  withoutRedis: true,
  async handle(_payload, { services, log }) {
    const purged = await services.sessions.purgeExpired()
    log.info({ purged }, 'expired sessions purged')
    return { purged }
  },
}

export const accountJobs: JobDefinition[] = [purgeSessions as JobDefinition]
