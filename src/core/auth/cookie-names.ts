/** The session cookie's name (the token inside follows Lucia's `<id>.<secret>` design). */
export const SESSION_COOKIE = 'hearth_session'
