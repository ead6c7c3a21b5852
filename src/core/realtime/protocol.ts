import { z } from 'zod'

/** What a client may send on `/live`. */
export const ClientFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('subscribe'),
    channel: z.string().max(100),
    since: z.number().int().min(0).optional(),
  }),
  z.object({ type: z.literal('unsubscribe'), channel: z.string().max(100) }),
])
export type ClientFrame = z.infer<typeof ClientFrame>

/** A channel name split into its kind and id: `thread:42` → `{kind: 'thread', id: '42'}`. */
export interface ChannelName {
  kind: string
  id: string
}

const CHANNEL = /^([a-z]+)(?::([A-Za-z0-9_-]{1,40}))?$/

/** Parses a channel name, or null when it is not shaped like one. */
export function parseChannel(name: string): ChannelName | null {
  const m = CHANNEL.exec(name)
  if (!m) return null
  return { kind: m[1]!, id: m[2] ?? '' }
}

/** An event as it crosses instances: one channel, its per-channel id, the domain event. */
export interface LiveEnvelope {
  channel: string
  id: number
  type: string
  data: Record<string, unknown>
  categoryId?: number
}

/** The stored body of an envelope (everything but its channel and id). */
export interface EnvelopeBody {
  type: string
  data: Record<string, unknown>
  categoryId?: number
}

const RESERVED = new Set(['type', 'channel', 'id', 'event'])

/**
 * The server's event frame, `{"type":"event","channel":…,"id":n,"event":…,…data}`, as text.
 * Data keys that would shadow the frame's own are left out.
 */
export function eventFrame(channel: string, envelope: LiveEnvelope): string {
  const data: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(envelope.data)) if (!RESERVED.has(key)) data[key] = value
  return JSON.stringify({ type: 'event', channel, id: envelope.id, event: envelope.type, ...data })
}

/** `{"type":"subscribed","channel":…}` */
export function subscribedFrame(channel: string): string {
  return JSON.stringify({ type: 'subscribed', channel })
}

/** `{"type":"error","channel"?:…,"error":…}` */
export function errorFrame(error: string, channel?: string): string {
  return JSON.stringify(channel === undefined ? { type: 'error', error } : { type: 'error', channel, error })
}

/** `{"type":"reload","channel":…}`: the gap since the client's last event is too old to fill. */
export function reloadFrame(channel: string): string {
  return JSON.stringify({ type: 'reload', channel })
}

/** Close codes the hub uses; clients reconnect on every one but 1008. */
export const CloseCode = {
  goingAway: 1001,
  policy: 1008,
  sessionEnded: 4401,
} as const
