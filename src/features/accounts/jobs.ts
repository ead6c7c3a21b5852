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

/** Builds one member's data export; on the last failed attempt the export is marked failed so they can ask again. */
export const buildExport: JobDefinition<'account.export'> = {
  name: 'account.export',
  async handle({ exportId }, { services, log }) {
    try {
      const result = await services.exports.build(exportId)
      log.info({ exportId, ...result }, 'data export built')
      return result
    } catch (err) {
      await services.exports.fail(exportId, (err as Error).message)
      throw err
    }
  },
}

/** Every hour: expired export files are removed. */
export const purgeExports: JobDefinition<'account.exports_purge'> = {
  name: 'account.exports_purge',
  schedule: { pattern: '41 * * * *' },
  async handle(_payload, { services, log }) {
    const purged = await services.exports.purgeExpired()
    log.info({ purged }, 'expired data exports removed')
    return { purged }
  },
}

/** Every ten minutes: accounts whose cooling-off has ended are deleted. */
export const runDeletions: JobDefinition<'account.deletions'> = {
  name: 'account.deletions',
  schedule: { pattern: '*/10 * * * *' },
  async handle(_payload, { services, log }) {
    const deleted = await services.leaving.runDue()
    log.info({ deleted }, 'due account deletions performed')
    return { deleted }
  },
}

export const accountJobs: JobDefinition[] = [purgeSessions, buildExport, purgeExports, runDeletions] as JobDefinition[]
