import { hash, verify } from '@node-rs/argon2'

// argon2id (the library's default algorithm) with OWASP's recommended minimum cost.
const options = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

/** Hashes a password with argon2id. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, options)
}

/** Checks a password against an argon2 hash; false for a malformed hash too. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}

// Hash compared against when the account does not exist, so a login for an unknown
// name costs the same as one for a real name and does not reveal which exist.
let decoyHash: Promise<string> | undefined
/** Spends the time of one verification without a real account. */
export async function verifyDecoy(password: string): Promise<void> {
  decoyHash ??= hashPassword('decoy password never matched')
  await verifyPassword(await decoyHash, password)
}
