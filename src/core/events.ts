import { EventEmitter } from 'node:events'

/**
 * Every domain event Hearth knows, with its payload. Services write events to the outbox
 * (src/core/outbox.ts) inside the transaction that makes the change; the relay delivers
 * them after commit to the consumers (live fan-out, mail and jobs, and this process's
 * listeners). Routes never emit.
 */
export interface EventMap {
  'user.signed_up': { userId: number }
  /** A member asked for a fresh verification link (sign-up, email change, "send again"). */
  'email.verification_requested': { userId: number; nonce: string }
  /**
   * Someone asked for a password-reset link for this address (which may belong to no
   * account: the mail job looks, so the request itself takes the same time either way).
   */
  'password.reset_requested': { email: string; nonce: string }
  /** Sessions ended (log-out, password change): their live sockets close. */
  'session.ended': { userId: number; sessionId?: string; exceptSessionId?: string }
  /** What a member (or, without one, everyone) may see changed: their live sockets recheck now. */
  'access.changed': { userId?: number }
  'notification.created': { id: number; userId: number; kind: string; url: string; text: string }
  /** An unread notification absorbed another (a like or reply joined its group): the badge count stays. */
  'notification.updated': { id: number; userId: number; kind: string; url: string; text: string }
  /**
   * A post (or a thread's opening post) to tell its watchers about; no live channels. The
   * notifications consumer fans it out, skipping `notified` (told in the post's own transaction).
   */
  'post.notify': { threadId: number; postId: number; categoryId: number; authorId: number; title: string; url: string; text: string; notified: number[] }
  'thread.created': { threadId: number; title: string; url: string; author: string; categoryId: number }
  'post.created': {
    threadId: number
    postId: number
    parentId: number | null
    title: string
    url: string
    author: string
    excerpt: string
  }
  /** Ids only: a frame never carries post HTML (size, and who may read it is checked on the page). */
  'post.edited': { threadId: number; postId: number }
  'post.deleted': { threadId: number; postId: number }
  'post.hidden': { threadId: number; postId: number }
  'like.changed': { threadId: number; postId: number; likeCount: number }
  /** A post is waiting for approval, or was published and flagged by the spam check (only to moderators of its category). */
  'post.held': { heldId: number; categoryId: number; status: 'pending' | 'flagged' }
  'flag.created': { postId: number; categoryId: number; score: number; hidden: boolean }
  'flag.resolved': { postId: number; categoryId: number; action: string; moderatorId: number }
  'idea.created': { ideaId: number; title: string; url: string; author: string }
  'idea.voted': { ideaId: number; votes: number }
  'idea.status': { ideaId: number; status: string; statusLabel: string; note: string }
  'idea.merged': { ideaId: number; intoId: number; url: string }
  'beta.seats': { programId: number; seatsLeft: number }
  /**
   * A poll's votes or state changed (a vote, a change of vote, a vote taken back, closed). Ids
   * only, and never the voter (a poll may be secret): results depend on who looks (after
   * voting, staff only), so pages fetch them.
   */
  'poll.changed': { pollId: number; postId: number; threadId: number; voters: number }
  /** A member voted in a poll (no live channels): the activity log counts it. */
  'poll.voted': { pollId: number; userId: number }
  /** A member answered an attributed survey (never written for an anonymous one); the activity log counts it. */
  'survey.answered': { surveyId: number; userId: number }
  /** Seats moved at one occurrence of an event (seatsLeft null: no limit). */
  'event.seats': { eventId: number; occurrenceId: number; seatsLeft: number | null; going: number; waitlisted: number }
  /** Members whose answer for a date became going (by RSVP or off the waitlist): the activity log records them. No live channel. */
  'event.rsvp': { eventId: number; occurrenceId: number; userIds: number[] }
  /** Someone checked in at an occurrence (the activity log records attendance). */
  'event.attended': { eventId: number; occurrenceId: number; userId: number }
}

export type EventType = keyof EventMap

/** Where an event goes live: its channels, and the category whose visibility limits who receives it. */
export interface EventRoute {
  /** Live channels (`thread:42`, `category:3`, `home`, `user:7` for one member's private events). */
  channels?: string[]
  /** When set, only members who may see this category receive the event. */
  categoryId?: number | null
}

/**
 * A committed domain event as consumers receive it. `id` is its outbox id: consumers use it
 * to stay idempotent, since delivery is at least once.
 */
export interface DomainEvent<K extends EventType = EventType> {
  id: number
  type: K
  data: EventMap[K]
  channels: string[]
  categoryId?: number
  at: string
}

/** Any committed event, narrowed by its `type`. */
export type AnyDomainEvent = { [K in EventType]: DomainEvent<K> }[EventType]

type Listener<K extends EventType> = (event: DomainEvent<K>) => void | Promise<void>

/**
 * In-process listeners of committed events: the relay's last consumer hands every delivered
 * event to this process's listeners (tests and in-process observers). A failing listener
 * never fails the delivery.
 */
export class EventBus {
  private readonly emitter = new EventEmitter({ captureRejections: false })

  constructor(private readonly onError: (err: unknown, event: AnyDomainEvent) => void = () => {}) {
    this.emitter.setMaxListeners(100)
  }

  /** Listens to one event type, or `*` for all. Returns a function that stops listening. */
  on<K extends EventType>(type: K, listener: Listener<K>): () => void
  on(type: '*', listener: Listener<EventType>): () => void
  on(type: string, listener: (event: never) => void | Promise<void>): () => void {
    const wrapped = (event: AnyDomainEvent) => {
      try {
        const result = (listener as (e: AnyDomainEvent) => unknown)(event)
        if (result instanceof Promise) result.catch((err) => this.onError(err, event))
      } catch (err) {
        this.onError(err, event)
      }
    }
    this.emitter.on(type, wrapped)
    return () => this.emitter.off(type, wrapped)
  }

  /** Hands a delivered event to this process's listeners. */
  deliver(event: AnyDomainEvent): void {
    this.emitter.emit(event.type, event)
    this.emitter.emit('*', event)
  }
}
