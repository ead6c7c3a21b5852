import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { sql } from 'kysely'
import type { Db } from '../../core/db.js'
import type { Logger } from 'pino'

/** A viewer (member or address) counts once per thread in this window. */
export const VIEW_WINDOW_SECONDS = 8 * 60 * 60
/** How often counted views are added to the threads (at most this long unsaved). */
export const VIEW_FLUSH_MS = 10_000
/** Views waiting for the next batch; a burst beyond it is flushed early. */
const MAX_PENDING = 5_000
/** Viewer-and-thread pairs remembered in memory for the window; the oldest go first. */
const MAX_SEEN = 100_000

// One round trip for a whole batch: which of these viewer keys are new in the window.
const CLAIM_SCRIPT = `
local fresh = {}
for i, key in ipairs(KEYS) do
  if redis.call('set', key, '1', 'NX', 'EX', ARGV[1]) then fresh[#fresh + 1] = i end
end
return fresh`

/** Who is viewing, for counting: a member by id, a guest by address (only its digest leaves the process). */
export function viewerKey(userId: number | null | undefined, ip: string): string {
  return userId ? `u${userId}` : `a${ip}`
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 16)
}

/**
 * Thread view counts, cheaply. A page view costs a map lookup in this process: each viewer
 * counts once per thread per VIEW_WINDOW_SECONDS, remembered here; every VIEW_FLUSH_MS the
 * batch is checked against Redis (so a viewer that several web processes serve still counts
 * once) in one round trip and added to `threads.view_count` in one statement. Without Redis
 * the window is per process. A crash loses at most the unsaved batch: views are an estimate,
 * never a fact anyone relies on.
 */
export class ThreadViews {
  private readonly seen = new Map<string, number>()
  private pending: { threadId: number; key: string }[] = []
  private timer: NodeJS.Timeout | null = null
  private flushing: Promise<void> = Promise.resolve()

  constructor(
    private readonly db: Db,
    private readonly redis: Redis | null,
    private readonly redisPrefix: string,
    private readonly log: Logger,
    private readonly flushMs = VIEW_FLUSH_MS,
  ) {}

  /** Counts a view of a thread, unless this viewer was counted there within the window. */
  record(threadId: number, viewer: string): void {
    const key = `${threadId}:${viewer}`
    const now = Date.now()
    const until = this.seen.get(key)
    if (until !== undefined && until > now) return
    this.seen.delete(key)
    if (this.seen.size >= MAX_SEEN) this.seen.delete(this.seen.keys().next().value as string)
    this.seen.set(key, now + VIEW_WINDOW_SECONDS * 1000)
    this.pending.push({ threadId, key })
    if (this.pending.length >= MAX_PENDING) void this.flush()
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null
        void this.flush()
      }, this.flushMs)
      this.timer.unref()
    }
  }

  /** Adds the views counted so far to their threads (tests call it; close() does too). */
  async flush(): Promise<void> {
    const run = this.flushing.then(() => this.save())
    this.flushing = run.catch(() => undefined)
    return run
  }

  private async save(): Promise<void> {
    const batch = this.pending
    this.pending = []
    if (batch.length === 0) return
    try {
      let counted = batch
      if (this.redis && this.redis.status === 'ready') {
        const keys = batch.map((b) => `${this.redisPrefix}view:${b.threadId}:${digest(b.key)}`)
        const fresh = (await this.redis.eval(CLAIM_SCRIPT, keys.length, ...keys, VIEW_WINDOW_SECONDS)) as number[]
        counted = fresh.map((i) => batch[i - 1]!)
      }
      const perThread = new Map<number, number>()
      for (const b of counted) perThread.set(b.threadId, (perThread.get(b.threadId) ?? 0) + 1)
      if (perThread.size === 0) return
      const ids = [...perThread.keys()].sort((a, b) => a - b)
      await sql`
        update threads t set view_count = t.view_count + v.n
        from unnest(${ids}::bigint[], ${ids.map((id) => perThread.get(id)!)}::int[]) as v(id, n)
        where t.id = v.id`.execute(this.db)
    } catch (err) {
      this.log.warn({ err, views: batch.length }, 'thread views were not saved')
    }
  }

  /** Saves what is pending and stops the timer. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.flush()
  }
}
