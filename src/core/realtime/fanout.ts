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
  /**
   * `publishEvent` for several events, in order, in one call to Redis: the outbox relay hands
   * over a whole pass at once. If it fails part-way, calling it again publishes only the
   * events not yet published (each event's marker), still in order.
   */
  publishEvents(events: FanoutEvent[]): Promise<void>
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

/** One domain event for `publishEvents`. */
export interface FanoutEvent {
  id: number
  channels: string[]
  body: EnvelopeBody
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

  async publishEvents(events: FanoutEvent[]): Promise<void> {
    for (const e of events) await this.publishEvent(e.id, e.channels, e.body)
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

// The same for every channel of each of several domain events, in order, each behind a marker
// that makes a repeated delivery of the event (same outbox id) publish nothing. KEYS: per
// event its marker, then the id and log keys of each of its channels. ARGV: the topic, the
// history length, the time to live, then per event its number of channels, its body and its
// channels. Returns how many events it published (the others had been already).
const PUBLISH_EVENTS_SCRIPT = `
local k, a, published = 1, 4, 0
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  local body = ARGV[a + 1]
  if redis.call('SET', KEYS[k], '1', 'NX', 'EX', ARGV[3]) then
    for i = 1, n do
      local idKey = KEYS[k + i * 2 - 1]
      local logKey = KEYS[k + i * 2]
      local id = redis.call('INCR', idKey)
      redis.call('XADD', logKey, 'MAXLEN', ARGV[2], id .. '-0', 'b', body)
      redis.call('EXPIRE', idKey, ARGV[3])
      redis.call('EXPIRE', logKey, ARGV[3])
      redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[a + 1 + i] .. ' ' .. body)
    end
    published = published + 1
  end
  k = k + 1 + n * 2
  a = a + 2 + n
end
return published
`
const SEEN_EVENTS_IN_MEMORY = 10_000

/** The two scripts as commands of the connection (EVALSHA: the script's text is not sent with every event). */
interface LiveScripts {
  hearthLivePublish(...args: (string | number)[]): Promise<number>
  hearthLivePublishEvents(numberOfKeys: number, ...args: (string | number)[]): Promise<number>
}

function withScripts(redis: Redis): Redis & LiveScripts {
  const scripted = redis as Redis & Partial<LiveScripts>
  if (!scripted.hearthLivePublish) redis.defineCommand('hearthLivePublish', { numberOfKeys: 2, lua: PUBLISH_SCRIPT })
  // Its number of keys varies with the events and their channels: given first on each call.
  if (!scripted.hearthLivePublishEvents) redis.defineCommand('hearthLivePublishEvents', { lua: PUBLISH_EVENTS_SCRIPT })
  return redis as Redis & LiveScripts
}

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

  private readonly redis: Redis & LiveScripts

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly limits: HistoryLimits,
    onError: (err: unknown) => void,
  ) {
    this.redis = withScripts(redis)
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
    await this.redis.hearthLivePublish(
      ...this.keys(channel),
      this.eventsTopic,
      channel,
      JSON.stringify(body),
      this.limits.perChannel,
      this.limits.ttlSeconds,
    )
  }

  async publishEvent(eventId: number, channels: string[], body: EnvelopeBody): Promise<void> {
    await this.publishEvents([{ id: eventId, channels, body }])
  }

  async publishEvents(events: FanoutEvent[]): Promise<void> {
    const keys: string[] = []
    const args: (string | number)[] = [this.eventsTopic, this.limits.perChannel, this.limits.ttlSeconds]
    for (const e of events) {
      if (e.channels.length === 0) continue
      keys.push(`${this.prefix}:live:event:${e.id}`, ...e.channels.flatMap((channel) => this.keys(channel)))
      args.push(e.channels.length, JSON.stringify(e.body), ...e.channels)
    }
    if (keys.length === 0) return
    await this.redis.hearthLivePublishEvents(keys.length, ...keys, ...args)
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
