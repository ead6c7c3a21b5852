import { Signer } from '@fastify/cookie'
import t from 'tap'
import { cachingSigner } from '../../src/core/auth/signer.js'

t.test('the caching signer answers as the cookie signer does, however many it has remembered', async (t) => {
  const secret = 'a'.repeat(64)
  const plain = new Signer(secret, 'sha256')
  const signer = cachingSigner(secret, 3)
  const signed = signer.sign('csrf-secret')
  t.equal(signed, plain.sign('csrf-secret'), 'signs alike')
  for (let i = 0; i < 2; i++) t.same(signer.unsign(signed), plain.unsign(signed), `a valid cookie, read ${i === 0 ? 'first' : 'again'}`)
  t.same(signer.unsign(signed), { valid: true, renew: false, value: 'csrf-secret' })
  const tampered = `${signed.slice(0, -1)}${signed.endsWith('A') ? 'B' : 'A'}`
  t.same(signer.unsign(tampered), { valid: false, renew: false, value: null }, 'a tampered one is refused')
  t.same(signer.unsign('no-signature'), { valid: false, renew: false, value: null }, 'an unsigned one too')
  t.same(cachingSigner('b'.repeat(64)).unsign(signed), { valid: false, renew: false, value: null }, 'and one signed with another secret')
  // More valid cookies than it remembers: each still answers right.
  const many = Array.from({ length: 10 }, (_, i) => signer.sign(`v${i}`))
  for (const each of many) signer.unsign(each)
  for (const [i, each] of many.entries()) t.equal(signer.unsign(each).value, `v${i}`)
  t.equal(signer.unsign(tampered).valid, false, 'a refused cookie stays refused')
})
