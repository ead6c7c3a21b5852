import { Redis } from 'ioredis'

/** A Redis connection for commands (rate limits, pub/sub publishing, readiness). */
export function createRedis(url: string): Redis {
  // BullMQ needs maxRetriesPerRequest null on connections it blocks on; plain commands
  // get a bounded retry so a Redis outage fails requests quickly instead of hanging them.
  return new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false })
}

/** A Redis connection for BullMQ workers (blocking commands). */
export function createBlockingRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null })
}
