import { z } from 'zod'
import type { SettingsSection } from '../../core/settings-section.js'

const number = z.coerce.number({ error: 'Enter a number' })
const score = number.int('Enter a whole number').min(0, 'At least 0').max(101, 'At most 101 (101 turns the step off)')
const onOff = [
  { value: 'true', label: 'Yes' },
  { value: 'false', label: 'No' },
] as const
const bool = z.enum(['true', 'false'], { error: 'Choose yes or no' }).transform((v) => v === 'true')

/** Sign-up defences and the post risk policy, as a section of /admin (watched words and the blocked list are on /admin/spam). */
export const spamSettingsSection: SettingsSection = {
  id: 'spam',
  title: 'Spam and sign-ups',
  intro:
    'Every new post from a member who is not staff gets a risk score from 0 to 100 (account age, confirmed address, trust level, links and new domains, repeated text, posting speed, earlier flags). The policy below maps the score to what happens; 101 turns a step off. Watched words and the blocked list: /admin/spam.',
  submit: 'Save spam settings',
  fields: [
    { name: 'spam_flag_score', label: 'Score from which a post is published and flagged for a moderator' },
    { name: 'spam_hold_score', label: 'Score from which a post waits for approval' },
    { name: 'spam_reject_score', label: 'Score from which a post is refused' },
    { name: 'spam_hold_first_posts', label: 'Hold each member’s first posts for approval (how many; 0 for none)' },
    { name: 'spam_hold_category_slugs', label: 'Categories whose new posts all wait for approval', input: 'text', hint: 'Category slugs, separated by commas; empty for none.' },
    { name: 'spam_tl3_approves', label: 'Members of trust level 3 may approve held posts', options: onOff },
    {
      name: 'spam_signup_mode',
      label: 'Who can sign up',
      options: [
        { value: 'open', label: 'Anyone' },
        { value: 'approval', label: 'Anyone the staff approve (application)' },
        { value: 'invite', label: 'Only people with an invitation link' },
      ],
    },
    { name: 'spam_application_questions', label: 'Application questions', input: 'textarea', hint: 'One question per line (up to 10), asked when sign-ups are approved by the staff.' },
    {
      name: 'spam_invites_by',
      label: 'Who can create invitation links',
      options: [
        { value: 'staff', label: 'Staff only' },
        { value: 'members', label: 'Staff and members of trust level 2 and above' },
      ],
    },
    { name: 'spam_block_disposable_email', label: 'Refuse disposable email addresses', options: onOff },
    { name: 'spam_signup_min_seconds', label: 'Seconds a person needs at least to fill in the sign-up form' },
  ],
  form: z
    .object({
      spam_flag_score: score,
      spam_hold_score: score,
      spam_reject_score: score,
      spam_hold_first_posts: number.int('Enter a whole number').min(0, 'At least 0').max(50, 'At most 50'),
      spam_hold_category_slugs: z.string().trim().max(1_000, 'At most 1,000 characters').default(''),
      spam_tl3_approves: bool,
      spam_signup_mode: z.enum(['open', 'approval', 'invite'], { error: 'Choose who can sign up' }),
      spam_application_questions: z.string().trim().max(2_000, 'At most 2,000 characters').default(''),
      spam_invites_by: z.enum(['staff', 'members'], { error: 'Choose who can invite' }),
      spam_block_disposable_email: bool,
      spam_signup_min_seconds: number.int('Enter a whole number').min(0, 'At least 0').max(600, 'At most 600'),
    })
    .refine((v) => v.spam_flag_score <= v.spam_hold_score, { path: ['spam_hold_score'], message: 'Holding needs at least the score of flagging' })
    .refine((v) => v.spam_hold_score <= v.spam_reject_score, { path: ['spam_reject_score'], message: 'Refusing needs at least the score of holding' }),
}
