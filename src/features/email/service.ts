import { createHash, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { Config } from '../../config.js'
import type { SessionUser } from '../../core/auth/sessions.js'
import { verifyPassword } from '../../core/auth/passwords.js'
import type { Db, DbOrTrx, Trx } from '../../core/db.js'
import type { User } from '../../core/db-types.js'
import { Conflict, Invalid, parse } from '../../core/errors.js'
import { type MailMessage, type Mailer, PermanentMailFailure } from '../../core/mail.js'
import type { EventConsumer, Outbox } from '../../core/outbox.js'
import type { JobQueue } from '../../core/queue.js'
import { expiresInDays, type LinkSigner, type TokenPurpose } from '../../core/signed-tokens.js'
import { ChangeEmailInput, MAILABLE_KINDS, MailPreferencesInput, UnsubscribeScope } from './schemas.js'

export const VERIFY_DAYS = 3
const UNSUBSCRIBE_DAYS = 90

/** Signed links in mail: verify an address, unsubscribe in one click. Shared by web and worker. */
export class MailLinks {
  constructor(
    private readonly links: LinkSigner,
    private readonly baseUrl: string,
  ) {}

  /** A link that confirms this address for this member, valid for a few days. */
  verifyUrl(user: Pick<User, 'id' | 'email'>): string {
    return `${this.baseUrl}/email/verify?token=${this.sign('verify-email', user.id, addressHash(user.email), VERIFY_DAYS)}`
  }

  /** A one-click unsubscribe link (also the RFC 8058 List-Unsubscribe target). */
  unsubscribeUrl(userId: number, scope: UnsubscribeScope): string {
    return `${this.baseUrl}/email/unsubscribe?token=${this.sign('unsubscribe', userId, scope, UNSUBSCRIBE_DAYS)}`
  }

  private sign(purpose: TokenPurpose, userId: number, subject: string, days: number): string {
    return this.links.sign({ purpose, userId, subject, expiresAt: expiresInDays(days) })
  }
}

/** A short digest of an address: a verification link names the address without showing it. */
function addressHash(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('base64url').slice(0, 22)
}

export type LinkOutcome<T> = { ok: true; value: T } | { ok: false; message: string }

const BAD_LINK = 'This link is not valid. It may have been copied incompletely. Nothing was changed.'
const EXPIRED_LINK = 'This link has expired. Nothing was changed.'

/**
 * Mail-related rules on the web side: verifying addresses, unsubscribing, changing the
 * address, mail preferences; and queueing the mail jobs that follow domain events.
 */
export class EmailService {
  readonly mailLinks: MailLinks

  constructor(
    private readonly db: Db,
    private readonly links: LinkSigner,
    private readonly config: Config,
    private readonly queue: JobQueue | null,
    private readonly outbox: Outbox,
  ) {
    this.mailLinks = new MailLinks(links, config.baseUrl)
  }

  /**
   * The outbox consumer that queues mail following domain events: a welcome mail on
   * sign-up, a verification mail on request, and one batched notification mail per member,
   * delayed so several events within a few minutes share it. Idempotent: each job has an id
   * (or a deduplication key) derived from the event, so a repeated delivery queues nothing new.
   */
  consumer(): EventConsumer {
    return {
      name: 'mail',
      handle: async (event) => {
        const queue = this.queue
        if (!queue) return
        if (event.type === 'user.signed_up') {
          const { userId } = event.data
          await queue.enqueue('mail.welcome', { userId }, { jobId: `welcome-${userId}` })
        } else if (event.type === 'email.verification_requested') {
          const { userId, nonce } = event.data
          await queue.enqueue('mail.verify', { userId, nonce }, { jobId: `verify-${nonce}` })
        } else if (event.type === 'password.reset_requested') {
          const { email, nonce } = event.data
          await queue.enqueue('mail.password_reset', { email, nonce }, { jobId: `reset-${nonce}` })
        } else if (
          (event.type === 'notification.created' || (event.type === 'notification.updated' && event.data.kind !== 'like')) &&
          MAILABLE_KINDS.includes(event.data.kind)
        ) {
          await this.queueNotificationMail(event.data.userId)
        }
      },
    }
  }

  /** Queues a member's notification mail after the batching delay, once however many events arrive. */
  async queueNotificationMail(userId: number, delaySeconds = this.config.notificationMailDelaySeconds): Promise<void> {
    await this.queue?.enqueue(
      'mail.notifications',
      { userId },
      { delay: delaySeconds * 1000, deduplication: { id: `notify-${userId}`, keepLastIfActive: true } },
    )
  }

  /** Confirms an address from a signed link; a forged, expired or used link changes nothing. */
  async confirmEmail(token: string): Promise<LinkOutcome<{ email: string }>> {
    const check = this.links.verify(token, 'verify-email')
    if (!check.ok) return { ok: false, message: check.reason === 'expired' ? EXPIRED_LINK : BAD_LINK }
    const { userId, subject } = check.claims
    const user = await this.db.selectFrom('users').select(['email', 'email_verified_at']).where('id', '=', userId).executeTakeFirst()
    if (!user) return { ok: false, message: BAD_LINK }
    if (addressHash(user.email) !== subject) {
      return { ok: false, message: 'This link is for an address that is no longer on the account. Nothing was changed.' }
    }
    const updated = await this.db
      .updateTable('users')
      .set({ email_verified_at: sql<Date>`now()` as unknown as Date })
      .where('id', '=', userId)
      .where('email', '=', user.email)
      .where('email_verified_at', 'is', null)
      .returning('email')
      .executeTakeFirst()
    if (updated) return { ok: true, value: { email: updated.email } }
    return { ok: false, message: 'This link has already been used: your address is confirmed. Nothing was changed.' }
  }

  /** Reads an unsubscribe link without acting on it (mail scanners open links; only a POST acts). */
  readUnsubscribe(token: string): LinkOutcome<{ scope: UnsubscribeScope; userId: number }> {
    const check = this.links.verify(token, 'unsubscribe')
    if (!check.ok) return { ok: false, message: check.reason === 'expired' ? EXPIRED_LINK : BAD_LINK }
    const scope = UnsubscribeScope.safeParse(check.claims.subject)
    if (!scope.success) return { ok: false, message: BAD_LINK }
    return { ok: true, value: { scope: scope.data, userId: check.claims.userId } }
  }

  /** Unsubscribes from a signed link, without a log-in; doing it twice is harmless. */
  async unsubscribe(token: string): Promise<LinkOutcome<{ scope: UnsubscribeScope; userId: number }>> {
    const read = this.readUnsubscribe(token)
    if (!read.ok) return read
    const { scope, userId } = read.value
    const stopDigest = scope === 'digest' || scope === 'all'
    const stopNotifications = scope === 'notifications' || scope === 'all'
    const changed = await this.db
      .updateTable('users')
      .set((eb) => ({
        ...(stopDigest ? { digest_frequency: 'never' as const } : {}),
        ...(stopNotifications
          ? { mail_off_kinds: sql<string[]>`(select array(select distinct unnest(${eb.ref('mail_off_kinds')} || ${sql.val(MAILABLE_KINDS)}::text[]) order by 1))` }
          : {}),
      }))
      .where('id', '=', userId)
      .executeTakeFirst()
    if (Number(changed.numUpdatedRows) === 0) return { ok: false, message: 'This link belongs to an account that no longer exists. Nothing was changed.' }
    return read
  }

  /** Changes the address after checking the password; the new one must be verified again. */
  async changeEmail(user: SessionUser, raw: unknown): Promise<void> {
    const input = parse(ChangeEmailInput, raw)
    const row = await this.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow()
    if (!(await verifyPassword(row.password_hash, input.password))) throw Invalid.field('password', 'Your password is not right')
    if (input.email.toLowerCase() === user.email.toLowerCase()) throw Invalid.field('email', 'That is already your address')
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('users')
          .set({ email: input.email, email_verified_at: null, email_suppressed_at: null, email_suppressed_reason: null })
          .where('id', '=', user.id)
          .execute()
        await this.requestVerification(user.id, trx)
      })
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new Conflict('An account with that email already exists', 'email')
      throw err
    }
  }

  /**
   * Asks for a fresh verification mail (the route rate-limits how often) through the
   * outbox, so a Redis outage delays it instead of losing it; false when background jobs are off.
   */
  async requestVerification(userId: number, trx: DbOrTrx = this.db): Promise<boolean> {
    if (!this.queue) return false
    await this.outbox.emit(trx, 'email.verification_requested', { userId, nonce: randomUUID() })
    return true
  }

  /** Saves which notification kinds a member wants by mail. */
  async updateMailPreferences(user: SessionUser, raw: unknown): Promise<void> {
    const off = parse(MailPreferencesInput, raw)
    await this.db.updateTable('users').set({ mail_off_kinds: off }).where('id', '=', user.id).execute()
  }
}

export type DeliveryResult = 'sent' | 'duplicate' | 'empty' | 'rejected' | 'mail-off'

/**
 * Sends one logical mail at most once, outbox-style. In one transaction the email_log row
 * for (member, kind, period) is inserted (a concurrent sender of the same period waits on
 * the unique key, then skips) along with whatever the mail covers; the mail goes out, and
 * the transaction commits after the relay accepted the recipient and the whole message
 * but before the final "." that makes it deliver. So a worker that dies before the commit
 * leaves no row and no mail (the retry sends it), and one that dies after leaves a row and
 * a mail that is, or is about to be, delivered (the retry skips). A refusal after the
 * commit removes the row again so the retry can send. A permanent refusal of the address
 * suppresses it and completes; a temporary failure throws so BullMQ retries with backoff.
 */
export async function deliverOnce(
  db: Db,
  mailer: Mailer | null,
  mail: {
    user: Pick<User, 'id'>
    kind: string
    periodKey: string
    /** The mail's Message-ID, the same on every attempt. */
    messageId: string
    /** Builds the mail inside the transaction; null records the period as empty. */
    build(trx: Trx): Promise<MailMessage | null>
    /** Records what the mail covers, in the same transaction. */
    markSent?(trx: Trx): Promise<void>
    /** Undoes `markSent` when the relay refuses the mail after the commit. */
    unmarkSent?(db: Db): Promise<void>
  },
): Promise<DeliveryResult> {
  if (!mailer) return 'mail-off'
  const trx = await db.startTransaction().execute()
  let committed = false
  const commit = async () => {
    await trx.commit().execute()
    committed = true
  }
  try {
    const claimed = await trx
      .insertInto('email_log')
      .values({ user_id: mail.user.id, kind: mail.kind, period_key: mail.periodKey, status: 'sent', message_id: mail.messageId })
      .onConflict((oc) => oc.constraint('email_log_user_kind_period_key').doNothing())
      .returning('id')
      .executeTakeFirst()
    if (!claimed) {
      await commit()
      return 'duplicate'
    }
    const message = await mail.build(trx)
    if (!message) {
      await trx.updateTable('email_log').set({ status: 'empty' }).where('id', '=', claimed.id).execute()
      await commit()
      return 'empty'
    }
    await mail.markSent?.(trx)
    try {
      await mailer.send({ ...message, messageId: mail.messageId }, commit)
      return 'sent'
    } catch (err) {
      if (committed) {
        await db.deleteFrom('email_log').where('id', '=', claimed.id).execute()
        await mail.unmarkSent?.(db)
        throw err
      }
      if (!(err instanceof PermanentMailFailure)) throw err
      await trx.updateTable('email_log').set({ status: 'rejected' }).where('id', '=', claimed.id).execute()
      await suppress(trx, mail.user.id, `${err.responseCode} ${err.message}`.slice(0, 300))
      await commit()
      return 'rejected'
    }
  } finally {
    if (!committed) await trx.rollback().execute().catch(() => {})
  }
}

/** Marks a member's address as permanently refused; nothing is mailed to it until it changes. */
export async function suppress(trx: DbOrTrx, userId: number, reason: string): Promise<void> {
  await trx
    .updateTable('users')
    .set({ email_suppressed_at: sql<Date>`now()` as unknown as Date, email_suppressed_reason: reason })
    .where('id', '=', userId)
    .execute()
}
