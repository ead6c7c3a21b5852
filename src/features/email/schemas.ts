import { z } from 'zod'
import { email } from '../accounts/schemas.js'

/** Notification kinds that can come by mail, grouped as members switch them. */
export const MAIL_KIND_GROUPS = [
  { key: 'reply', label: 'Replies to my posts', kinds: ['reply'] },
  { key: 'mention', label: 'Mentions of me', kinds: ['mention'] },
  { key: 'posted', label: 'New posts in threads and categories I watch', kinds: ['posted'] },
  { key: 'like', label: 'Likes on my posts', kinds: ['like'] },
  { key: 'idea.status', label: 'Status changes of ideas I voted on or follow', kinds: ['idea.status'] },
  { key: 'beta', label: 'Beta programs: accepted, or off the waitlist', kinds: ['beta.accepted', 'beta.promoted'] },
  { key: 'account', label: 'My account: a data export is ready, a deletion is scheduled', kinds: ['account.export_ready', 'account.deletion_scheduled'] },
  { key: 'community', label: 'Messages and invitations from the staff', kinds: ['community.message', 'beta.invited', 'survey.invited'] },
  { key: 'moderation', label: 'Moderation: my posts hidden by flags, my flags decided, moderator roles', kinds: ['flag.hidden', 'flag.resolved', 'moderator.promoted', 'moderator.appointed', 'moderator.demoted', 'moderator.invited', 'post.approved', 'post.rejected'] },
  { key: 'account', label: 'My application to join: approved or not', kinds: ['account.approved', 'account.rejected'] },
  { key: 'events', label: 'Events: reminders, off the waitlist, moved or cancelled, how was it', kinds: ['event.reminder', 'event.promoted', 'event.changed', 'event.cancelled', 'event.recap'] },
] as const

/** Every notification kind that is ever mailed. */
export const MAILABLE_KINDS: string[] = MAIL_KIND_GROUPS.flatMap((g) => [...g.kinds])

/** What an unsubscribe link stops: the digest, notification mail, or every mail. */
export const UnsubscribeScope = z.enum(['digest', 'notifications', 'all'])
export type UnsubscribeScope = z.output<typeof UnsubscribeScope>

export const ChangeEmailInput = z.object({
  email,
  password: z.string({ error: 'Enter your password' }).min(1, 'Enter your password').max(200, 'Your password is not right'),
})

/** The settings form sends one checkbox per group, present when it is on. */
export const MailPreferencesInput = z.record(z.string(), z.unknown()).transform((form) =>
  MAIL_KIND_GROUPS.filter((g) => !form[`mail_${g.key}`]).flatMap((g) => [...g.kinds]),
)

/** A token in a mail link: URL-safe characters only, bounded. */
export const LinkToken = z.object({ token: z.string().max(600).regex(/^[A-Za-z0-9_.-]+$/) })

/** The /settings view of a member's mail state. */
export function mailSettings(user: {
  email: string
  email_verified_at: Date | null
  email_suppressed_at: Date | null
  email_suppressed_reason: string | null
  mail_off_kinds: string[]
}) {
  return {
    email: user.email,
    verified: user.email_verified_at !== null,
    verifiedAt: user.email_verified_at,
    suppressedAt: user.email_suppressed_at,
    suppressedReason: user.email_suppressed_reason,
    kinds: MAIL_KIND_GROUPS.map((g) => ({ key: g.key, label: g.label, on: !g.kinds.some((k) => user.mail_off_kinds.includes(k)) })),
  }
}
