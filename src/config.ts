import path from 'node:path'
import { z } from 'zod'

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

const url = (protocols: string[]) =>
  z.string().refine((v) => URL.canParse(v) && protocols.includes(new URL(v).protocol), {
    message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  })

/** Every environment variable Hearth reads, with its default. `.env.example` documents each. */
const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number({ error: 'must be a port number' }).int('must be a port number').min(0, 'must be a port number').max(65535, 'must be a port number').default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  BASE_URL: url(['http:', 'https:']).optional(),
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(100).max(600_000).default(5_000),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(0).max(3_600_000).default(30_000),
  DATA_DIR: z.string().min(1).default('./data'),
  UPLOADS_DIR: z.string().min(1).optional(),
  MIGRATE_ON_START: bool.default(true),
  REDIS_URL: url(['redis:', 'rediss:']).optional(),
  REDIS_PREFIX: z.string().regex(/^[a-z0-9:_-]+$/i, 'letters, digits, : _ - only').default('hearth'),
  SMTP_URL: url(['smtp:', 'smtps:']).optional(),
  MAIL_FROM: z.string().min(3).default('Hearth <hearth@localhost>'),
  MAIL_RATE_LIMIT: z.coerce.number({ error: 'must be a number of mails per second' }).int('must be a whole number of mails per second').min(1, 'must be at least 1 mail per second').max(100_000).default(50),
  MAIL_CONCURRENCY: z.coerce.number({ error: 'must be a number' }).int().min(1, 'must be at least 1').max(256).default(8),
  NOTIFICATION_MAIL_DELAY: z.coerce.number({ error: 'must be a number of seconds' }).int().min(0).max(86_400).default(180),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  SESSION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  TRUST_PROXY: bool.default(false),
  RATE_LIMIT_SIGNUP: z.coerce.number().int().min(1).default(10),
  RATE_LIMIT_LOGIN: z.coerce.number().int().min(1).default(20),
  RATE_LIMIT_POST: z.coerce.number().int().min(1).default(30),
  /** Sign-ups per day from one IP address, and per hour from one subnet (/24 IPv4, /64 IPv6). */
  RATE_LIMIT_SIGNUP_DAY: z.coerce.number().int().min(1).default(20),
  RATE_LIMIT_SIGNUP_SUBNET: z.coerce.number().int().min(1).default(30),
  AKISMET_KEY: z.string().min(1).max(200).optional(),
  AKISMET_URL: url(['http:', 'https:']).optional(),
  COMMUNITY_NAME: z.string().min(1).max(80).default('Hearth'),
  GUEST_CACHE_SECONDS: z.coerce.number().int().min(0).max(600).default(10),
  JOBS_IN_PROCESS: bool.default(true),
  JOBS_IN_PROCESS_EVERY_SECONDS: z.coerce.number({ error: 'must be a number of seconds' }).int().min(1).max(86_400).optional(),
  GUEST_CACHE_MAX_MB: z.coerce.number({ error: 'must be a number of megabytes' }).int().min(1).max(4096).default(16),
})

export type Env = z.input<typeof EnvSchema>

/** Typed, validated configuration; the only place that reads `process.env`. */
export interface Config {
  env: 'development' | 'production' | 'test'
  port: number
  host: string
  baseUrl: string
  databaseUrl: string | null
  databasePoolSize: number
  /** Waiting for a connection, and one statement's run time (0: unlimited); migrations are not limited. */
  databaseTimeouts: { connectMs: number; statementMs: number }
  dataDir: string
  /** Where uploaded images are kept (the local-folder storage); outside `static/`, never executed. */
  uploadsDir: string
  migrateOnStart: boolean
  redisUrl: string | null
  redisPrefix: string
  smtpUrl: string | null
  mailFrom: string
  /** Mails per second across every worker, so a large community does not flood the relay. */
  mailRateLimit: number
  /** Mails one worker process sends at the same time. */
  mailConcurrency: number
  /** Seconds a notification waits for others to share its mail. */
  notificationMailDelaySeconds: number
  logLevel: string
  secretKey: string | null
  cookieSecure: boolean
  sessionDays: number
  trustProxy: boolean
  rateLimits: { signup: number; login: number; post: number; signupPerDay: number; signupPerSubnet: number }
  /** An Akismet-compatible spam checker; null (the default) asks none. */
  akismet: { key: string; url: string } | null
  communityName: string
  guestCacheSeconds: number
  /** The guest cache's total size bound, in bytes. */
  guestCacheMaxBytes: number
  /**
   * Without Redis, the web process runs the scheduled jobs that need no queue (trust,
   * promotion, session purge, outbox prune) itself; `everyMs` runs each that often instead
   * of on its schedule (tests and demos).
   */
  jobsInProcess: { enabled: boolean; everyMs: number | null }
}

/** Thrown when the environment is invalid; `problems` holds one line per bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

/** Parses the environment into a Config, or throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(
    Object.keys(EnvSchema.shape).map((key) => [key, env[key] === '' ? undefined : env[key]]),
  )
  const result = EnvSchema.safeParse(cleaned)
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?')
      const shown = env[name] === undefined ? '' : ` (got ${JSON.stringify(env[name])})`
      return `${name}: ${issue.message}${shown}`
    })
    throw new ConfigError(problems)
  }
  const e = result.data
  const baseUrl = (e.BASE_URL ?? `http://${e.HOST === '0.0.0.0' ? 'localhost' : e.HOST}:${e.PORT}`).replace(/\/$/, '')
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    baseUrl,
    databaseUrl: e.DATABASE_URL ?? null,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databaseTimeouts: { connectMs: e.DATABASE_CONNECT_TIMEOUT_MS, statementMs: e.DATABASE_STATEMENT_TIMEOUT_MS },
    dataDir: path.resolve(e.DATA_DIR),
    uploadsDir: path.resolve(e.UPLOADS_DIR ?? path.join(e.DATA_DIR, 'uploads')),
    migrateOnStart: e.MIGRATE_ON_START,
    redisUrl: e.REDIS_URL ?? null,
    redisPrefix: e.REDIS_PREFIX,
    smtpUrl: e.SMTP_URL ?? null,
    mailFrom: e.MAIL_FROM,
    mailRateLimit: e.MAIL_RATE_LIMIT,
    mailConcurrency: e.MAIL_CONCURRENCY,
    notificationMailDelaySeconds: e.NOTIFICATION_MAIL_DELAY,
    logLevel: e.LOG_LEVEL,
    secretKey: e.SECRET_KEY ?? null,
    cookieSecure: e.COOKIE_SECURE === 'auto' ? baseUrl.startsWith('https:') : e.COOKIE_SECURE === 'true',
    sessionDays: e.SESSION_DAYS,
    trustProxy: e.TRUST_PROXY,
    rateLimits: { signup: e.RATE_LIMIT_SIGNUP, login: e.RATE_LIMIT_LOGIN, post: e.RATE_LIMIT_POST, signupPerDay: e.RATE_LIMIT_SIGNUP_DAY, signupPerSubnet: e.RATE_LIMIT_SIGNUP_SUBNET },
    akismet: e.AKISMET_KEY ? { key: e.AKISMET_KEY, url: e.AKISMET_URL ?? 'https://rest.akismet.com' } : null,
    communityName: e.COMMUNITY_NAME,
    guestCacheSeconds: e.GUEST_CACHE_SECONDS,
    guestCacheMaxBytes: e.GUEST_CACHE_MAX_MB * 1024 * 1024,
    jobsInProcess: { enabled: e.JOBS_IN_PROCESS, everyMs: e.JOBS_IN_PROCESS_EVERY_SECONDS ? e.JOBS_IN_PROCESS_EVERY_SECONDS * 1_000 : null },
  }
}

/** Loads config for an entrypoint: on error prints one line per bad variable and exits 1. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
}
