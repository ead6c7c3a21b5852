import type { FastifyReply } from 'fastify'
import type { Config } from '../../config.js'

/** The session cookie's name (the token inside follows Lucia's `<id>.<secret>` design). */
export const SESSION_COOKIE = 'hearth_session'

/** Sets the session cookie: httpOnly, SameSite=Lax, Secure under https. */
export function setSessionCookie(reply: FastifyReply, config: Pick<Config, 'cookieSecure'>, token: string, expires: Date): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: config.cookieSecure,
    expires,
  })
}

/** Clears the session cookie. */
export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/' })
}
