import { sql } from 'kysely'
import { RESET_LINK_MINUTES } from '../accounts/service.js'
import { stableMessageId } from '../../core/mail.js'
import { renderMarkdown } from '../../core/markdown.js'
import type { JobContext, JobDefinition } from '../../worker-runtime.js'
import { MAILABLE_KINDS } from './schemas.js'
import { deliverOnce, VERIFY_DAYS } from './service.js'

// A member seen this recently is treated as online: they will see notifications in the app.
const ONLINE_MS = 10 * 60 * 1000
const BATCH_LIMIT = 50

async function mailableUser(ctx: JobContext, userId: number) {
  const user = await ctx.db
    .selectFrom('users')
    .select(['id', 'username', 'display_name', 'email', 'email_verified_at', 'email_suppressed_at', 'suspended_until', 'last_seen_at', 'mail_off_kinds'])
    .where('id', '=', userId)
    .executeTakeFirst()
  return user && !user.email_suppressed_at ? user : null
}

/** The welcome mail on sign-up: the community's guidelines and the address verification link. */
export const welcomeMail: JobDefinition<'mail.welcome'> = {
  name: 'mail.welcome',
  async handle({ userId }, ctx) {
    const user = await mailableUser(ctx, userId)
    if (!user) return { result: 'not-mailable' }
    const settings = await ctx.services.settings.all()
    const links = ctx.services.email.mailLinks
    const result = await deliverOnce(ctx.db, ctx.mailer, {
      user,
      kind: 'welcome',
      periodKey: 'signup',
      messageId: stableMessageId(ctx.config, 'welcome', user.id),
      build: async () => ({
        to: user.email,
        subject: `Welcome to ${ctx.config.communityName}`,
        template: 'welcome',
        data: {
          subject: `Welcome to ${ctx.config.communityName}`,
          name: user.display_name ?? user.username,
          verifyUrl: user.email_verified_at ? null : links.verifyUrl(user),
          verifyDays: VERIFY_DAYS,
          verificationRequired: settings.require_verified_email_to_post,
          guidelines: settings.guidelines,
          guidelinesHtml: renderMarkdown(settings.guidelines).html,
        },
        unsubscribeUrl: links.unsubscribeUrl(user.id, 'all'),
      }),
    })
    return { result }
  },
}

/** A verification link for the member's current address (after a change, or on request). */
export const verifyMail: JobDefinition<'mail.verify'> = {
  name: 'mail.verify',
  async handle({ userId, nonce }, ctx) {
    const user = await mailableUser(ctx, userId)
    if (!user || user.email_verified_at) return { result: 'not-needed' }
    const links = ctx.services.email.mailLinks
    const result = await deliverOnce(ctx.db, ctx.mailer, {
      user,
      kind: 'verify',
      periodKey: nonce,
      messageId: stableMessageId(ctx.config, 'verify', user.id, nonce),
      build: async () => ({
        to: user.email,
        subject: `Confirm your email address for ${ctx.config.communityName}`,
        template: 'verify',
        data: {
          subject: 'Confirm your email address',
          name: user.display_name ?? user.username,
          email: user.email,
          verifyUrl: links.verifyUrl(user),
          verifyDays: VERIFY_DAYS,
        },
        unsubscribeUrl: links.unsubscribeUrl(user.id, 'all'),
      }),
    })
    return { result }
  },
}

/**
 * A password-reset link, for whoever has this address. An unknown or suppressed address
 * gets nothing (and the request that caused this answered the same either way). The link
 * is created inside the delivery transaction, so it exists exactly when the mail went out.
 */
export const passwordResetMail: JobDefinition<'mail.password_reset'> = {
  name: 'mail.password_reset',
  async handle({ email, nonce }, ctx) {
    const found = await ctx.db.selectFrom('users').select('id').where(sql`lower(email)`, '=', email.toLowerCase()).executeTakeFirst()
    const user = found ? await mailableUser(ctx, found.id) : null
    if (!user) return { result: 'no-account' }
    const result = await deliverOnce(ctx.db, ctx.mailer, {
      user,
      kind: 'password_reset',
      periodKey: nonce,
      messageId: stableMessageId(ctx.config, 'password_reset', user.id, nonce),
      build: async (trx) => {
        const token = await ctx.services.accounts.issueResetToken(user.id, trx)
        return {
          to: user.email,
          subject: `Reset your password on ${ctx.config.communityName}`,
          template: 'password-reset',
          data: {
            subject: 'Reset your password',
            name: user.display_name ?? user.username,
            username: user.username,
            resetUrl: `${ctx.config.baseUrl}/password-reset/${token}`,
            minutes: RESET_LINK_MINUTES,
          },
          unsubscribeUrl: ctx.services.email.mailLinks.unsubscribeUrl(user.id, 'all'),
        }
      },
    })
    return { result }
  },
}

/**
 * One mail for a member's unread, not yet mailed notifications of the kinds they want,
 * unless they are online (then it looks again later: they may read them in the app).
 */
export const notificationMail: JobDefinition<'mail.notifications'> = {
  name: 'mail.notifications',
  async handle({ userId }, ctx) {
    const user = await mailableUser(ctx, userId)
    if (!user || !user.email_verified_at || (user.suspended_until && user.suspended_until > new Date())) return { result: 'not-mailable' }
    const kinds = MAILABLE_KINDS.filter((k) => !user.mail_off_kinds.includes(k))
    if (kinds.length === 0) return { result: 'switched-off' }
    const pending = (trx = ctx.db) =>
      trx
        .selectFrom('notifications')
        .select(['id', 'url', 'payload'])
        .where('user_id', '=', userId)
        .where('emailed_at', 'is', null)
        .where('read_at', 'is', null)
        .where('kind', 'in', kinds)
        .where('created_at', '>', new Date(Date.now() - 2 * 24 * 60 * 60 * 1000))
        .orderBy('id')
        .limit(BATCH_LIMIT)
    const first = await pending().execute()
    if (first.length === 0) return { result: 'nothing-new' }
    if (user.last_seen_at && Date.now() - user.last_seen_at.getTime() < ONLINE_MS) {
      const bucket = Math.floor(Date.now() / ONLINE_MS)
      await ctx.queue.enqueue('mail.notifications', { userId }, { delay: ONLINE_MS, jobId: `notify-later-${userId}-${bucket}` })
      return { result: 'online' }
    }
    const lastId = first[first.length - 1]!.id
    const links = ctx.services.email.mailLinks
    let ids: number[] = []
    const result = await deliverOnce(ctx.db, ctx.mailer, {
      user,
      kind: 'notifications',
      periodKey: `n${lastId}`,
      messageId: stableMessageId(ctx.config, 'notifications', user.id, lastId),
      build: async (trx) => {
        const rows = await pending(trx).where('id', '<=', lastId).forUpdate().skipLocked().execute()
        if (rows.length === 0) return null
        ids = rows.map((r) => r.id)
        const count = rows.length
        return {
          to: user.email,
          subject: count === 1 ? String(rows[0]!.payload.text ?? 'A new notification').replace(/\s+/g, ' ').slice(0, 150) : `${count} new notifications on ${ctx.config.communityName}`,
          template: 'notifications',
          data: {
            subject: `${count} new notification${count === 1 ? '' : 's'}`,
            name: user.display_name ?? user.username,
            items: rows.map((r) => ({ text: String(r.payload.text ?? ''), url: `${ctx.config.baseUrl}/notifications/${r.id}` })),
          },
          unsubscribeUrl: links.unsubscribeUrl(user.id, 'notifications'),
        }
      },
      markSent: async (trx) => {
        await trx.updateTable('notifications').set({ emailed_at: new Date() }).where('id', 'in', ids).execute()
      },
      unmarkSent: async (db) => {
        await db.updateTable('notifications').set({ emailed_at: null }).where('id', 'in', ids).execute()
      },
    })
    return { result, notifications: ids.length }
  },
}

export const emailJobs: JobDefinition[] = [welcomeMail as JobDefinition, verifyMail as JobDefinition, passwordResetMail as JobDefinition, notificationMail as JobDefinition]
