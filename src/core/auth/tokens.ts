import { constantTimeEqual } from '@oslojs/crypto/subtle'
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding'
import { hash, randomBytes } from 'node:crypto'

/**
 * Secrets in Lucia's session design: `<id>.<secret>`, where only SHA-256(secret) is
 * stored and compared in constant time, so a leaked database holds no usable token.
 */
export interface IssuedSecret {
  id: string
  token: string
  secretHash: Buffer
}

function randomString(bytes: number): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(bytes))
}

/** Creates a new `<id>.<secret>` token (120 bits of id, 160 of secret). */
export function issueSecret(prefix = ''): IssuedSecret {
  const id = randomString(15)
  const secret = randomString(20)
  return { id, token: `${prefix}${id}.${secret}`, secretHash: hashSecret(secret) }
}

/** SHA-256 of a secret, as stored (Node's one-shot native hash: every member's request computes one). */
export function hashSecret(secret: string): Buffer {
  return hash('sha256', secret, 'buffer')
}

/** Splits a token into id and secret, or null when it is not of the right shape. */
export function splitToken(token: string, prefix = ''): { id: string; secret: string } | null {
  if (!token.startsWith(prefix)) return null
  const parts = token.slice(prefix.length).split('.')
  if (parts.length !== 2) return null
  const [id, secret] = parts as [string, string]
  if (!/^[a-z2-7]{24}$/.test(id) || !/^[a-z2-7]{32}$/.test(secret)) return null
  return { id, secret }
}

/** Constant-time check of a presented secret against the stored hash. */
export function secretMatches(secret: string, storedHash: Uint8Array): boolean {
  return hashMatches(hashSecret(secret), storedHash)
}

/** Constant-time check of a presented secret's hash (computed once, see sessionRef) against the stored one. */
export function hashMatches(presentedHash: Uint8Array, storedHash: Uint8Array): boolean {
  return constantTimeEqual(presentedHash, storedHash)
}
