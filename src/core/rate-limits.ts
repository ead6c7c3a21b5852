import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { Redis } from 'ioredis'
import { TooManyRequests } from './errors.js'
import { subnetOf } from './net.js'

/**
 * A named rate limit to put on several routes at once (a form and its API twin share
 * one budget). Keyed by the member when logged in, else by IP; stored in Redis when
 * configured, so every web instance counts together.
 */
export function rateLimit(app: FastifyInstance, name: string, max: number, timeWindowMs: number): preHandlerAsyncHookHandler {
  return app.rateLimit({
    max,
    timeWindow: timeWindowMs,
    keyGenerator: (req) => (req.user ? `${name}:u${req.user.id}` : `${name}:${req.ip}`),
  }) as preHandlerAsyncHookHandler
}

/**
 * A budget counted twice: per client IP and per target (the account a log-in names, the
 * member re-entering a password). Either running out refuses the request, so neither a
 * new cookie, a new IP nor a new account buys more guesses. `target` returns null when the
 * request names no target (only the IP budget applies then).
 */
export function dualRateLimit(
  app: FastifyInstance,
  name: string,
  max: number,
  timeWindowMs: number,
  target: (req: FastifyRequest) => string | null | Promise<string | null>,
): preHandlerAsyncHookHandler {
  const targets = new WeakMap<FastifyRequest, string>()
  const byIp = app.createRateLimit({ max, timeWindow: timeWindowMs, keyGenerator: (req) => `${name}:ip:${req.ip}` })
  const byTarget = app.createRateLimit({
    max,
    timeWindow: timeWindowMs,
    keyGenerator: (req) => `${name}:t:${targets.get(req) ?? ''}`,
  })
  return async (req) => {
    const results = [await byIp(req)]
    const who = await target(req)
    if (who !== null) {
      targets.set(req, who)
      results.push(await byTarget(req))
    }
    const exceeded = results.find((r) => !r.isAllowed && r.isExceeded)
    if (exceeded && !exceeded.isAllowed) {
      throw new TooManyRequests(`Too many attempts. Try again in ${Math.max(1, Math.ceil(exceeded.ttl / 60_000))} minute(s).`)
    }
  }
}

/** The shared budget for re-entering one's password in settings (password and address changes). */
export function passwordCheckLimit(app: FastifyInstance, max: number): preHandlerAsyncHookHandler {
  return dualRateLimit(app, 'password-check', max, 15 * 60 * 1000, (req) => (req.user ? `u${req.user.id}` : null))
}

type Counted = { current: number; ttl: number }
type Callback = (err: Error | null, res: Counted | null) => void

// Counts kept in memory while Redis is away; the oldest keys go first past this many.
const LOCAL_KEYS = 50_000
// A request never waits longer than this for Redis to count it.
const REDIS_BUDGET_MS = 250

/**
 * The rate-limit store: counts in Redis (shared by every instance) while Redis answers, and
 * in this process's memory the moment it does not — a down or slow Redis never delays a
 * request (no offline queue, no retries on the request path) and never turns the limits
 * off. While Redis is away each instance enforces the full budget on its own, so a client
 * spread over N instances gets at most N times the budget: weaker, never unlimited.
 */
export function fallbackRateLimitStore(redis: Redis | null, prefix: string): new (params: unknown) => unknown {
  const local = new Map<string, { count: number; resetAt: number }>()
  const countLocally = (key: string, timeWindow: number): Counted => {
    const now = Date.now()
    let entry = local.get(key)
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + timeWindow }
      local.delete(key)
    }
    entry.count += 1
    local.set(key, entry)
    if (local.size > LOCAL_KEYS) local.delete(local.keys().next().value as string)
    return { current: entry.count, ttl: entry.resetAt - now }
  }
  if (redis && !(redis as unknown as { hearthRateLimit?: unknown }).hearthRateLimit) {
    redis.defineCommand('hearthRateLimit', {
      numberOfKeys: 1,
      lua: `local current = redis.call('INCR', KEYS[1])
        if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        return {current, redis.call('PTTL', KEYS[1])}`,
    })
  }
  const countInRedis = (key: string, timeWindow: number): Promise<Counted> => {
    const call = (redis as unknown as { hearthRateLimit(key: string, ms: number): Promise<[number, number]> }).hearthRateLimit(
      `${prefix}${key}`,
      timeWindow,
    )
    let timer: NodeJS.Timeout | undefined
    return Promise.race([
      call.then(([current, ttl]) => ({ current, ttl: ttl < 0 ? timeWindow : ttl })),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('rate-limit store timed out')), REDIS_BUDGET_MS)
      }),
    ]).finally(() => clearTimeout(timer))
  }

  class FallbackStore {
    incr(key: string, cb: Callback, timeWindow: number): void {
      // Only a connected client is asked: a reconnecting one would queue the command.
      if (!redis || redis.status !== 'ready') return cb(null, countLocally(key, timeWindow))
      countInRedis(key, timeWindow).then(
        (res) => cb(null, res),
        () => cb(null, countLocally(key, timeWindow)),
      )
    }

    child(): FallbackStore {
      // Keys carry the limit's name, so every route sharing a name shares one budget.
      return this
    }
  }
  return FallbackStore as new (params: unknown) => unknown
}

/**
 * Sign-up budgets, all counted at once: per IP address per hour and per day, and per subnet
 * (/24 IPv4, /64 IPv6: a household, or one server's block of addresses) per hour. Any one
 * running out refuses the sign-up (429), so neither waiting an hour nor rotating addresses
 * within a block buys a flood. Counted in the same store as every limit (Redis, or this
 * process's memory while Redis is away).
 */
export function signupRateLimit(app: FastifyInstance, limits: { perHour: number; perDay: number; perSubnet: number }): preHandlerAsyncHookHandler {
  const checks = [
    { check: app.createRateLimit({ max: limits.perHour, timeWindow: HOUR_MS, keyGenerator: (req) => `signup:${req.ip}` }), what: 'from your address' },
    { check: app.createRateLimit({ max: limits.perDay, timeWindow: 24 * HOUR_MS, keyGenerator: (req) => `signup-day:${req.ip}` }), what: 'from your address today' },
    { check: app.createRateLimit({ max: limits.perSubnet, timeWindow: HOUR_MS, keyGenerator: (req) => `signup-net:${subnetOf(req.ip)}` }), what: 'from your network' },
  ]
  return async (req) => {
    for (const { check, what } of checks) {
      const result = await check(req)
      if (!result.isAllowed && result.isExceeded) {
        throw new TooManyRequests(`Too many sign-ups ${what}. Try again in ${Math.max(1, Math.ceil(result.ttl / 60_000))} minute(s).`)
      }
    }
  }
}

const HOUR_MS = 60 * 60 * 1000
