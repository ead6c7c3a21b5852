import type { Redis } from 'ioredis'
import type { EnvelopeBody, LiveEnvelope } from './protocol.js'

/** Messages between instances that are not channel events: sessions ending, access changing. */
export type ControlMessage =
  | { kind: 'session.ended'; userId: number; sessionId?: string; exceptSessionId?: string }
  | { kind: 'access.changed'; userId?: number }

/** What a catch-up request finds: the missed envelopes in order, or `reload` when the gap is too old. */
export type CatchUp = { envelopes: LiveEnvelope[] } | 'reload'

/**
 * Carries events to every web instance. `publish` assigns the channel's next id and records
 * the event in the channel's bounded history; every instance (the publisher too) then
 * receives it once through `onEnvelope`, in id order per channel.
 */
export interface Fanout {
  publish(channel: string, body: EnvelopeBody): Promise<void>
  /**
   * Publishes one domain event to each of its channels, once: a second call with the same
   * event id (the relay delivers at least once) publishes nothing.
   */
  publishEvent(eventId: number, channels: string[], body: EnvelopeBody): Promise<void>
  publishControl(message: ControlMessage): Promise<void>
  onEnvelope(listener: (envelope: LiveEnvelope) => void): void
  onControl(listener: (message: ControlMessage) => void): void
  /**
   * Called when this instance may have missed events it will never receive (its Redis
   * subscriber reconnected: pub/sub drops what is published meanwhile).
   */
  onGap(listener: () => void): void
  /** The channel's events after `since`, when all of them are still in its history. */
  catchUp(channel: string, since: number): Promise<CatchUp>
  /** Resolves once this instance receives what is published. */
  ready(): Promise<void>
  close(): Promise<void>
}

export interface HistoryLimits {
  /** Events kept per channel for catch-up. */
  perChannel: number
  /** How long an idle channel's history and id counter are kept (Redis), in seconds. */
  ttlSeconds: number
  /** Channels whose history one process keeps in memory (in-process mode). */
  channelsInMemory: number
}

/** Decides a catch-up from the channel's last id and what its history still holds. */
function decide(since: number, lastId: number, kept: LiveEnvelope[]): CatchUp {
  if (since > lastId) return 'reload'
  if (since === lastId) return { envelopes: [] }
  const oldest = kept[0]?.id
  if (oldest === undefined || oldest > since + 1) return 'reload'
  return { envelopes: kept.filter((e) => e.id > since) }
}

/** One process, no Redis: ids and history in memory, delivery on the next microtask. */
export class LocalFanout implements Fanout {
  private readonly channels = new Map<string, { lastId: number; kept: LiveEnvelope[] }>()
  private readonly published = new Set<number>()
  private envelopeListener: (envelope: LiveEnvelope) => void = () => {}
  private controlListener: (message: ControlMessage) => void = () => {}

  constructor(private readonly limits: HistoryLimits) {}

  async publish(channel: string, body: EnvelopeBody): Promise<void> {
    let state = this.channels.get(channel)
    if (state) {
      // Re-inserting keeps the map in least-recently-published order for eviction.
      this.channels.delete(channel)
    } else {
      state = { lastId: 0, kept: [] }
    }
    this.channels.set(channel, state)
    if (this.channels.size > this.limits.channelsInMemory) {
      this.channels.delete(this.channels.keys().next().value!)
    }
    state.lastId += 1
    const envelope: LiveEnvelope = { channel, id: state.lastId, ...body }
    state.kept.push(envelope)
    if (state.kept.length > this.limits.perChannel) state.kept.shift()
    this.envelopeListener(envelope)
  }

  async publishEvent(eventId: number, channels: string[], body: EnvelopeBody): Promise<void> {
    if (this.published.has(eventId)) return
    this.published.add(eventId)
    if (this.published.size > SEEN_EVENTS_IN_MEMORY) this.published.delete(this.published.values().next().value!)
    for (const channel of channels) await this.publish(channel, body)
  }

  async publishControl(message: ControlMessage): Promise<void> {
    this.controlListener(message)
  }

  onEnvelope(listener: (envelope: LiveEnvelope) => void): void {
    this.envelopeListener = listener
  }

  onControl(listener: (message: ControlMessage) => void): void {
    this.controlListener = listener
  }

  onGap(): void {
    // One process never misses its own events.
  }

  async catchUp(channel: string, since: number): Promise<CatchUp> {
    const state = this.channels.get(channel)
    return decide(since, state?.lastId ?? 0, state?.kept ?? [])
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    this.channels.clear()
  }
}

// INCR, XADD and PUBLISH in one script: ids are unique across instances, and every
// instance receives a channel's events in id order because Redis runs scripts one at a time.
const PUBLISH_SCRIPT = `
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], id .. '-0', 'b', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[2] .. ' ' .. ARGV[3])
return id
`

// The same for every channel of one domain event, behind a marker that makes a repeated
// delivery of the event (same outbox id) publish nothing.
const PUBLISH_EVENT_SCRIPT = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[4]) then return 0 end
for i = 5, #ARGV do
  local idKey = KEYS[(i - 5) * 2 + 2]
  local logKey = KEYS[(i - 5) * 2 + 3]
  local id = redis.call('INCR', idKey)
  redis.call('XADD', logKey, 'MAXLEN', ARGV[3], id .. '-0', 'b', ARGV[2])
  redis.call('EXPIRE', idKey, ARGV[4])
  redis.call('EXPIRE', logKey, ARGV[4])
  redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[i] .. ' ' .. ARGV[2])
end
return 1
`
const SEEN_EVENTS_IN_MEMORY = 10_000

/**
 * Redis pub/sub between instances: a per-channel counter gives ids, a capped stream per
 * channel keeps recent history, one pub/sub channel carries every event to every instance.
 */
export class RedisFanout implements Fanout {
  private readonly subscriber: Redis
  private readonly eventsTopic: string
  private readonly controlTopic: string
  private envelopeListener: (envelope: LiveEnvelope) => void = () => {}
  private controlListener: (message: ControlMessage) => void = () => {}
  private gapListener: () => void = () => {}
  private readonly subscribed: Promise<unknown>

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: HistoryLimits,
    onError: (err: unknown) => void,
  ) {
    this.eventsTopic = `${prefix}:live:events`
    this.controlTopic = `${prefix}:live:control`
    this.subscriber = redis.duplicate({ maxRetriesPerRequest: null, connectionName: `${prefix}:live` })
    this.subscriber.on('error', onError)
    // The first 'ready' is the start; every later one follows a lost connection, and
    // whatever was published in between never reaches this instance.
    let connectedBefore = false
    this.subscriber.on('ready', () => {
      if (connectedBefore) this.gapListener()
      connectedBefore = true
    })
    this.subscriber.on('message', (topic: string, message: string) => {
      try {
        if (topic === this.eventsTopic) this.envelopeListener(this.parse(message))
        else if (topic === this.controlTopic) this.controlListener(JSON.parse(message) as ControlMessage)
      } catch (err) {
        onError(err)
      }
    })
    this.subscribed = this.subscriber.subscribe(this.eventsTopic, this.controlTopic)
    // An instance closed before its subscription completes must not leave a rejection unhandled;
    // `ready()` still reports the failure to whoever waits for it.
    this.subscribed.catch(() => {})
  }

  async ready(): Promise<void> {
    await this.subscribed
  }

  private parse(message: string): LiveEnvelope {
    const first = message.indexOf(' ')
    const second = message.indexOf(' ', first + 1)
    const body = JSON.parse(message.slice(second + 1)) as EnvelopeBody
    return { channel: message.slice(first + 1, second), id: Number(message.slice(0, first)), ...body }
  }

  private keys(channel: string): [string, string] {
    return [`${this.prefix}:live:id:${channel}`, `${this.prefix}:live:log:${channel}`]
  }

  async publish(channel: string, body: EnvelopeBody): Promise<void> {
    await this.redis.eval(
      PUBLISH_SCRIPT,
      2,
      ...this.keys(channel),
      this.eventsTopic,
      channel,
      JSON.stringify(body),
      this.limits.perChannel,
      this.limits.ttlSeconds,
    )
  }

  async publishEvent(eventId: number, channels: string[], body: EnvelopeBody): Promise<void> {
    if (channels.length === 0) return
    await this.redis.eval(
      PUBLISH_EVENT_SCRIPT,
      1 + channels.length * 2,
      `${this.prefix}:live:event:${eventId}`,
      ...channels.flatMap((channel) => this.keys(channel)),
      this.eventsTopic,
      JSON.stringify(body),
      this.limits.perChannel,
      this.limits.ttlSeconds,
      ...channels,
    )
  }

  async publishControl(message: ControlMessage): Promise<void> {
    await this.redis.publish(this.controlTopic, JSON.stringify(message))
  }

  onEnvelope(listener: (envelope: LiveEnvelope) => void): void {
    this.envelopeListener = listener
  }

  onControl(listener: (message: ControlMessage) => void): void {
    this.controlListener = listener
  }

  onGap(listener: () => void): void {
    this.gapListener = listener
  }

  async catchUp(channel: string, since: number): Promise<CatchUp> {
    const [idKey, logKey] = this.keys(channel)
    const results = await this.redis
      .multi()
      .get(idKey)
      .xrange(logKey, '-', '+', 'COUNT', 1)
      .xrange(logKey, String(since + 1), '+')
      .exec()
    if (!results || results.some(([err]) => err)) throw new Error('catch-up read failed')
    const lastId = Number(results[0]![1] ?? 0)
    const oldest = results[1]![1] as [string, string[]][]
    const after = results[2]![1] as [string, string[]][]
    const toEnvelope = ([streamId, fields]: [string, string[]]): LiveEnvelope => ({
      channel,
      id: Number.parseInt(streamId, 10),
      ...(JSON.parse(fields[1]!) as EnvelopeBody),
    })
    if (since >= lastId) return decide(since, lastId, [])
    const first = oldest[0] ? toEnvelope(oldest[0]) : undefined
    return decide(since, lastId, first && first.id <= since + 1 ? after.map(toEnvelope) : first ? [first] : [])
  }

  async close(): Promise<void> {
    this.subscriber.disconnect()
  }
}
