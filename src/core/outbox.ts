import { sql } from 'kysely'
import pg from 'pg'
import type { Logger } from 'pino'
import { afterCommit, type Db, type DbOrTrx, prepared, type Trx } from './db.js'
import type { AnyDomainEvent, EventMap, EventRoute, EventType } from './events.js'

/**
 * Relays LISTEN on this channel. A process that wrote events NOTIFYs it once they are committed
 * (Outbox.written), so the relays of other processes hear of them at once.
 */
export const OUTBOX_NOTIFY_CHANNEL = 'hearth_outbox'
// Only one relay delivers at a time, so events leave in outbox order.
const RELAY_LOCK = 'hearth.outbox.relay'
// The least time between two NOTIFYs of one process: a stream of writes shares them.
const ANNOUNCE_SPACING_MS = 10

/** One event to record: its type, its payload, and where it goes live. */
export type EventInput = { [K in EventType]: { type: K; data: EventMap[K] } & EventRoute }[EventType]

/**
 * Writes domain events to the outbox table, in the caller's transaction: the event exists
 * exactly when the change it describes does. Delivery is the relay's job.
 */
export class Outbox {
  private readonly written_ = new Set<() => void>()
  private readonly committed = () => this.wakeAll()
  private readonly announces: boolean
  private announcing = false
  private announceAgain = false
  private lastAnnounced = -Infinity

  /**
   * `announce: false` (embedded PostgreSQL, where nobody LISTENs) wakes only this process's
   * relay after a commit; by default other processes' relays are also told, by NOTIFY.
   */
  constructor(
    private readonly db: Db,
    options: { announce?: boolean } = {},
  ) {
    this.announces = options.announce ?? true
  }

  /** Records an event inside `trx` (use the transaction that makes the change). */
  async emit<K extends EventType>(trx: DbOrTrx, type: K, data: EventMap[K], route: EventRoute = {}): Promise<void> {
    await this.emitMany(trx, [{ type, data, ...route } as EventInput])
  }

  /** Records several events in one statement. */
  async emitMany(trx: DbOrTrx, events: EventInput[]): Promise<void> {
    if (events.length === 0) return
    const values = events.map((e) => ({
      type: e.type,
      payload: JSON.stringify(e.data),
      channels: e.channels ?? [],
      category_id: e.categoryId ?? null,
    }))
    await trx.insertInto('outbox').values(values).execute()
    this.written(trx)
  }

  /**
   * The outbox rows for `events`, as a VALUES list of (type, payload, channels, category_id), for
   * a caller that writes them inside a statement of its own (see NotificationService.create);
   * it must call `written(trx)` after the statement.
   */
  rows(events: EventInput[]) {
    return sql.join(
      events.map((e) => sql`(${e.type}, ${JSON.stringify(e.data)}::jsonb, ${e.channels ?? []}::text[], ${e.categoryId ?? null}::int)`),
    )
  }

  /**
   * After a statement through `on` wrote events: once they are committed (at once outside a
   * transaction, see afterCommit), wakes this process's relay and tells the other processes'.
   * Nothing is announced inside the writing transaction: a NOTIFY there would take PostgreSQL's
   * cluster-wide notify lock at commit, so every transaction that wrote an event would commit
   * one after another (with its WAL flush) while holding its row locks.
   */
  written(on: DbOrTrx): void {
    afterCommit(on, this.committed)
  }

  /** Called after every committed write (this process's relay wakes on it). */
  onWrite(wake: () => void): () => void {
    this.written_.add(wake)
    return () => this.written_.delete(wake)
  }

  private wakeAll(): void {
    for (const wake of this.written_) wake()
    if (this.announces) this.announce()
  }

  /**
   * NOTIFYs the relays, in a statement of its own after the commit: at once after a quiet spell,
   * then at most every ANNOUNCE_SPACING_MS, with one more after the last commit of a stream (a
   * commit during a NOTIFY in flight is followed by another). A NOTIFY that fails is left to the
   * relays' poll.
   */
  private announce(): void {
    if (this.announcing) {
      this.announceAgain = true
      return
    }
    this.announcing = true
    const send = () => {
      this.lastAnnounced = performance.now()
      this.announceAgain = false
      sql`select pg_notify(${OUTBOX_NOTIFY_CHANNEL}, '')`
        .execute(this.db)
        .catch(() => {})
        .finally(() => {
          this.announcing = false
          if (this.announceAgain) this.announce()
        })
    }
    const wait = this.lastAnnounced + ANNOUNCE_SPACING_MS - performance.now()
    if (wait <= 0) send()
    else setTimeout(send, wait).unref()
  }
}

/** One consumer of committed events. It must be idempotent: an event may reach it more than once. */
export interface EventConsumer {
  name: string
  handle(event: AnyDomainEvent, trx: Trx): Promise<void>
  /**
   * Optional: a whole pass's events at once, in order (the live fan-out publishes them in one
   * Redis call). When it fails, the relay hands the same events to `handle` one by one, which
   * finds where it fails; so it must leave a repeat of what it got through harmless, as `handle` does.
   */
  handleMany?(events: AnyDomainEvent[], trx: Trx): Promise<void>
}

export interface RelayOptions {
  db: Db
  outbox: Outbox
  consumers: EventConsumer[]
  log: Logger
  /**
   * A connection string for a LISTEN connection, so this process hears at once of events
   * other processes committed (its own wake it directly). Null (embedded PostgreSQL serves one
   * connection) leaves it to this process's own writes and its poll.
   */
  listenUrl: string | null
  /** How often to look for events nobody was told about (a process that died). */
  pollMs?: number
  /** How long one consumer may take with one event before it counts as failed. */
  consumerTimeoutMs?: number
  /** How many events one pass takes. */
  batchSize?: number
  /**
   * The least time from one pass's start to the next (10 ms). A write after a quiet spell is
   * relayed at once; under a stream of writes each pass takes what came in meanwhile, so a pass's
   * fixed cost (a transaction of two statements, one Redis call) is shared by several events
   * instead of paid for each.
   */
  spacingMs?: number
}

interface OutboxRow {
  id: number
  type: string
  payload: Record<string, unknown>
  channels: string[]
  category_id: number | null
  created_at: Date
  attempts: number
  done: string[]
  /** How long until this event is due again (0 when due now). */
  wait_ms: number
}

const MAX_BACKOFF_MS = 30_000

/**
 * Delivers committed events to every consumer, at least once, in outbox order. Runs in the
 * web process and in the worker; a PostgreSQL advisory lock lets one pass run at a time
 * across all of them. A consumer that fails (Redis down, a timeout) leaves the event and
 * everything after it for a later pass, with backoff: nothing is lost, only delayed.
 */
export class OutboxRelay {
  private running: Promise<void> | null = null
  private again = false
  /** A pass is scheduled to start when the spacing allows. */
  private spaced = false
  private lastStart = -Infinity
  private closed = false
  private listener: pg.Client | null = null
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly stopWaking: () => void
  private readonly pollMs: number
  private readonly timeoutMs: number
  private readonly batchSize: number
  private readonly spacingMs: number

  constructor(private readonly options: RelayOptions) {
    this.pollMs = options.pollMs ?? 1_000
    this.timeoutMs = options.consumerTimeoutMs ?? 5_000
    this.batchSize = options.batchSize ?? 200
    this.spacingMs = options.spacingMs ?? 10
    this.stopWaking = options.outbox.onWrite(() => this.wake())
  }

  /** Starts listening for commits and polling; delivers whatever is already waiting. */
  async start(): Promise<void> {
    if (this.options.listenUrl) await this.listen(this.options.listenUrl)
    this.schedulePoll()
    this.wake()
  }

  /**
   * Asks for a pass soon; passes never overlap, a wake during a pass runs another, and a pass
   * starts no sooner than `spacingMs` after the one before it (wakes meanwhile share it).
   */
  wake(): void {
    if (this.closed || this.spaced) return
    if (this.running) {
      this.again = true
      return
    }
    const wait = this.lastStart + this.spacingMs - performance.now()
    if (wait > 0) {
      this.spaced = true
      this.after(wait, () => {
        this.spaced = false
        this.wake()
      })
      return
    }
    this.lastStart = performance.now()
    this.running = this.loop().finally(() => {
      this.running = null
      if (this.again && !this.closed) {
        this.again = false
        this.wake()
      }
    })
  }

  /** Runs passes until nothing deliverable is waiting (tests and shutdown use it). */
  async drain(): Promise<void> {
    for (;;) {
      if (this.running) await this.running
      const delivered = await this.pass()
      if (delivered === 0) return
      // Another process holds the relay lock: give it a moment to finish.
      if (delivered < 0) await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** Stops listening and polling; waits for a pass in progress. */
  async close(): Promise<void> {
    this.closed = true
    this.stopWaking()
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    const listener = this.listener
    this.listener = null
    if (listener) await listener.end().catch(() => {})
    await this.running
  }

  private async loop(): Promise<void> {
    try {
      // A full batch means more may be waiting: keep going.
      while (!this.closed && (await this.pass()) >= this.batchSize) {}
    } catch (err) {
      this.options.log.error({ err }, 'outbox: relay pass failed')
    }
  }

  /**
   * One pass: under the relay lock, takes the oldest due events and hands each to every
   * consumer that does not have it yet. Returns how many events were settled, or -1 when
   * another process holds the lock.
   */
  private async pass(): Promise<number> {
    const { db, consumers, log } = this.options
    return db.transaction().execute(async (trx) => {
      // One round trip: take the relay lock and, only if it was free, the oldest undelivered events.
      // Prepared, as the statement that marks them delivered: a pass runs for nearly every write.
      const found = await prepared(trx, sql<OutboxRow & { locked: boolean }>`
        with relay as (select pg_try_advisory_xact_lock(hashtext(${RELAY_LOCK})) as locked)
        select relay.locked, e.* from relay left join lateral (
          select id, type, payload, channels, category_id, created_at, attempts, done,
            greatest(0, extract(epoch from next_attempt_at - now()) * 1000)::int as wait_ms
          from outbox where delivered_at is null order by id limit ${this.batchSize}
        ) e on relay.locked`)
      if (!found[0]?.locked) {
        // Another process is relaying; it takes these too, but look again shortly in case it just finished.
        this.after(50, () => this.wake())
        return -1
      }
      const rows = found.filter((row) => row.id !== null)
      // Consumers that take the pass at once (handleMany) first, each with the due events it does
      // not have yet; one that fails falls back to one event at a time below, where its failure
      // holds back the events after it like any other. Each consumer sees its events in order (a
      // batch may have carried events past one that another consumer then fails on: they are
      // handed to it again on the retry, and it publishes each event once).
      const waiting = rows.findIndex((row) => row.wait_ms > 0)
      const due = waiting === -1 ? rows : rows.slice(0, waiting)
      const took = new Set<string>()
      for (const consumer of consumers) {
        if (!consumer.handleMany) continue
        const events = due.filter((row) => !row.done.includes(consumer.name)).map(toEvent)
        try {
          if (events.length > 0) await withTimeout(consumer.handleMany(events, trx), this.timeoutMs, consumer.name)
          took.add(consumer.name)
        } catch (err) {
          log.warn({ err, consumer: consumer.name, events: events.length }, 'outbox: delivery of a batch failed; delivering one by one')
        }
      }
      const delivered: number[] = []
      for (const row of rows) {
        if (row.wait_ms > 0) {
          // An earlier event is waiting out its backoff: later ones wait behind it, in order.
          this.after(row.wait_ms, () => this.wake())
          break
        }
        const event = toEvent(row)
        const done = new Set(row.done)
        let failure: unknown = null
        for (const consumer of consumers) {
          if (done.has(consumer.name)) continue
          if (took.has(consumer.name)) {
            done.add(consumer.name)
            continue
          }
          try {
            await withTimeout(consumer.handle(event, trx), this.timeoutMs, consumer.name)
            done.add(consumer.name)
          } catch (err) {
            failure = err
            log.warn({ err, event: row.type, eventId: row.id, consumer: consumer.name, attempts: row.attempts + 1 }, 'outbox: delivery failed; will retry')
            break
          }
        }
        if (!failure) {
          delivered.push(row.id)
          continue
        }
        const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(row.attempts, 10))
        await trx
          .updateTable('outbox')
          .set({
            done: [...done],
            attempts: row.attempts + 1,
            last_error: String((failure as Error)?.message ?? failure).slice(0, 500),
            next_attempt_at: sql<Date>`now() + ${`${backoff} milliseconds`}::interval`,
          })
          .where('id', '=', row.id)
          .execute()
        // Later events wait behind this one, so each channel keeps its order.
        this.after(backoff, () => this.wake())
        break
      }
      if (delivered.length > 0) {
        await prepared(trx, sql`
          update outbox set delivered_at = now(), done = ${consumers.map((c) => c.name)}::text[]
          where id = any(${delivered}::bigint[])`)
      }
      return delivered.length
    })
  }

  private after(ms: number, fn: () => void): void {
    if (this.closed) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      fn()
    }, ms)
    timer.unref()
    this.timers.add(timer)
  }

  private schedulePoll(): void {
    this.after(this.pollMs, () => {
      this.wake()
      this.schedulePoll()
    })
  }

  /** A dedicated connection that hears every commit's NOTIFY; reconnects after a database restart. */
  private async listen(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url, application_name: 'hearth-outbox-listener' })
    client.on('notification', () => this.wake())
    client.on('error', (err) => {
      this.options.log.warn({ err }, 'outbox: listen connection lost; reconnecting')
      if (this.listener === client) this.listener = null
      client.end().catch(() => {})
      this.relisten(url, 1_000)
    })
    try {
      await client.connect()
      await client.query(`listen ${OUTBOX_NOTIFY_CHANNEL}`)
    } catch (err) {
      client.end().catch(() => {})
      this.options.log.warn({ err }, 'outbox: listen connection failed; polling until it comes back')
      this.relisten(url, 2_000)
      return
    }
    if (this.closed) {
      await client.end().catch(() => {})
      return
    }
    this.listener = client
    // Anything committed while the connection was down is picked up now.
    this.wake()
  }

  private relisten(url: string, ms: number): void {
    this.after(ms, () => void this.listen(url))
  }
}

/** Prunes delivered events older than `olderThanHours`; returns how many went. */
export async function pruneOutbox(db: Db, olderThanHours = 24): Promise<number> {
  const result = await db
    .deleteFrom('outbox')
    .where('delivered_at', '<', sql<Date>`now() - ${`${olderThanHours} hours`}::interval`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** How the outbox stands, for /admin/jobs and /readyz: waiting events and the oldest one's age. */
export async function outboxBacklog(db: Db): Promise<{ waiting: number; oldestSeconds: number | null; lastError: string | null }> {
  const row = await db
    .selectFrom('outbox')
    .select([
      sql<number>`count(*)::int`.as('waiting'),
      sql<number | null>`extract(epoch from now() - min(created_at))::int`.as('oldest'),
      sql<string | null>`(array_agg(last_error order by id) filter (where last_error is not null))[1]`.as('last_error'),
    ])
    .where('delivered_at', 'is', null)
    .executeTakeFirstOrThrow()
  return { waiting: row.waiting, oldestSeconds: row.oldest, lastError: row.last_error }
}

function toEvent(row: OutboxRow): AnyDomainEvent {
  return {
    id: row.id,
    type: row.type,
    data: row.payload,
    channels: row.channels,
    ...(row.category_id ? { categoryId: row.category_id } : {}),
    at: row.created_at.toISOString(),
  } as AnyDomainEvent
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
