import type { FastifyInstance } from 'fastify'
import type { EventType } from '../../src/core/events.js'
import WebSocket from 'ws'

/** A frame the server sent on `/live`. */
export type Frame = Record<string, unknown> & { type: string }

/**
 * A real websocket client for `/live`: keeps every frame it receives, in order, and lets a
 * test wait for the next frame that matches.
 */
export class LiveClient {
  readonly frames: Frame[] = []
  private cursor = 0
  private waiters: (() => void)[] = []
  readonly closed: Promise<{ code: number; reason: string }>

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame)
      for (const wake of this.waiters.splice(0)) wake()
    })
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        resolve({ code, reason: String(reason) })
        for (const wake of this.waiters.splice(0)) wake()
      })
    })
  }

  /** Opens a socket to `<base>/live` with optional cookies (a member's session). */
  static connect(base: string, options: { cookie?: string; origin?: string } = {}): Promise<LiveClient> {
    const headers: Record<string, string> = {}
    if (options.cookie) headers.cookie = options.cookie
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/live`, { headers, ...(options.origin ? { origin: options.origin } : {}) })
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new LiveClient(socket)))
      socket.once('error', reject)
    })
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** Subscribes and waits for the answer (`subscribed` or `error` for that channel). */
  async subscribe(channel: string, since?: number): Promise<Frame> {
    this.send({ type: 'subscribe', channel, ...(since === undefined ? {} : { since }) })
    return this.next((f) => (f.type === 'subscribed' || f.type === 'error') && f.channel === channel)
  }

  /** The next frame (after those already taken) that matches; fails after `timeoutMs`. */
  async next(match: (frame: Frame) => boolean = () => true, timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      while (this.cursor < this.frames.length) {
        const frame = this.frames[this.cursor++]!
        if (match(frame)) return frame
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** The next event frame on a channel. */
  event(channel: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.type === 'event' && f.channel === channel, timeoutMs)
  }

  /** Resolves with the close code and reason; fails when the socket stays open past `timeoutMs`. */
  async whenClosed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      return await Promise.race([this.closed, late])
    } finally {
      clearTimeout(timer)
    }
  }

  close(): void {
    this.socket.close()
  }
}

/**
 * Writes an event to the outbox as a service would, outside any other change; the app's
 * relay delivers it. Payloads here are whatever a transport test needs, not a real event's.
 */
export async function emitEvent(
  app: FastifyInstance,
  type: EventType,
  channels: string[],
  data: Record<string, unknown>,
  categoryId?: number,
): Promise<void> {
  await app.hearth.outbox.emit(app.hearth.db, type, data as never, { channels, categoryId })
}
