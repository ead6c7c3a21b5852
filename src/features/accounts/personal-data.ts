import fs from 'node:fs/promises'
import { sql } from 'kysely'
import { deletedUsername, leavingMember, plain, type PersonalDataContributor } from './personal-data-registry.js'
import { exportFilePath } from './exports.js'

/** The account itself: profile, sessions (without secrets), API tokens (names only), former names, exports. */
export const accountPersonalData: PersonalDataContributor = {
  name: 'accounts',

  async exportFor(userId, trx) {
    const [user, sessions, tokens, names, exports, resets] = await Promise.all([
      trx
        .selectFrom('users')
        .select([
          'id', 'username', 'email', 'display_name', 'bio', 'role', 'trust_level', 'digest_frequency', 'mail_off_kinds',
          'email_verified_at', 'email_suppressed_at', 'email_suppressed_reason', 'suspended_until', 'silenced_until',
          'created_at', 'last_seen_at', 'username_changed_at', 'deletion_requested_at', 'deletion_due_at', 'deletion_mode',
        ])
        .where('id', '=', userId)
        .executeTakeFirstOrThrow(),
      trx.selectFrom('sessions').select(['user_agent', 'ip', 'created_at', 'last_seen_at', 'expires_at']).where('user_id', '=', userId).orderBy('created_at').execute(),
      trx.selectFrom('api_tokens').select(['name', 'created_at', 'last_used_at']).where('user_id', '=', userId).orderBy('created_at').execute(),
      trx.selectFrom('username_history').select(['username', 'created_at as changed_at']).where('user_id', '=', userId).orderBy('created_at').execute(),
      trx.selectFrom('data_exports').select(['status', 'created_at', 'ready_at', 'expires_at']).where('user_id', '=', userId).orderBy('created_at').execute(),
      trx.selectFrom('password_resets').select(['created_at', 'expires_at', 'used_at']).where('user_id', '=', userId).orderBy('created_at').execute(),
    ])
    return [
      { key: 'profile', title: 'Your account and profile', items: [plain(user)] },
      { key: 'sessions', title: 'Where you are logged in (without the secrets)', items: sessions.map(plain) },
      { key: 'api_tokens', title: 'Your API tokens (names only)', items: tokens.map(plain) },
      { key: 'former_usernames', title: 'Usernames you used before', items: names.map(plain) },
      { key: 'data_exports', title: 'Data exports you asked for', items: exports.map(plain) },
      { key: 'password_resets', title: 'Password-reset links issued', items: resets.map(plain) },
    ]
  },

  async eraseFor(userId, _mode, trx, { services }) {
    await services.sessions.invalidateAllFor(userId, undefined, trx)
    await services.sessions.revokeAllApiTokens(userId, trx)
    await trx.deleteFrom('password_resets').where('user_id', '=', userId).execute()
    await trx.deleteFrom('username_history').where('user_id', '=', userId).execute()
    const exports = await trx.deleteFrom('data_exports').where('user_id', '=', userId).returning('id').execute()
    for (const e of exports) await fs.rm(exportFilePath(services.config, e.id), { force: true })
    const name = deletedUsername(userId)
    await trx
      .updateTable('users')
      .set({
        username: name,
        email: `${name}@deleted.invalid`,
        // Not a hash any password can match: nobody logs in to this account again.
        password_hash: '!deleted',
        display_name: 'Deleted member',
        bio: '',
        role: 'member',
        trust_level: 0,
        trust_locked: false,
        role_locked: false,
        digest_frequency: 'never',
        email_verified_at: null,
        suspended_until: null,
        silenced_until: null,
        last_seen_at: null,
        mail_off_kinds: [],
        email_suppressed_at: null,
        email_suppressed_reason: null,
        tl3_short_since: null,
        username_changed_at: null,
        deletion_requested_at: null,
        deletion_due_at: null,
        deletion_mode: null,
        deleted_at: sql<Date>`now()` as unknown as Date,
      })
      .where('id', '=', userId)
      .execute()
  },
}

/**
 * Events in the outbox that carry the member's name or address (a notification's text, a
 * password-reset request). Delivered ones are done with and go; undelivered ones are still
 * delivered, with the name replaced.
 */
export const outboxPersonalData: PersonalDataContributor = {
  name: 'outbox',

  async exportFor() {
    return []
  },

  async eraseFor(userId, _mode, trx) {
    const { names, email } = await leavingMember(trx, userId)
    const words = [...names, email.toLowerCase()].map((w) => w.replace(/[.+*?^$()[\]{}|\\]/g, '\\$&'))
    const pattern = `\\m(${words.join('|')})\\M`
    await sql`delete from outbox where delivered_at is not null and payload::text ~* ${pattern}`.execute(trx)
    await sql`update outbox set payload = regexp_replace(payload::text, ${pattern}, 'a deleted member', 'gi')::jsonb where payload::text ~* ${pattern}`.execute(trx)
  },
}
