import pino, { type Logger } from 'pino'
import type { Config } from '../config.js'

/** The process logger for entrypoints (requests get Fastify's child loggers). */
export function createLogger(config: Pick<Config, 'logLevel'>, name: string): Logger {
  return pino({ level: config.logLevel, base: { process: name } })
}
