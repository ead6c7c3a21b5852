import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { EventConsumer } from '../outbox.js'
import { type Fanout, type HistoryLimits, LocalFanout, RedisFanout } from './fanout.js'
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
  return {
    name: 'live',
    async handle(event) {
      if (event.type === 'session.ended' || event.type === 'access.changed') {
        await fanout.publishControl({ ...event.data, kind: event.type } as never)
      }
      if (event.channels.length === 0) return
      const body = { type: event.type, data: event.data, ...(event.categoryId ? { categoryId: event.categoryId } : {}) }
      await fanout.publishEvent(event.id, event.channels, body as never)
    },
  }
}
