import { z } from 'zod'
import { pathText } from '../../core/http.js'
import { lf } from '../../core/newlines.js'

const RESERVED = new Set([
  'admin', 'administrator', 'moderator', 'mod', 'staff', 'system', 'hearth', 'api', 'static',
  'login', 'logout', 'signup', 'settings', 'search', 'ideas', 'beta', 'notifications', 'me', 'root',
])

// A short list of the passwords most often seen in breaches; longer ones pass the length rule anyway.
const COMMON_PASSWORDS = new Set([
  'password12', 'password123', 'password1234', '1234567890', '0123456789', '12345678910', 'qwertyuiop',
  'iloveyou12', 'letmein123', 'welcome123', 'abc1234567', 'passw0rd12', 'administrator', '1q2w3e4r5t',
  'qwerty1234', 'football12', 'baseball12', 'sunshine12', 'princess12', 'trustno1234',
])

export const username = z
  .string({ error: 'Choose a username' })
  .trim()
  .min(3, 'Usernames are at least 3 characters')
  .max(20, 'Usernames are at most 20 characters')
  .regex(/^[A-Za-z0-9_-]+$/, 'Use only letters, digits, _ and -')
  .regex(/^[A-Za-z0-9]/, 'Start with a letter or digit')
  .refine((v) => !RESERVED.has(v.toLowerCase()), 'That username is reserved')

export const email = z
  .string({ error: 'Enter your email address' })
  .trim()
  .max(254, 'Email addresses are at most 254 characters')
  .pipe(z.email('Enter a valid email address'))

export const password = z
  .string({ error: 'Choose a password' })
  .min(10, 'Passwords are at least 10 characters')
  .max(200, 'Passwords are at most 200 characters')
  .refine((v) => !COMMON_PASSWORDS.has(v.toLowerCase()), 'That password is too common; choose another')
  .refine((v) => new Set(v).size >= 5, 'That password is too simple; use more different characters')

export const SignupInput = z
  .object({ username, email, password })
  .refine((v) => !v.password.toLowerCase().includes(v.username.toLowerCase()), {
    path: ['password'],
    message: 'Your password must not contain your username',
  })
export type SignupInput = z.output<typeof SignupInput>

export const LoginInput = z.object({
  login: z.string({ error: 'Enter your username or email' }).trim().min(1, 'Enter your username or email').max(254),
  password: z.string({ error: 'Enter your password' }).min(1, 'Enter your password').max(200, 'Wrong username/email or password'),
})
export type LoginInput = z.output<typeof LoginInput>

/** The API accepts `username` or `email` as well as `login`. */
export const ApiLoginInput = z
  .object({
    login: z.string().optional(),
    username: z.string().optional(),
    email: z.string().optional(),
    password: z.unknown(),
  })
  .transform((v) => ({ login: v.login ?? v.username ?? v.email, password: v.password }))

export const ChangePasswordInput = z
  .object({
    currentPassword: z.string({ error: 'Enter your current password' }).min(1, 'Enter your current password').max(200),
    newPassword: password,
  })
  .refine((v) => v.currentPassword !== v.newPassword, {
    path: ['newPassword'],
    message: 'Choose a password different from the current one',
  })

export const ProfileInput = z.object({
  displayName: z.string().trim().max(50, 'Display names are at most 50 characters').default(''),
  bio: z.string().overwrite(lf).trim().max(1000, 'Keep your bio under 1,000 characters').default(''),
  digestFrequency: z.enum(['daily', 'weekly', 'monthly', 'never'], { error: 'Choose how often to get a digest' }).default('weekly'),
})

export const TokenInput = z.object({
  name: z.string({ error: 'Name the token' }).trim().min(1, 'Name the token').max(60, 'Token names are at most 60 characters'),
})

/** The public view of a user in API answers. */
export function publicUser(u: {
  id: number
  username: string
  display_name: string | null
  role: string
  trust_level: number
  created_at: Date
}) {
  return {
    id: u.id,
    username: u.username,
    displayName: u.display_name,
    role: u.role,
    trustLevel: u.trust_level,
    createdAt: u.created_at.toISOString(),
  }
}

/** Where to go after signing up or logging in (checked by safeNext). */
export const NextQuery = z.object({ next: z.string().max(2000).optional() })
/** The sign-up page: where to go after, and the invitation it came with. */
export const SignupQuery = NextQuery.extend({ invite: z.string().max(64).optional() })
/** The /settings page's "saved" notice. */
export const SettingsQuery = z.object({ saved: z.string().max(40).optional() })
export const ProfileParams = z.object({ username: pathText(40) })
export const ProfileQuery = z.object({ welcome: z.string().max(1).optional(), spammer: z.string().max(10).optional() })
export const TokenParams = z.object({ id: pathText(100) })

/** "Forgot your password?": the address to send a reset link to. */
export const ResetRequestInput = z.object({ email })

/** A reset link's token as it appears in the URL: URL-safe characters, bounded (anything else is simply not valid). */
export const resetToken = z.string({ error: 'This link is not valid' }).trim().min(1, 'This link is not valid').max(200, 'This link is not valid')

/**
 * A new password from a reset link. The page asks twice (`confirm`); the API sends it once.
 */
export const ResetConfirmInput = z
  .object({ token: resetToken, password, confirm: z.string().max(200).optional() })
  .refine((v) => v.confirm === undefined || v.confirm === v.password, { path: ['confirm'], message: 'The two passwords differ' })
export type ResetConfirmInput = z.output<typeof ResetConfirmInput>

export const ResetTokenParams = z.object({ token: pathText(200) })
