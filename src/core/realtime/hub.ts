import type { Logger } from 'pino'
import { type RawData, WebSocket } from 'ws'
import type { SessionUser } from '../auth/sessions.js'
import { type CategoryCheck, type ChannelAuthorizer, type ChannelKind, Connection, type LiveLimits, Subscription } from './connection.js'
import type { ControlMessage, Fanout } from './fanout.js'
import {
  ClientFrame,
  CloseCode,
  errorFrame,
  eventFrame,
  type LiveEnvelope,
  parseChannel,
  reloadFrame,
  subscribedFrame,
} from './protocol.js'

export { type CategoryCheck, type ChannelAuthorizer, defaultLiveLimits, type LiveLimits } from './connection.js'

export interface ChannelOptions {
  /**
   * A further per-event check for this kind's events that carry a category, on top of the
   * category's visibility (the `mod` channel: only categories the member moderates).
   */
  mayReceive?: CategoryCheck
}

/** Who is on the other end of a socket, and how to look their session up again. */
export interface LiveIdentity {
  user: SessionUser | null
  sessionId: string | null
  /** Looks the session (or API token) up again; resolves null once it has ended. */
  revalidate: (() => Promise<SessionUser | null>) | null
}

/**
 * The live hub of one web instance: receives per-channel events from the fan-out (where the
 * outbox relay of any process publishes them, so every instance sees each once) and
 * delivers them to the sockets subscribed here, checking on every subscribe and every delivery what each session may see.
 */
export class LiveHub {
  private readonly kinds = new Map<string, ChannelKind>()
  private categoryVisibility: CategoryCheck | null = null
  private readonly connections = new Set<Connection>()
  private readonly channels = new Map<string, Set<Subscription>>()
  private readonly answers = new Map<string, { ok: boolean; at: number }>()
  /** The last event id this instance saw per channel that has subscribers here. */
  private readonly lastSeen = new Map<string, number>()
  private queue: Promise<void> = Promise.resolve()
  private readonly timers: NodeJS.Timeout[] = []
  private closing = false

  constructor(
    private readonly fanout: Fanout,
    readonly limits: LiveLimits,
    private readonly log: Logger,
  ) {
    this.kinds.set('home', bare('home'))
    this.kinds.set('ideas', bare('ideas'))
    this.kinds.set('user', {
      resolve: async (user, id) => (user && id === 'me' ? `user:${user.id}` : null),
    })
    fanout.onEnvelope((envelope) => this.enqueue(() => this.dispatch(envelope)))
    fanout.onControl((message) => this.control(message))
    fanout.onGap(() => this.enqueue(async () => this.missedEvents()))
    this.timers.push(setInterval(() => this.heartbeat(), limits.heartbeatMs).unref())
    this.timers.push(setInterval(() => void this.revalidateDue(), Math.min(limits.revalidateMs, 30_000)).unref())
    this.timers.push(setInterval(() => this.sweepAnswers(), 60_000).unref())
  }

  /** Lets a feature open a channel kind (`thread`, `category`, `idea`, `beta`, `mod`) with its access rule. */
  registerChannel(kind: string, authorize: ChannelAuthorizer, options: ChannelOptions = {}): void {
    this.kinds.set(kind, {
      resolve: async (user, id) => ((await authorize(user, id)) ? (id ? `${kind}:${id}` : kind) : null),
      mayReceive: options.mayReceive,
    })
  }

  /** Sets the rule for events that belong to a category; without one, such events reach nobody. */
  setCategoryVisibility(check: CategoryCheck): void {
    this.categoryVisibility = check
    this.answers.clear()
  }

  /** Resolves once this instance receives events published by any instance. */
  ready(): Promise<void> {
    return this.fanout.ready()
  }

  /** Counts, for health pages and tests. */
  stats(): { connections: number; subscriptions: number } {
    let subscriptions = 0
    for (const conn of this.connections) subscriptions += conn.subs.size
    return { connections: this.connections.size, subscriptions }
  }

  /** Takes over an upgraded socket. */
  accept(socket: WebSocket, identity: LiveIdentity): void {
    if (this.closing) {
      socket.close(CloseCode.goingAway, 'Server going away')
      return
    }
    const conn = new Connection(socket, identity.user, identity.sessionId, identity.revalidate, this.limits, (slow) =>
      this.log.warn({ userId: slow.user?.id ?? null, buffered: slow.socket.bufferedAmount }, 'live: slow consumer dropped'),
    )
    this.connections.add(conn)
    socket.on('pong', () => {
      conn.alive = true
    })
    socket.on('message', (raw, isBinary) => this.received(conn, raw, isBinary))
    socket.on('close', () => this.forget(conn))
  }

  /** Closes every socket with 1001 so clients reconnect elsewhere; waits briefly, then cuts the rest. */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    for (const timer of this.timers) clearInterval(timer)
    const closed = [...this.connections].map(
      (conn) => new Promise<void>((resolve) => {
        if (conn.socket.readyState === WebSocket.CLOSED) return resolve()
        conn.socket.once('close', () => resolve())
        conn.socket.close(CloseCode.goingAway, 'Server going away')
      }),
    )
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(closed), new Promise((r) => (timer = setTimeout(r, this.limits.closeGraceMs)))])
    clearTimeout(timer)
    for (const conn of this.connections) conn.socket.terminate()
    await this.fanout.close()
  }

  // ── from channels to sockets ────────────────────────────────────────────────────

  private enqueue(job: () => Promise<void>): void {
    // One queue per instance keeps every channel's events in id order even when a
    // visibility answer has to be looked up for one of them.
    this.queue = this.queue.then(job).catch((err) => this.log.error({ err }, 'live: delivery failed'))
  }

  private async dispatch(envelope: LiveEnvelope): Promise<void> {
    const subs = this.channels.get(envelope.channel)
    // Once closing, queued events are dropped: every socket is being told to go elsewhere.
    if (this.closing || !subs || subs.size === 0) return
    const seen = this.lastSeen.get(envelope.channel)
    this.lastSeen.set(envelope.channel, envelope.id)
    if (seen !== undefined && envelope.id <= seen) {
      // The channel's counter started again (its Redis keys expired while idle): ids known
      // to clients mean nothing now.
      for (const sub of subs) {
        sub.lastId = 0
        sub.conn.send(reloadFrame(sub.name))
      }
    } else if (seen !== undefined && envelope.id > seen + 1) {
      await this.fillGap(envelope.channel, seen, envelope.id)
    }
    await this.deliverAll(subs, envelope)
  }

  /**
   * The fan-out lost its connection for a while: events published meanwhile never arrive by
   * pub/sub, and on a quiet channel no later event would reveal the gap. Each channel with
   * subscribers here is caught up from its history now; where the history cannot vouch for
   * what was missed (it expired, or Redis came back empty), its pages are told to reload.
   */
  private async missedEvents(): Promise<void> {
    this.log.warn({ channels: this.channels.size }, 'live: fan-out reconnected; catching channels up')
    for (const [key, subs] of [...this.channels]) {
      let seen = this.lastSeen.get(key) ?? 0
      if (!this.lastSeen.has(key)) for (const sub of subs) seen = Math.max(seen, sub.lastId)
      const found = await this.fanout.catchUp(key, seen).catch(() => 'reload' as const)
      const current = this.channels.get(key)
      if (!current) continue
      if (found === 'reload') {
        this.lastSeen.delete(key)
        for (const sub of current) {
          if (sub.pending) continue
          sub.lastId = 0
          sub.conn.send(reloadFrame(sub.name))
        }
        continue
      }
      for (const missed of found.envelopes) {
        this.lastSeen.set(key, missed.id)
        await this.deliverAll(current, missed)
      }
    }
  }

  /** Pub/sub drops messages while a subscriber reconnects; the channel's history fills the gap. */
  private async fillGap(channel: string, seen: number, before: number): Promise<void> {
    const found = await this.fanout.catchUp(channel, seen).catch(() => 'reload' as const)
    const subs = this.channels.get(channel)
    if (!subs) return
    if (found === 'reload') {
      for (const sub of subs) if (!sub.pending) sub.conn.send(reloadFrame(sub.name))
      return
    }
    for (const missed of found.envelopes) if (missed.id < before) await this.deliverAll(subs, missed)
  }

  private async deliverAll(subs: Set<Subscription>, envelope: LiveEnvelope): Promise<void> {
    const live = [...subs].filter((sub) => {
      if (sub.pending) sub.pending.push(envelope)
      return !sub.pending
    })
    const allowed = await this.decide(live, envelope)
    const frames = new Map<string, Buffer>()
    for (const sub of live) this.deliver(sub, envelope, allowed, frames)
  }

  private deliver(sub: Subscription, envelope: LiveEnvelope, allowed: Map<string, boolean>, frames: Map<string, Buffer>): void {
    if (envelope.id <= sub.lastId || sub.conn.closed) return
    sub.lastId = envelope.id
    for (const key of this.questions(sub, envelope)) if (!allowed.get(key)) return
    // Encoded once per event and channel name, then shared by every subscriber's socket.
    let frame = frames.get(sub.name)
    if (!frame) {
      frame = Buffer.from(eventFrame(sub.name, envelope))
      frames.set(sub.name, frame)
    }
    sub.conn.send(frame)
  }

  // ── authorization on delivery ────────────────────────────────────────────────

  /** The cache keys of the checks an event needs for this subscriber. */
  private questions(sub: Subscription, envelope: LiveEnvelope): string[] {
    if (envelope.categoryId === undefined) return []
    const who = sub.conn.user?.id ?? 0
    const keys = [`v:${who}:${envelope.categoryId}`]
    if (sub.kind.mayReceive) keys.push(`k:${sub.key.split(':')[0]}:${who}:${envelope.categoryId}`)
    return keys
  }

  /** Answers every distinct check the subscribers need, each once, from the cache when fresh. */
  private async decide(subs: Subscription[], envelope: LiveEnvelope): Promise<Map<string, boolean>> {
    const result = new Map<string, boolean>()
    if (envelope.categoryId === undefined) return result
    const categoryId = envelope.categoryId
    const now = Date.now()
    const lookups: Promise<void>[] = []
    for (const sub of subs) {
      for (const key of this.questions(sub, envelope)) {
        if (result.has(key)) continue
        const cached = this.answers.get(key)
        if (cached && now - cached.at < this.limits.visibilityCacheMs) {
          result.set(key, cached.ok)
          continue
        }
        result.set(key, false)
        const check = key.startsWith('v:') ? this.categoryVisibility : sub.kind.mayReceive
        const user = sub.conn.user
        lookups.push(
          (check ? answerWithin(check(user, categoryId)) : Promise.resolve(false)).then(
            (ok) => {
              result.set(key, ok)
              this.answers.set(key, { ok, at: Date.now() })
            },
            (err) => this.log.error({ err, categoryId }, 'live: visibility check failed; not delivering'),
          ),
        )
      }
    }
    await Promise.all(lookups)
    return result
  }

  private sweepAnswers(): void {
    const now = Date.now()
    for (const [key, answer] of this.answers) if (now - answer.at >= this.limits.visibilityCacheMs) this.answers.delete(key)
  }

  private forgetAnswers(userId?: number): void {
    if (userId === undefined) return this.answers.clear()
    const marker = `:${userId}:`
    for (const key of this.answers.keys()) {
      if (key.startsWith(`v${marker}`) || (key.startsWith('k:') && key.slice(key.indexOf(':', 2)).startsWith(marker))) {
        this.answers.delete(key)
      }
    }
  }

  // ── client frames ────────────────────────────────────────────────────────────

  private received(conn: Connection, raw: RawData, isBinary: boolean): void {
    conn.alive = true
    if (!conn.takeToken()) {
      conn.strikes += 1
      if (conn.strikes >= this.limits.maxStrikes) conn.socket.close(CloseCode.policy, 'Too many messages')
      else conn.send(errorFrame('Too many messages; slow down'))
      return
    }
    conn.strikes = 0
    const size = Array.isArray(raw) ? raw.reduce((n, b) => n + b.length, 0) : raw instanceof ArrayBuffer ? raw.byteLength : raw.length
    if (size > this.limits.maxFrameBytes) return conn.send(errorFrame(`Frame too large (limit ${this.limits.maxFrameBytes} bytes)`))
    if (isBinary) return conn.send(errorFrame('Send JSON text frames'))
    let frame: ClientFrame
    try {
      const parsed = ClientFrame.safeParse(JSON.parse(String(raw)))
      if (!parsed.success) return conn.send(errorFrame('Unknown or malformed frame'))
      frame = parsed.data
    } catch {
      return conn.send(errorFrame('Frames must be JSON'))
    }
    if (frame.type === 'subscribe') {
      this.subscribe(conn, frame.channel, frame.since).catch((err) => {
        this.log.error({ err, channel: frame.channel }, 'live: subscribe failed')
        conn.send(errorFrame('Could not subscribe', frame.channel))
      })
    } else {
      this.unsubscribe(conn, frame.channel)
    }
  }

  private async subscribe(conn: Connection, name: string, since: number | undefined): Promise<void> {
    const parsed = parseChannel(name)
    const kind = parsed && this.kinds.get(parsed.kind)
    if (!parsed || !kind) return conn.send(errorFrame('Unknown channel', name))
    if (conn.subs.has(name)) return conn.send(subscribedFrame(name))
    if (conn.subs.size + conn.authorizing >= this.limits.maxSubscriptions) {
      return conn.send(errorFrame(`Too many subscriptions (limit ${this.limits.maxSubscriptions})`, name))
    }
    conn.authorizing += 1
    let key: string | null
    try {
      key = await answerWithin(kind.resolve(conn.user, parsed.id))
    } finally {
      conn.authorizing -= 1
    }
    if (conn.closed || conn.subs.has(name)) return
    if (!key) return conn.send(errorFrame('Not found', name))
    const sub = new Subscription(conn, name, key, kind)
    conn.subs.set(name, sub)
    let set = this.channels.get(key)
    if (!set) {
      set = new Set()
      this.channels.set(key, set)
    }
    set.add(sub)
    conn.send(subscribedFrame(name))
    if (since !== undefined) await this.catchUp(sub, since)
  }

  /** Replays what a reconnecting client missed, holding live events back until it is done. */
  private async catchUp(sub: Subscription, since: number): Promise<void> {
    sub.pending = []
    sub.lastId = since
    const found = await this.fanout.catchUp(sub.key, since).catch((err) => {
      this.log.error({ err, channel: sub.key }, 'live: catch-up read failed')
      return 'reload' as const
    })
    this.enqueue(async () => {
      const held = sub.pending ?? []
      sub.pending = null
      if (found === 'reload') sub.conn.send(reloadFrame(sub.name))
      const missed = found === 'reload' ? held : [...found.envelopes, ...held]
      missed.sort((a, b) => a.id - b.id)
      for (const envelope of missed) {
        if (sub.conn.closed || sub.conn.subs.get(sub.name) !== sub) return
        this.deliver(sub, envelope, await this.decide([sub], envelope), new Map())
      }
    })
  }

  private unsubscribe(conn: Connection, name: string): void {
    const sub = conn.subs.get(name)
    if (!sub) return
    conn.subs.delete(name)
    const set = this.channels.get(sub.key)
    set?.delete(sub)
    if (set?.size === 0) {
      this.channels.delete(sub.key)
      this.lastSeen.delete(sub.key)
    }
  }

  private forget(conn: Connection): void {
    conn.closed = true
    for (const name of [...conn.subs.keys()]) this.unsubscribe(conn, name)
    this.connections.delete(conn)
  }

  // ── sessions and access ──────────────────────────────────────────────────────

  private control(message: ControlMessage): void {
    if (message.kind === 'session.ended') {
      for (const conn of this.connections) {
        if (!conn.user || conn.user.id !== message.userId || !conn.sessionId) continue
        const ended = message.sessionId ? conn.sessionId === message.sessionId : conn.sessionId !== message.exceptSessionId
        if (ended) this.endSession(conn)
      }
      return
    }
    this.forgetAnswers(message.userId)
    for (const conn of this.connections) {
      if (message.userId === undefined || conn.user?.id === message.userId) void this.recheck(conn)
    }
  }

  private endSession(conn: Connection): void {
    // Delivery stops at once, before the close handshake completes.
    for (const name of [...conn.subs.keys()]) this.unsubscribe(conn, name)
    conn.closed = true
    conn.socket.close(CloseCode.sessionEnded, 'Session ended')
  }

  /** Looks the session up again and re-authorizes every subscription; drops what is no longer allowed. */
  private async recheck(conn: Connection): Promise<void> {
    try {
      if (conn.revalidate) {
        const user = await conn.revalidate()
        if (!user) return this.endSession(conn)
        conn.user = user
      }
      for (const sub of [...conn.subs.values()]) {
        const parsed = parseChannel(sub.name)!
        const key = await answerWithin(sub.kind.resolve(conn.user, parsed.id))
        if (conn.closed) return
        if (key !== sub.key && conn.subs.get(sub.name) === sub) {
          this.unsubscribe(conn, sub.name)
          conn.send(errorFrame('Not found', sub.name))
        }
      }
    } catch (err) {
      this.log.error({ err }, 'live: re-check failed; closing the socket')
      conn.socket.close(CloseCode.goingAway, 'Try again')
    }
  }

  private async revalidateDue(): Promise<void> {
    const now = Date.now()
    const due = [...this.connections].filter((c) => c.revalidate && !c.closed && c.nextRevalidation <= now)
    for (let i = 0; i < due.length; i += 20) {
      await Promise.all(
        due.slice(i, i + 20).map((conn) => {
          conn.nextRevalidation = now + this.limits.revalidateMs
          const before = conn.user
          return this.recheck(conn).then(() => {
            if (conn.user !== before && conn.user) this.forgetAnswers(conn.user.id)
          })
        }),
      )
    }
  }

  private heartbeat(): void {
    for (const conn of this.connections) {
      if (!conn.alive) {
        conn.socket.terminate()
        continue
      }
      conn.alive = false
      conn.socket.ping()
    }
  }
}

// A check that hangs (a stuck database) must not stall every socket's delivery queue.
const CHECK_TIMEOUT_MS = 2_000

/** The check's answer, or a rejection when it takes longer than CHECK_TIMEOUT_MS (callers fail closed). */
function answerWithin<T>(check: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('access check timed out')), CHECK_TIMEOUT_MS)
  })
  return Promise.race([check, late]).finally(() => clearTimeout(timer))
}

function bare(kind: string): ChannelKind {
  return { resolve: async (_user, id) => (id === '' ? kind : null) }
}
