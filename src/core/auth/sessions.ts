import { type RawBuilder, sql } from 'kysely'
import { type Db, type DbOrTrx, prepared, preparedTemplate } from '../db.js'
import type { User } from '../db-types.js'
import type { Viewer } from '../guard.js'
import type { Outbox } from '../outbox.js'
import { hashMatches, hashSecret, issueSecret, secretMatches, splitToken } from './tokens.js'

/** The user as the rest of the app sees them: everything but the password hash. */
export type SessionUser = Omit<User, 'password_hash'>

export interface Session {
  id: string
  userId: number
  expiresAt: Date
}

/** A valid session with its user, the categories they moderate and (when asked) their unread count. */
export interface ValidSession {
  session: Session
  user: SessionUser
  refreshed: boolean
  moderates: number[]
  unread: number
}

/** A session cookie's parts, not yet checked (see `SessionStore.lookup`). */
export interface SessionRef {
  id: string
  secret: string
  secretHash: Buffer
}

/** Splits a session token; null when it is not one. */
export function sessionRef(token: string): SessionRef | null {
  const parts = splitToken(token)
  return parts ? { ...parts, secretHash: hashSecret(parts.secret) } : null
}

/**
 * A page request whose session cookie is not checked yet (a route with `sessionInPage`): the
 * page's own statement embeds `lookup`, and `settle` settles the request with the row it found
 * (or none) exactly as the session hook would have, returning the viewer.
 */
export interface PendingViewer {
  ref: SessionRef
  lookup(ref: Pick<SessionRef, 'id' | 'secretHash'>): RawBuilder<LookedUpSession>
  settle(row: LookedUpSession | undefined): Promise<Viewer>
}

/**
 * One row of `SessionStore.lookup`: the session as one JSON column (one field for the driver to
 * describe and parse, no timestamp or bytea parsers), null when no session matched.
 */
export interface LookedUpSession {
  session: {
    id: string
    userId: number
    /** The stored secret hash, in hex. */
    hash: string
    /** When it expires, in milliseconds since the epoch. */
    expires: number
    /** The refresh (activity stamp, sliding expiry) is due. */
    due: boolean
    /** The member (`settle` turns it into a SessionUser: its timestamps arrive as strings). */
    member: SessionUserJson
    moderates: number[]
    unread: number
  } | null
}

/** A SessionUser as PostgreSQL writes it in JSON: its timestamps are ISO strings. */
type SessionUserJson = { [K in keyof SessionUser]: SessionUser[K] extends Date | null ? string | null : SessionUser[K] extends Date ? string : SessionUser[K] }

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
  'users.avatar_key',
  'users.created_at',
  'users.last_seen_at',
  'users.mail_off_kinds',
  'users.email_suppressed_at',
  'users.email_suppressed_reason',
  'users.approval_status',
  'users.application_answers',
  'users.signup_ip',
  'users.invited_by',
  'users.username_changed_at',
  'users.deletion_requested_at',
  'users.deletion_due_at',
  'users.deletion_mode',
  'users.deleted_at',
  'users.time_zone',
] as const

/**
 * The `member` and `moderates` fields of a session's or an API token's JSON, for the member whose
 * id `userId` gives: each a subquery of its own, correlated on the id, so the member is read by
 * its key whatever the planner knows of the users table (joined instead, a table planned while
 * small was read whole into a hash for every request).
 */
function memberFields(userId: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`'member', (select to_json(m) from (select ${sql.join(userColumns.map((c) => sql.ref(c)))} from users where users.id = ${userId} limit 1) m),
        'moderates', array(select category_id::int4 from category_moderators where user_id = ${userId})`
}

// The user columns that are timestamps: JSON carries them as strings.
type SelectedUserKey = (typeof userColumns)[number] extends `users.${infer K}` ? K & keyof SessionUser : never
type TimestampKey = { [K in SelectedUserKey]: Date extends SessionUser[K] ? K : never }[SelectedUserKey]
const userTimestamps = [
  'email_verified_at', 'suspended_until', 'silenced_until', 'tl3_short_since', 'created_at', 'last_seen_at',
  'email_suppressed_at', 'username_changed_at', 'deletion_requested_at', 'deletion_due_at', 'deleted_at',
] as const satisfies readonly TimestampKey[]
// Every selected timestamp is listed: a new one left out fails to compile here, instead of reaching pages as a string.
const everyTimestamp: Exclude<TimestampKey, (typeof userTimestamps)[number]> extends never ? true : never = true
void everyTimestamp

/** A SessionUser from its JSON (`lookup`'s `member` column): the same values the columns would have given. */
function sessionUserFromJson(json: SessionUserJson): SessionUser {
  const user = json as unknown as Record<string, unknown>
  for (const key of userTimestamps) {
    const value = user[key]
    if (typeof value === 'string') user[key] = new Date(value)
  }
  return user as unknown as SessionUser
}

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
    // Logging in is a visit (community health); later ones are recorded with the session refresh.
    await sql`
      with visited as (
        insert into activity_log (user_id, kind, subject_id, at)
        values (${userId}, 'visit', to_char(now() at time zone 'UTC', 'YYYYMMDD')::bigint, now())
        on conflict do nothing
        returning user_id
      )
      insert into member_days (day, user_id)
      select (now() at time zone 'UTC')::date, user_id from visited
      on conflict do nothing`.execute(trx ?? this.db)
    return { token, session: { id, userId, expiresAt } }
  }

  /**
   * Checks a token; returns the session, the user and (in the same round trip) who they are
   * to the guard: the categories they moderate and, when asked, their unread notification count.
   * That statement only reads. Once the session's refresh is due (the activity stamp every
   * SEEN_EVERY, or less than half its lifetime left) and the secret matched, a second statement
   * extends the session, so active members stay logged in, and stamps the activity.
   */
  async validate(token: string, options: { unread?: boolean } = {}): Promise<ValidSession | null> {
    const ref = sessionRef(token)
    if (!ref) return null
    // Built once per shape (the member's ~30 columns are references to compile), then only bound.
    const rows = await preparedTemplate(this.db, `session-lookup:${options.unread === true}`, { id: ref.id, secretHash: ref.secretHash }, (v) =>
      this.lookup(v, options))
    return this.settle(ref, rows[0])
  }

  /**
   * The statement part that looks a session up: at most one row, the columns `settle` reads.
   * `validate` runs it alone; a hot page may embed it in its own statement (a lateral join),
   * so a member's page costs one round trip, not two. Only the secret's hash travels, and a
   * row comes back only when it matches.
   */
  lookup(ref: Pick<SessionRef, 'id' | 'secretHash'>, options: { unread?: boolean } = {}): RawBuilder<LookedUpSession> {
    // Literals, not parameters: they never vary, and a page's statement template binds only its own values.
    const seenEvery = sql.lit(`${SEEN_EVERY} milliseconds`)
    const half = sql.lit(`${(this.lifetimeDays * DAY) / 2} milliseconds`)
    return sql<LookedUpSession>`
      select json_build_object(
        'id', s.id, 'userId', s.user_id, 'hash', encode(s.secret_hash, 'hex'),
        'expires', extract(epoch from s.expires_at) * 1000,
        'due', s.last_seen_at < now() - ${seenEvery}::interval or s.expires_at - now() < ${half}::interval,
        ${memberFields(sql.ref('s.user_id'))},
        'unread', ${options.unread ? sql`(select count(*) from notifications where user_id = s.user_id and read_at is null)::int` : sql`0`}
      ) as session,
        s.user_id -- for a statement that embeds this one (the member's id, without reading the JSON)
      from sessions s
      where s.id = ${ref.id} and s.secret_hash = ${ref.secretHash}`
  }

  /**
   * What a looked-up row means: the valid session, or null (no such session, a wrong secret,
   * expired: an expired one is deleted). Runs the sliding refresh when it is due.
   */
  async settle(ref: SessionRef, row: LookedUpSession | undefined): Promise<ValidSession | null> {
    const found = row?.session
    // The statement matched the hash already; this compares it again, in constant time, in case it ever does not.
    if (!found || !hashMatches(ref.secretHash, Buffer.from(found.hash, 'hex'))) return null
    if (found.expires <= Date.now()) {
      await this.db.deleteFrom('sessions').where('id', '=', found.id).execute()
      return null
    }
    const storedExpiry = new Date(found.expires)
    const expiresAt = (found.due ? await this.refresh(found.id, this.lifetimeDays * DAY) : null) ?? storedExpiry
    const user = sessionUserFromJson(found.member)
    return {
      session: { id: found.id, userId: user.id, expiresAt },
      user,
      refreshed: expiresAt.getTime() !== storedExpiry.getTime(),
      moderates: found.moderates,
      unread: found.unread,
    }
  }

  /**
   * The sliding refresh (a session validated a moment ago): extends it when less than half its
   * lifetime is left and stamps the member's activity, in one statement. Concurrent requests
   * race harmlessly: the conditions are checked again under the row's lock, so only the first
   * writes. Returns the new expiry, or null when nothing was extended.
   */
  private async refresh(sessionId: string, life: number): Promise<Date | null> {
    const half = `${life / 2} milliseconds`
    const rows = await prepared(this.db, sql<{ expires_at: Date; extended: boolean }>`
      with touched as (
        update sessions set
          expires_at = case when expires_at - now() < ${half}::interval then now() + ${`${life} milliseconds`}::interval else expires_at end,
          last_seen_at = now()
        where id = ${sessionId} and expires_at > now()
          and (last_seen_at < now() - ${`${SEEN_EVERY} milliseconds`}::interval or expires_at - now() < ${half}::interval)
        returning user_id, expires_at
      ),
      seen as (
        update users set last_seen_at = now() from touched where users.id = touched.user_id
      ),
      -- A visit for the activity log (community health): at most one per member per UTC day,
      -- written with the refresh above (every few minutes), never on an ordinary request.
      visited as (
        insert into activity_log (user_id, kind, subject_id, at)
        select user_id, 'visit', to_char(now() at time zone 'UTC', 'YYYYMMDD')::bigint, now()
        from touched
        on conflict do nothing
        returning user_id
      ),
      visit_day as (
        insert into member_days (day, user_id)
        select (now() at time zone 'UTC')::date, user_id from visited
        on conflict do nothing
      )
      select expires_at from touched`)
    return rows[0]?.expires_at ?? null
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

  /**
   * Checks a bearer token; returns its user and the categories they moderate, or null. The
   * check only reads; the last-used stamp (at most every SEEN_EVERY, only when the secret
   * matches) is a second statement, run only when it is due.
   */
  async validateApiToken(token: string): Promise<{ tokenId: string; user: SessionUser; moderates: number[] } | null> {
    const parts = splitToken(token, API_TOKEN_PREFIX)
    if (!parts) return null
    // One JSON column, as a session's (see lookup): no timestamp, bytea or array parsers to run.
    const rows = await preparedTemplate(this.db, 'api-token-lookup', { id: parts.id }, (v) => sql<{ token: { id: string; hash: string; due: boolean; member: SessionUserJson; moderates: number[] } }>`
      select json_build_object(
        'id', t.id, 'hash', encode(t.secret_hash, 'hex'),
        'due', t.last_used_at is null or t.last_used_at < now() - ${sql.lit(`${SEEN_EVERY} milliseconds`)}::interval,
        ${memberFields(sql.ref('t.user_id'))}
      ) as token
      from api_tokens t
      where t.id = ${v.id}`)
    const found = rows[0]?.token
    if (!found || !secretMatches(parts.secret, Buffer.from(found.hash, 'hex'))) return null
    // "Last used" is stamped at most every SEEN_EVERY, by its own statement: the check itself only reads.
    if (found.due) {
      await prepared(this.db, sql`
        update api_tokens set last_used_at = now()
        where id = ${found.id} and (last_used_at is null or last_used_at < now() - ${`${SEEN_EVERY} milliseconds`}::interval)`)
    }
    return { tokenId: found.id, user: sessionUserFromJson(found.member), moderates: found.moderates }
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
