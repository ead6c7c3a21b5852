import { SessionStore } from '../../core/auth/sessions.js'
import type { JobDefinition } from '../../core/queue.js'

/** Deletes expired sessions every hour so the table holds only live ones. */
export const purgeSessions: JobDefinition<'sessions.purge'> = {
  name: 'sessions.purge',
  schedule: { pattern: '17 * * * *' },
  async handle(_payload, { db, config, log }) {
    const purged = await new SessionStore(db, config.sessionDays).purgeExpired()
    log.info({ purged }, 'expired sessions purged')
    return { purged }
  },
}

export const accountJobs: JobDefinition[] = [purgeSessions as JobDefinition]
