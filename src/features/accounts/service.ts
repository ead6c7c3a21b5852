import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { hashPassword, verifyDecoy, verifyPassword } from '../../core/auth/passwords.js'
import type { SessionStore, SessionUser } from '../../core/auth/sessions.js'
import type { Db, DbOrTrx, Trx } from '../../core/db.js'
import type { Role, User } from '../../core/db-types.js'
import { Conflict, Forbidden, Invalid, NotFound, parse } from '../../core/errors.js'
import { ensure, viewerOf } from '../../core/guard.js'
import type { Outbox } from '../../core/outbox.js'
import { logStaffAction } from '../moderation/log.js'
import type { CommunitySettings } from '../../core/settings.js'
import { ChangePasswordInput, LoginInput, ProfileInput, ResetConfirmInput, ResetRequestInput, SignupInput, TokenInput, UsernameChangeInput } from './schemas.js'

const WRONG_LOGIN = 'Wrong username/email or password'

/** How long a password-reset link works. */
export const RESET_LINK_MINUTES = 60

const RESET_INVALID = 'This reset link is not valid. It may have been copied incompletely. Nothing was changed.'
const RESET_EXPIRED = 'This reset link has expired. Nothing was changed: ask for a new one.'
const RESET_USED = 'This reset link has already been used. Nothing was changed: ask for a new one if you need it.'

/** The stored form of a reset token: its SHA-256 digest, never the token itself. */
function resetDigest(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/**
 * What sign-up and log-in ask the spam defence (features/spam): screen a sign-up before the
 * account is made, record its admission in the account's transaction, refuse blocked log-ins.
 */
export interface SignupGate {
  screenSignup(raw: unknown, meta: { ip?: string | null; via: 'form' | 'api'; referral?: string | null }): Promise<unknown>
  admit(trx: Trx, user: Pick<User, 'id' | 'role'>, admission: never): Promise<Partial<User>>
  screenLogin(email: string, ip: string | null | undefined): Promise<void>
}

/** Where a sign-up or log-in comes from. */
export interface AccountMeta {
  ip?: string | null
  /** The page's form (honeypot and timing apply) or the API; commands (admin:create) pass none and skip the gate. */
  via?: 'form' | 'api'
  /** The referral link the visitor arrived through (an invitation in an invite-only community). */
  referral?: string | null
}

export type ResetLinkCheck = { ok: true; userId: number } | { ok: false; message: string }

/** Sign-up, log-in, passwords and profiles. */
export class AccountService {
  constructor(
    private readonly db: Db,
    private readonly sessions: SessionStore,
    private readonly outbox: Outbox,
    private readonly settings: CommunitySettings,
    private readonly gate: SignupGate | null = null,
  ) {}

  /** Issues a personal API token for the member (not while suspended or silenced); the plain token is shown once. */
  async createApiToken(user: SessionUser, raw: unknown): Promise<{ id: string; token: string }> {
    ensure(viewerOf(user), 'createToken', undefined)
    const { name } = parse(TokenInput, raw)
    return this.sessions.createApiToken(user.id, name)
  }

  /**
   * Creates an account. The very first account becomes the admin; signing up is
   * serialised by a transaction-scoped lock so two first sign-ups cannot both win.
   * Writes `user.signed_up` to the outbox with the account (the welcome mail follows it).
   */
  async signUp(raw: unknown, options: { role?: Role; onCreated?: (trx: Trx, user: User) => Promise<unknown> } & AccountMeta = {}): Promise<User> {
    const input = parse(SignupInput, raw)
    const admission = this.gate && options.via ? await this.gate.screenSignup(raw, { ip: options.ip, via: options.via, referral: options.referral }) : null
    await this.assertAvailable(input.username, input.email)
    const passwordHash = await hashPassword(input.password)
    let user: User
    try {
      user = await this.db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext('hearth.signup'))`.execute(trx)
        const { count } = await trx
          .selectFrom('users')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .executeTakeFirstOrThrow()
        const created = await trx
          .insertInto('users')
          .values({
            username: input.username,
            email: input.email,
            password_hash: passwordHash,
            role: options.role ?? (Number(count) === 0 ? 'admin' : 'member'),
          })
          .returningAll()
          .executeTakeFirstOrThrow()
        if (admission !== null) {
          Object.assign(created, await this.gate!.admit(trx, created, admission as never))
        }
        await this.outbox.emit(trx, 'user.signed_up', { userId: created.id })
        // What else belongs to the sign-up (the referral credit) commits with it or not at all.
        await options.onCreated?.(trx, created)
        return created
      })
    } catch (err) {
      throw duplicateToConflict(err)
    }
    return user
  }

  /** Checks a username-or-email and password; the same answer for an unknown name and a wrong password. */
  /**
   * The key a log-in attempt's budget is counted under: the account it names (by username
   * or address alike), or the folded text when no account has that name.
   */
  async loginTarget(login: string): Promise<string> {
    const folded = login.trim().toLowerCase().slice(0, 254)
    const user = await this.db
      .selectFrom('users')
      .select('id')
      .where((eb) => (folded.includes('@') ? eb(eb.fn('lower', ['email']), '=', folded) : eb(eb.fn('lower', ['username']), '=', folded)))
      .executeTakeFirst()
    return user ? `u${user.id}` : `n:${folded}`
  }

  async logIn(raw: unknown, meta: AccountMeta = {}): Promise<User> {
    const input = parse(LoginInput, raw)
    const user = await this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) =>
        input.login.includes('@')
          ? eb(eb.fn('lower', ['email']), '=', input.login.toLowerCase())
          : eb(eb.fn('lower', ['username']), '=', input.login.toLowerCase()),
      )
      .executeTakeFirst()
    if (!user || user.deleted_at) {
      await verifyDecoy(input.password)
      throw Invalid.field('login', WRONG_LOGIN)
    }
    if (!(await verifyPassword(user.password_hash, input.password))) throw Invalid.field('login', WRONG_LOGIN)
    if (user.suspended_until && user.suspended_until > new Date()) {
      throw new Forbidden(`Your account is suspended until ${user.suspended_until.toUTCString()}`)
    }
    // The blocked list is asked only after the password is right: it tells a stranger nothing.
    if (this.gate && meta.via) await this.gate.screenLogin(user.email, meta.ip)
    return user
  }

  /**
   * Changes the password and ends every other session and every API token of the user:
   * whoever learnt the old password may have used it to make either. Returns how many ended.
   */
  async changePassword(user: SessionUser, currentSessionId: string | null, raw: unknown): Promise<{ sessions: number; tokens: number }> {
    const input = parse(ChangePasswordInput, raw)
    const row = await this.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow()
    if (!(await verifyPassword(row.password_hash, input.currentPassword))) {
      throw Invalid.field('currentPassword', 'Your current password is not right')
    }
    const passwordHash = await hashPassword(input.newPassword)
    return this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', user.id).execute()
      const tokens = await this.sessions.revokeAllApiTokens(user.id, trx)
      const sessions = await this.sessions.invalidateAllFor(user.id, currentSessionId ?? undefined, trx)
      return { sessions, tokens }
    })
  }

  /**
   * "Forgot your password?": records the request in the outbox and nothing else. Whether an
   * account has this address is decided by the mail job, so this answers alike (and about
   * as fast) for any address; an unknown or suppressed address simply gets no mail.
   * With mail off (no background jobs) it says so, again alike for every address.
   */
  async requestPasswordReset(raw: unknown, mailOn: boolean): Promise<'queued' | 'mail-off'> {
    const { email } = parse(ResetRequestInput, raw)
    // The same answer for every address: without mail, only an admin's one-time link helps.
    if (!mailOn) return 'mail-off'
    await this.outbox.emit(this.db, 'password.reset_requested', { email: email.toLowerCase(), nonce: randomUUID() })
    return 'queued'
  }

  /**
   * Creates a single-use reset link for a member and returns its token (only its digest is
   * stored). Called by the mail job inside its delivery transaction, so a mail that never
   * left leaves no working link, and by the admin action.
   */
  async issueResetToken(userId: number, trx: DbOrTrx = this.db, createdBy: number | null = null): Promise<string> {
    const token = randomBytes(32).toString('base64url')
    await trx
      .insertInto('password_resets')
      .values({ user_id: userId, token_hash: resetDigest(token), created_by: createdBy, expires_at: new Date(Date.now() + RESET_LINK_MINUTES * 60_000) })
      .execute()
    return token
  }

  /** Whether a reset link still works, without using it (the page shows the form or the reason). */
  async checkResetToken(token: string, trx: DbOrTrx = this.db): Promise<ResetLinkCheck> {
    const row = await trx
      .selectFrom('password_resets')
      .select(['user_id', 'expires_at', 'used_at'])
      .where('token_hash', '=', resetDigest(token))
      .executeTakeFirst()
    if (!row) return { ok: false, message: RESET_INVALID }
    if (row.used_at) return { ok: false, message: RESET_USED }
    if (row.expires_at <= new Date()) return { ok: false, message: RESET_EXPIRED }
    return { ok: true, userId: row.user_id }
  }

  /**
   * Sets a new password from a reset link. One conditional UPDATE marks the link used, so
   * of two concurrent uses exactly one wins and the other changes nothing. In the same
   * transaction the password changes, every other reset link of the member stops working,
   * and every session and API token ends (whoever had the old password may have made them).
   */
  async resetPassword(raw: unknown): Promise<{ user: User; sessions: number; tokens: number }> {
    const input = parse(ResetConfirmInput, raw)
    const before = await this.checkResetToken(input.token)
    if (!before.ok) throw Invalid.field('token', before.message)
    const passwordHash = await hashPassword(input.password)
    return this.db.transaction().execute(async (trx) => {
      const used = await trx
        .updateTable('password_resets')
        .set({ used_at: sql<Date>`now()` as unknown as Date })
        .where('token_hash', '=', resetDigest(input.token))
        .where('used_at', 'is', null)
        .where('expires_at', '>', sql<Date>`now()` as unknown as Date)
        .returning('user_id')
        .executeTakeFirst()
      if (!used) {
        const now = await this.checkResetToken(input.token, trx)
        throw Invalid.field('token', now.ok ? RESET_USED : now.message)
      }
      await trx
        .updateTable('password_resets')
        .set({ used_at: sql<Date>`now()` as unknown as Date })
        .where('user_id', '=', used.user_id)
        .where('used_at', 'is', null)
        .execute()
      const user = await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', used.user_id).returningAll().executeTakeFirstOrThrow()
      const tokens = await this.sessions.revokeAllApiTokens(user.id, trx)
      const sessions = await this.sessions.invalidateAllFor(user.id, undefined, trx)
      return { user, sessions, tokens }
    })
  }

  /**
   * An admin helps a member back in (logged). With mail on, a reset link is mailed to the
   * member's address, as if they had asked; with mail off, a one-time link is returned for
   * the admin to pass on, and only its digest is kept.
   */
  async adminPasswordReset(actor: SessionUser, userId: number, mailOn: boolean): Promise<{ username: string; email: string; token: string | null }> {
    ensure(viewerOf(actor), 'administer', undefined)
    return this.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select(['id', 'username', 'email']).where('id', '=', userId).executeTakeFirst()
      if (!user) throw new NotFound('No such member')
      let token: string | null = null
      if (mailOn) await this.outbox.emit(trx, 'password.reset_requested', { email: user.email.toLowerCase(), nonce: randomUUID() })
      else token = await this.issueResetToken(user.id, trx, actor.id)
      await logStaffAction(trx, {
        actorId: actor.id,
        action: 'member.password_reset',
        target: { type: 'user', id: user.id },
        reason: '',
        details: { username: user.username, delivery: mailOn ? 'mail' : 'link' },
      })
      return { username: user.username, email: user.email, token }
    })
  }

  /** Updates display name, bio and digest frequency. */
  async updateProfile(user: SessionUser, raw: unknown): Promise<void> {
    const input = parse(ProfileInput, raw)
    await this.db
      .updateTable('users')
      .set({ display_name: input.displayName || null, bio: input.bio, digest_frequency: input.digestFrequency })
      .where('id', '=', user.id)
      .execute()
  }

  /**
   * A member's public profile by username (case-insensitive). A name nobody holds now but a
   * member used before answers with where they are now (`/u/<old>` redirects there, and old
   * @mention links with it); a deleted account answers `gone`.
   */
  async profile(username: string): Promise<
    | { kind: 'member'; user: Awaited<ReturnType<AccountService['profileRow']>> & {} }
    | { kind: 'renamed'; username: string }
    | { kind: 'gone' }
  > {
    const user = await this.profileRow(username)
    if (user) return user.deleted_at ? { kind: 'gone' } : { kind: 'member', user }
    const renamed = await this.db
      .selectFrom('username_history as h')
      .innerJoin('users as u', 'u.id', 'h.user_id')
      .select(['u.username', 'u.deleted_at'])
      .where(sql`lower(h.username)`, '=', username.toLowerCase())
      .orderBy('h.created_at', 'desc')
      .limit(1)
      .executeTakeFirst()
    if (renamed && !renamed.deleted_at) return { kind: 'renamed', username: renamed.username }
    throw new NotFound('No member by that name')
  }

  private profileRow(username: string) {
    return this.db
      .selectFrom('users')
      .select(['id', 'username', 'display_name', 'bio', 'role', 'trust_level', 'created_at', 'last_seen_at', 'suspended_until', 'avatar_key', 'deleted_at'])
      .where(sql`lower(username)`, '=', username.toLowerCase())
      .executeTakeFirst()
  }

  /**
   * Changes the member's username, confirmed with their password, at most once every
   * `username_change_days`. The new name follows the sign-up rules and must be free: not
   * anyone's current name, and not a name another member gave up within `username_hold_days`.
   * The old name goes to the member's history: `/u/<old>` and old @mentions lead to them,
   * and nobody else can take it while it is held (the member may take it back).
   */
  async changeUsername(user: SessionUser, raw: unknown): Promise<{ username: string; previous: string }> {
    ensure(viewerOf(user), 'changeUsername', undefined)
    const input = parse(UsernameChangeInput, raw)
    const s = await this.settings.all()
    const row = await this.db.selectFrom('users').select(['username', 'password_hash', 'username_changed_at']).where('id', '=', user.id).executeTakeFirstOrThrow()
    if (!(await verifyPassword(row.password_hash, input.password))) throw Invalid.field('password', 'Your password is not right')
    const caseOnly = row.username.toLowerCase() === input.username.toLowerCase()
    if (row.username === input.username) throw Invalid.field('username', 'That is already your username')
    const nextAllowed = row.username_changed_at ? new Date(row.username_changed_at.getTime() + s.username_change_days * 86_400_000) : null
    if (!caseOnly && nextAllowed && nextAllowed > new Date()) {
      throw Invalid.field('username', `You changed your username recently; you can change it again on ${nextAllowed.toUTCString().slice(0, 16)}`)
    }
    try {
      await this.db.transaction().execute(async (trx) => {
        // The same lock as sign-up: a name is checked and taken by one of them at a time.
        await sql`select pg_advisory_xact_lock(hashtext('hearth.signup'))`.execute(trx)
        if (!caseOnly) await this.assertNameFree(trx, input.username, user.id)
        if (!caseOnly) {
          await trx
            .insertInto('username_history')
            .values({ user_id: user.id, username: row.username, held_until: new Date(Date.now() + s.username_hold_days * 86_400_000) })
            .execute()
          // Taking back one's own old name: it is current again, not history.
          await trx.deleteFrom('username_history').where('user_id', '=', user.id).where(sql`lower(username)`, '=', input.username.toLowerCase()).execute()
        }
        await trx
          .updateTable('users')
          .set({ username: input.username, ...(caseOnly ? {} : { username_changed_at: new Date() }) })
          .where('id', '=', user.id)
          .execute()
      })
    } catch (err) {
      throw duplicateToConflict(err)
    }
    return { username: input.username, previous: row.username }
  }

  /** When the member may next change their username (null: now). */
  async nextUsernameChange(user: Pick<SessionUser, 'username_changed_at'>): Promise<Date | null> {
    if (!user.username_changed_at) return null
    const days = (await this.settings.all()).username_change_days
    const next = new Date(user.username_changed_at.getTime() + days * 86_400_000)
    return next > new Date() ? next : null
  }

  private async assertNameFree(trx: DbOrTrx, username: string, self: number | null): Promise<void> {
    const lower = username.toLowerCase()
    const current = await trx.selectFrom('users').select('id').where(sql`lower(username)`, '=', lower).executeTakeFirst()
    if (current && current.id !== self) throw new Conflict('That username is taken', 'username')
    const held = await trx
      .selectFrom('username_history')
      .select('user_id')
      .where(sql`lower(username)`, '=', lower)
      .where('held_until', '>', new Date())
      .where('user_id', '<>', self ?? 0)
      .limit(1)
      .executeTakeFirst()
    if (held) throw new Conflict('That username is taken', 'username')
  }

  /** Makes an existing member an admin (for `npm run admin:create` on an existing name). */
  async promoteToAdmin(username: string): Promise<User | undefined> {
    return this.db
      .updateTable('users')
      .set({ role: 'admin' })
      .where(sql`lower(username)`, '=', username.toLowerCase())
      .returningAll()
      .executeTakeFirst()
  }

  private async assertAvailable(username: string, email: string): Promise<void> {
    const taken = await this.db
      .selectFrom('users')
      .select(['username', 'email'])
      .where((eb) =>
        eb.or([
          eb(eb.fn('lower', ['username']), '=', username.toLowerCase()),
          eb(eb.fn('lower', ['email']), '=', email.toLowerCase()),
        ]),
      )
      .execute()
    if (taken.some((u) => u.username.toLowerCase() === username.toLowerCase())) {
      throw new Conflict('That username is taken', 'username')
    }
    if (taken.length > 0) throw new Conflict('An account with that email already exists', 'email')
    await this.assertNameFree(this.db, username, null)
  }
}

function duplicateToConflict(err: unknown): unknown {
  const pgErr = err as { code?: string; constraint?: string }
  if (pgErr.code !== '23505') return err
  return pgErr.constraint === 'users_email_lower_key'
    ? new Conflict('An account with that email already exists', 'email')
    : new Conflict('That username is taken', 'username')
}
