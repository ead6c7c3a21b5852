import { EventEmitter } from 'node:events'

/**
 * A domain event: something that happened and has been committed. Services emit events
 * only after their transaction commits; realtime, notifications and jobs subscribe.
 *
 * `channels` are the live channels it belongs to (`thread:42`, `category:3`, `home`,
 * `user:7` for one member's private events); whoever delivers it checks, per receiver,
 * that the receiver may see it.
 */
export interface DomainEvent<T extends Record<string, unknown> = Record<string, unknown>> {
  type: string
  channels: string[]
  data: T
  /** When set, only members who may see this category receive the event. */
  categoryId?: number
  at: string
}

type Listener = (event: DomainEvent) => void | Promise<void>

/** In-process publish/subscribe for domain events; one per web or worker process. */
export class EventBus {
  private readonly emitter = new EventEmitter({ captureRejections: false })
  private readonly errorHandler: (err: unknown, event: DomainEvent) => void

  constructor(onError: (err: unknown, event: DomainEvent) => void = () => {}) {
    this.emitter.setMaxListeners(100)
    this.errorHandler = onError
  }

  /** Subscribes to one event type, or `*` for all. Returns an unsubscribe function. */
  on(type: string, listener: Listener): () => void {
    const wrapped = (event: DomainEvent) => {
      try {
        const result = listener(event)
        if (result instanceof Promise) result.catch((err) => this.errorHandler(err, event))
      } catch (err) {
        this.errorHandler(err, event)
      }
    }
    this.emitter.on(type, wrapped)
    return () => this.emitter.off(type, wrapped)
  }

  /** Publishes a committed event; a failing listener never fails the caller. */
  emit<T extends Record<string, unknown>>(type: string, channels: string[], data: T, categoryId?: number): void {
    const event: DomainEvent = { type, channels, data, at: new Date().toISOString(), ...(categoryId ? { categoryId } : {}) }
    this.emitter.emit(type, event)
    this.emitter.emit('*', event)
  }
}
