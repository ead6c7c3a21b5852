import { Signer } from '@fastify/cookie'

type UnsignResult = ReturnType<Signer['unsign']>

/**
 * The cookie signer (@fastify/cookie's HMAC signer) with its valid answers remembered: a
 * member's every page reads the signed CSRF cookie again, and checking its HMAC was a
 * noticeable part of the page's CPU. Unsigning is a pure function of the cookie's text, so a
 * remembered answer is the one the signer would give; only valid ones are kept (a client
 * sending random cookies gets no memory of its own), at most `max` of them, oldest out first.
 */
export function cachingSigner(secret: string | Buffer, max = 10_000) {
  const signer = new Signer(secret, 'sha256')
  const valid = new Map<string, UnsignResult>()
  return {
    sign: (value: string) => signer.sign(value),
    unsign(input: string): UnsignResult {
      const known = valid.get(input)
      if (known) return known
      const result = signer.unsign(input)
      if (result.valid) {
        if (valid.size >= max) valid.delete(valid.keys().next().value as string)
        valid.set(input, result)
      }
      return result
    },
  }
}
