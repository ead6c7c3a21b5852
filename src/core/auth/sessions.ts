import type { Db, DbOrTrx } from '../db.js'
import type { User } from '../db-types.js'
import type { Outbox } from '../outbox.js'
import { issueSecret, secretMatches, splitToken } from './tokens.js'

/** The user as the rest of the app sees them: everything but the password hash. */
export type SessionUser = Omit<User, 'password_hash'>

export interface Session {
  id: string
  userId: number
  expiresAt: Date
}

export interface SessionMeta {
  userAgent?: string
  ip?: string
}

const DAY = 24 * 60 * 60 * 1000
// Activity is written at most this often per session, so reading pages stays read-only.
const SEEN_EVERY = 5 * 60 * 1000
const API_TOKEN_PREFIX = 'hth_'

const userColumns = [
  'users.id',
  'users.username',
  'users.email',
  'users.display_name',
  'users.bio',
  'users.role',
  'users.trust_level',
  'users.trust_locked',
  'users.digest_frequency',
  'users.email_verified_at',
  'users.suspended_until',
  'users.silenced_until',
  'users.tl3_short_since',
  'users.role_locked',
  'users.created_at',
  'users.last_seen_at',
  'users.mail_off_kinds',
  'users.email_suppressed_at',
  'users.email_suppressed_reason',
] as const

/** Session storage after Lucia's design: sliding expiry, hashed secrets, revoke-all. */
export class SessionStore {
  constructor(
    private readonly db: Db,
    private readonly lifetimeDays: number,
    /** Ending sessions writes `session.ended`, so their live sockets close on every instance. */
    private readonly outbox: Outbox,
  ) {}

  /** Starts a session; returns the token for the cookie. */
  async create(userId: number, meta: SessionMeta = {}, trx?: DbOrTrx): Promise<{ token: string; session: Session }> {
    const { id, token, secretHash } = issueSecret()
    const expiresAt = new Date(Date.now() + this.lifetimeDays * DAY)
    await (trx ?? this.db)
      .insertInto('sessions')
      .values({
        id,
        secret_hash: secretHash,
        user_id: userId,
        user_agent: (meta.userAgent ?? '').slice(0, 300),
        ip: meta.ip ?? '',
        expires_at: expiresAt,
        last_seen_at: new Date(),
      })
      .execute()
    return { token, session: { id, userId, expiresAt } }
  }

  /**
   * Checks a token; returns the session and user, or null. Extends the session when
   * less than half its lifetime is left, so active members stay logged in.
   */
  async validate(token: string): Promise<{ session: Session; user: SessionUser; refreshed: boolean } | null> {
    const parts = splitToken(token)
    if (!parts) return null
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.id as session_id',
        'sessions.secret_hash',
        'sessions.expires_at',
        'sessions.last_seen_at as session_seen_at',
        ...userColumns,
      ])
      .where('sessions.id', '=', parts.id)
      .executeTakeFirst()
    if (!row || !secretMatches(parts.secret, row.secret_hash)) return null
    const now = Date.now()
    if (row.expires_at.getTime() <= now) {
      await this.db.deleteFrom('sessions').where('id', '=', row.session_id).execute()
      return null
    }
    let expiresAt = row.expires_at
    const refreshed = expiresAt.getTime() - now < (this.lifetimeDays * DAY) / 2
    if (refreshed) expiresAt = new Date(now + this.lifetimeDays * DAY)
    if (refreshed || now - row.session_seen_at.getTime() > SEEN_EVERY) {
      const seen = new Date(now)
      await this.db
        .updateTable('sessions')
        .set({ expires_at: expiresAt, last_seen_at: seen })
        .where('id', '=', row.session_id)
        .execute()
      await this.db.updateTable('users').set({ last_seen_at: seen }).where('id', '=', row.id).execute()
    }
    const { session_id, secret_hash: _hash, expires_at: _exp, session_seen_at: _seen, ...user } = row
    return { session: { id: session_id, userId: row.id, expiresAt }, user, refreshed }
  }

  /** Ends one session (log-out). */
  async invalidate(sessionId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const ended = await trx.deleteFrom('sessions').where('id', '=', sessionId).returning('user_id').executeTakeFirst()
      if (ended) await this.outbox.emit(trx, 'session.ended', { userId: ended.user_id, sessionId })
    })
  }

  /** Ends every session of a user, except optionally the one in use. */
  async invalidateAllFor(userId: number, exceptSessionId?: string, trx?: DbOrTrx): Promise<number> {
    const run = async (q: DbOrTrx) => {
      let del = q.deleteFrom('sessions').where('user_id', '=', userId)
      if (exceptSessionId) del = del.where('id', '!=', exceptSessionId)
      const result = await del.executeTakeFirst()
      await this.outbox.emit(q, 'session.ended', { userId, ...(exceptSessionId ? { exceptSessionId } : {}) })
      return Number(result.numDeletedRows)
    }
    return trx ? run(trx) : this.db.transaction().execute(run)
  }

  /** The user's active sessions, newest activity first (for /settings). */
  listFor(userId: number) {
    return this.db
      .selectFrom('sessions')
      .select(['id', 'user_agent', 'ip', 'created_at', 'last_seen_at', 'expires_at'])
      .where('user_id', '=', userId)
      .where('expires_at', '>', new Date())
      .orderBy('last_seen_at', 'desc')
      .execute()
  }

  /** Deletes expired sessions; returns how many. Run by the `sessions.purge` job. */
  async purgeExpired(now = new Date()): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  /** Issues a personal API token; the plain token is shown once and never stored. */
  async createApiToken(userId: number, name: string): Promise<{ id: string; token: string }> {
    const { id, token, secretHash } = issueSecret(API_TOKEN_PREFIX)
    await this.db.insertInto('api_tokens').values({ id, secret_hash: secretHash, user_id: userId, name }).execute()
    return { id, token }
  }

  /** Checks a bearer token; returns its user, or null. */
  async validateApiToken(token: string): Promise<{ tokenId: string; user: SessionUser } | null> {
    const parts = splitToken(token, API_TOKEN_PREFIX)
    if (!parts) return null
    const row = await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select(['api_tokens.id as token_id', 'api_tokens.secret_hash', 'api_tokens.last_used_at', ...userColumns])
      .where('api_tokens.id', '=', parts.id)
      .executeTakeFirst()
    if (!row || !secretMatches(parts.secret, row.secret_hash)) return null
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > SEEN_EVERY) {
      await this.db.updateTable('api_tokens').set({ last_used_at: new Date() }).where('id', '=', row.token_id).execute()
    }
    const { token_id, secret_hash: _hash, last_used_at: _used, ...user } = row
    return { tokenId: token_id, user }
  }

  /** The user's API tokens (never their secrets). */
  listApiTokens(userId: number) {
    return this.db
      .selectFrom('api_tokens')
      .select(['id', 'name', 'created_at', 'last_used_at'])
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .execute()
  }

  /** Revokes every API token of a user (a password change); live sockets opened with one recheck now. */
  async revokeAllApiTokens(userId: number, trx: DbOrTrx = this.db): Promise<number> {
    const result = await trx.deleteFrom('api_tokens').where('user_id', '=', userId).executeTakeFirst()
    const revoked = Number(result.numDeletedRows)
    if (revoked > 0) await this.outbox.emit(trx, 'access.changed', { userId })
    return revoked
  }

  /** Revokes one of the user's tokens; false when it is not theirs. */
  async revokeApiToken(userId: number, tokenId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('api_tokens')
      .where('id', '=', tokenId)
      .where('user_id', '=', userId)
      .executeTakeFirst()
    return result.numDeletedRows > 0n
  }
}
