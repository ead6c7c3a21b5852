import { createHmac, timingSafeEqual } from 'node:crypto'

/** What a signed link is for; a token signed for one purpose never works for another. */
export type TokenPurpose = 'verify-email' | 'unsubscribe'

export interface TokenClaims {
  purpose: TokenPurpose
  userId: number
  /** Unix seconds. */
  expiresAt: number
  /** Purpose-specific detail: the address being verified, the mail kind to stop. */
  subject: string
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: 'invalid' | 'expired' }

/**
 * Signs and checks links that act without a log-in (verify an address, unsubscribe):
 * HMAC-SHA256 over purpose, member, subject and expiry, keyed from the instance secret.
 */
export class LinkSigner {
  private readonly key: Buffer

  constructor(instanceSecret: string) {
    // A key of its own, so a mail link can never double as a cookie signature.
    this.key = createHmac('sha256', instanceSecret).update('hearth:mail-links:v1').digest()
  }

  /** A URL-safe token carrying the claims and their signature. */
  sign(claims: TokenClaims): string {
    const body = Buffer.from(JSON.stringify([claims.purpose, claims.userId, claims.expiresAt, claims.subject])).toString('base64url')
    return `${body}.${this.mac(body)}`
  }

  /** Checks a token for one purpose: forged or malformed → invalid; past its expiry → expired. */
  verify(token: string, purpose: TokenPurpose, now = Date.now()): TokenCheck {
    const [body, mac, extra] = token.split('.')
    if (!body || !mac || extra !== undefined) return { ok: false, reason: 'invalid' }
    const expected = Buffer.from(this.mac(body))
    const given = Buffer.from(mac)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' }
    let parsed: unknown
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
    } catch {
      return { ok: false, reason: 'invalid' }
    }
    if (!Array.isArray(parsed) || parsed.length !== 4) return { ok: false, reason: 'invalid' }
    const [p, userId, expiresAt, subject] = parsed as [unknown, unknown, unknown, unknown]
    if (p !== purpose || !Number.isSafeInteger(userId) || !Number.isSafeInteger(expiresAt) || typeof subject !== 'string') {
      return { ok: false, reason: 'invalid' }
    }
    if ((expiresAt as number) * 1000 <= now) return { ok: false, reason: 'expired' }
    return { ok: true, claims: { purpose, userId: userId as number, expiresAt: expiresAt as number, subject } }
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url')
  }
}

/** Unix seconds `days` from now, for a token's expiry. */
export function expiresInDays(days: number, now = Date.now()): number {
  return Math.floor(now / 1000) + days * 24 * 60 * 60
}
