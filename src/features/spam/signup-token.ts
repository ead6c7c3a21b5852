import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The sign-up form's timing token: when the form was shown, signed with the instance secret,
 * so the server keeps no state and a bot cannot forge an older time. A form submitted sooner
 * than the owner's minimum was not filled in by a person.
 */
export class SignupTimer {
  private readonly key: Buffer

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('hearth:signup-timer:v1').digest()
  }

  /** A token for a form shown now. */
  issue(now = Date.now()): string {
    const t = Math.floor(now / 1000).toString(36)
    return `${t}.${this.mac(t)}`
  }

  /** How many seconds ago the form was shown, or null for a missing or forged token. */
  age(token: unknown, now = Date.now()): number | null {
    if (typeof token !== 'string' || token.length > 100) return null
    const [t, mac, extra] = token.split('.')
    if (!t || !mac || extra !== undefined || !/^[0-9a-z]{1,10}$/.test(t)) return null
    const expected = Buffer.from(this.mac(t))
    const given = Buffer.from(mac)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
    return now / 1000 - parseInt(t, 36)
  }

  private mac(t: string): string {
    return createHmac('sha256', this.key).update(t).digest('base64url').slice(0, 22)
  }
}
