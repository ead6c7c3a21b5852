import type { JobDefinition } from '../../worker-runtime.js'

/** The schedule looks this far ahead and queues each reminder as a job delayed to its exact time. */
const LOOK_AHEAD_MS = 10 * 60_000

/**
 * Every minute: queues each reminder due within the next ten minutes as a job delayed to
 * its time, and each recap owed. Job ids carry the occurrence, the reminder and the start
 * time, so queuing again is harmless and a moved date gets a job of its own. Losing these
 * jobs (Redis wiped, a worker killed) only delays them: the next pass queues them again,
 * and the delivery ledger keeps every send exactly once.
 */
export const eventsSchedule: JobDefinition<'events.schedule'> = {
  name: 'events.schedule',
  schedule: { pattern: '* * * * *' },
  async handle(_payload, { services, queue }) {
    const { reminders, recaps } = await services.meetups.due(LOOK_AHEAD_MS)
    const now = Date.now()
    await queue.enqueueBulk(
      'events.remind',
      reminders.map((r) => {
        const startsAt = r.starts_at.getTime()
        return {
          payload: { occurrenceId: Number(r.occurrence_id), minutes: r.minutes, startsAt },
          options: { jobId: `remind-${r.occurrence_id}-${r.minutes}-${startsAt}`, delay: Math.max(0, startsAt - r.minutes * 60_000 - now) },
        }
      }),
    )
    await queue.enqueueBulk(
      'events.recap',
      recaps.map((r) => ({ payload: { occurrenceId: Number(r.occurrence_id) }, options: { jobId: `recap-${r.occurrence_id}` } })),
    )
    return { reminders: reminders.length, recaps: recaps.length }
  },
}

/** One reminder of one date to everyone going, exactly once each (see EventService.sendReminders). */
export const eventsRemind: JobDefinition<'events.remind'> = {
  name: 'events.remind',
  async handle({ occurrenceId, minutes, startsAt }, { services }) {
    return services.meetups.sendReminders(occurrenceId, minutes, startsAt)
  },
}

/** After a date: the recap link and the rating question to everyone who went, exactly once each. */
export const eventsRecap: JobDefinition<'events.recap'> = {
  name: 'events.recap',
  async handle({ occurrenceId }, { services }) {
    return services.meetups.sendRecap(occurrenceId)
  },
}

/** Hourly: series get their next dates, so there are always a few ahead to RSVP to. */
export const eventsExtend: JobDefinition<'events.extend'> = {
  name: 'events.extend',
  schedule: { pattern: '17 * * * *' },
  withoutRedis: true,
  async handle(_payload, { services }) {
    return { added: await services.meetups.extendAll() }
  },
}

export const eventJobs = [eventsSchedule, eventsRemind, eventsRecap, eventsExtend] as JobDefinition[]
