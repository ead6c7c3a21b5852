import { WebSocket } from 'ws'
import type { SessionUser } from '../auth/sessions.js'
import type { LiveEnvelope } from './protocol.js'

/** The limits every socket lives within; defaults suit production, tests shrink some. */
export interface LiveLimits {
  /** Largest client frame handled; bigger ones get an error frame. */
  maxFrameBytes: number
  maxSubscriptions: number
  /** Sustained client messages per second, and the burst allowed above it. */
  messagesPerSecond: number
  messageBurst: number
  /** Refused messages in a row after which the socket is closed (1008). */
  maxStrikes: number
  /** Bytes waiting to be sent to one socket beyond which it is dropped as a slow consumer. */
  sendBufferBytes: number
  heartbeatMs: number
  /** How often a logged-in socket's session is looked up again. */
  revalidateMs: number
  /** How long a visibility answer is reused for the same member and category. */
  visibilityCacheMs: number
  /** How long sockets get to close cleanly on shutdown before they are cut. */
  closeGraceMs: number
}

export const defaultLiveLimits: LiveLimits = {
  maxFrameBytes: 4096,
  maxSubscriptions: 50,
  messagesPerSecond: 10,
  messageBurst: 30,
  maxStrikes: 50,
  sendBufferBytes: 1024 * 1024,
  heartbeatMs: 30_000,
  revalidateMs: 120_000,
  visibilityCacheMs: 3_000,
  closeGraceMs: 1_000,
}

/** Decides whether a user (null: guest) may subscribe to `<kind>:<id>`; `id` is '' for a bare channel such as `mod`. */
export type ChannelAuthorizer = (user: SessionUser | null, id: string) => Promise<boolean>

/** Decides whether a user may see an event that belongs to a category. */
export type CategoryCheck = (user: SessionUser | null, categoryId: number) => Promise<boolean>

/** A channel kind as the hub keeps it. */
export interface ChannelKind {
  /** The internal channel key for a client's channel name, or null when refused. */
  resolve(user: SessionUser | null, id: string): Promise<string | null>
  mayReceive?: CategoryCheck
}

/** One socket's subscription to one channel. */
export class Subscription {
  /** The highest event id handled for this subscription; later ones only. */
  lastId = 0
  /** Events held back while a catch-up is being read; null when live. */
  pending: LiveEnvelope[] | null = null

  constructor(
    readonly conn: Connection,
    readonly name: string,
    readonly key: string,
    readonly kind: ChannelKind,
  ) {}
}

/** One socket: its session, subscriptions, rate limit and send buffer. */
export class Connection {
  readonly subs = new Map<string, Subscription>()
  alive = true
  closed = false
  authorizing = 0
  strikes = 0
  private tokens: number
  private refilledAt = Date.now()
  nextRevalidation: number

  constructor(
    readonly socket: WebSocket,
    public user: SessionUser | null,
    readonly sessionId: string | null,
    readonly revalidate: (() => Promise<SessionUser | null>) | null,
    private readonly limits: LiveLimits,
    private readonly onSlow: (conn: Connection) => void,
  ) {
    this.tokens = limits.messageBurst
    // Spread re-validations so thousands of sockets opened together do not query at once.
    this.nextRevalidation = Date.now() + limits.revalidateMs * (0.5 + Math.random() / 2)
  }

  /** Sends a text frame, or drops the socket when its unsent bytes pass the limit. */
  send(frame: string | Buffer): void {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return
    if (this.socket.bufferedAmount + frame.length > this.limits.sendBufferBytes) {
      this.onSlow(this)
      this.socket.terminate()
      return
    }
    this.socket.send(frame, { binary: false })
  }

  /** Token bucket: false when the client sends faster than allowed. */
  takeToken(): boolean {
    const now = Date.now()
    this.tokens = Math.min(this.limits.messageBurst, this.tokens + ((now - this.refilledAt) / 1000) * this.limits.messagesPerSecond)
    this.refilledAt = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
