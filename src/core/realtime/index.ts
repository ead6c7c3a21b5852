import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { AnyDomainEvent } from '../events.js'
import type { EventConsumer } from '../outbox.js'
import { type Fanout, type FanoutEvent, type HistoryLimits, LocalFanout, RedisFanout } from './fanout.js'
import { defaultLiveLimits, LiveHub, type LiveLimits } from './hub.js'

export { LiveHub, type LiveLimits, type ChannelAuthorizer, type CategoryCheck, type LiveIdentity } from './hub.js'
export type { Fanout } from './fanout.js'

const history: HistoryLimits = { perChannel: 200, ttlSeconds: 24 * 60 * 60, channelsInMemory: 10_000 }

/** Live limits a deployment (or a test) may override. */
export type LiveOptions = Partial<LiveLimits & { historyPerChannel: number }>

/**
 * The fan-out of live events: through Redis pub/sub when Redis is configured (any number of
 * web instances and workers, no sticky sessions), in-process otherwise.
 */
export function createFanout(options: { redis: Redis | null; redisPrefix: string; log: Logger; limits?: LiveOptions }): Fanout {
  const perChannel = options.limits?.historyPerChannel
  const kept = { ...history, ...(perChannel ? { perChannel } : {}) }
  return options.redis
    ? new RedisFanout(options.redis, options.redisPrefix, kept, (err) => options.log.error({ err }, 'live: Redis subscriber error'))
    : new LocalFanout(kept)
}

/** The live hub for one web instance, on the process's fan-out. */
export function createLiveHub(options: { fanout: Fanout; log: Logger; limits?: LiveOptions }): LiveHub {
  const { historyPerChannel: _kept, ...limits } = options.limits ?? {}
  return new LiveHub(options.fanout, { ...defaultLiveLimits, ...limits }, options.log)
}

/**
 * The outbox consumer that puts committed events on their live channels (and session and
 * access changes on the control topic). Idempotent: the fan-out publishes an event id once.
 */
export function liveConsumer(fanout: Fanout): EventConsumer {
  const bodyOf = (event: AnyDomainEvent) => ({ type: event.type, data: event.data, ...(event.categoryId ? { categoryId: event.categoryId } : {}) }) as never
  const isControl = (event: AnyDomainEvent) => event.type === 'session.ended' || event.type === 'access.changed'
  return {
    name: 'live',
    async handle(event) {
      if (isControl(event)) await fanout.publishControl({ ...event.data, kind: event.type } as never)
      if (event.channels.length === 0) return
      await fanout.publishEvent(event.id, event.channels, bodyOf(event))
    },
    // A relay pass's events in one call to the fan-out (one Redis round trip), in order; a
    // session or access change goes out on the control topic in its place among them.
    async handleMany(events) {
      let run: FanoutEvent[] = []
      for (const event of events) {
        if (isControl(event)) {
          await fanout.publishEvents(run)
          run = []
          await fanout.publishControl({ ...event.data, kind: event.type } as never)
        }
        if (event.channels.length > 0) run.push({ id: event.id, channels: event.channels, body: bodyOf(event) })
      }
      await fanout.publishEvents(run)
    },
  }
}
