import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { EventBus } from '../events.js'
import { type HistoryLimits, LocalFanout, RedisFanout } from './fanout.js'
import { defaultLiveLimits, LiveHub, type LiveLimits } from './hub.js'

export { LiveHub, type LiveLimits, type ChannelAuthorizer, type CategoryCheck, type LiveIdentity } from './hub.js'

const history: HistoryLimits = { perChannel: 200, ttlSeconds: 24 * 60 * 60, channelsInMemory: 10_000 }

/**
 * The live hub for one web instance: fan-out through Redis pub/sub when Redis is configured
 * (any number of instances, no sticky sessions), in-process otherwise; same protocol either way.
 */
export function createLiveHub(options: {
  events: EventBus
  redis: Redis | null
  redisPrefix: string
  log: FastifyBaseLogger
  limits?: Partial<LiveLimits & { historyPerChannel: number }>
}): LiveHub {
  const { historyPerChannel, ...limits } = options.limits ?? {}
  const kept = { ...history, ...(historyPerChannel ? { perChannel: historyPerChannel } : {}) }
  const fanout = options.redis
    ? new RedisFanout(options.redis, options.redisPrefix, kept, (err) => options.log.error({ err }, 'live: Redis subscriber error'))
    : new LocalFanout(kept)
  return new LiveHub(options.events, fanout, { ...defaultLiveLimits, ...limits }, options.log)
}
