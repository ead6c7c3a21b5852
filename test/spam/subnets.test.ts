import t from 'tap'
import { build } from '../helpers/app.js'
import { PASSWORD } from '../helpers/personas.js'

// The documented defaults (README, "Spam defence"): 10 sign-ups an hour and 20 a day per IP
// address, 30 an hour per /24 or /64 subnet. Tests otherwise run with generous limits.
const DEFAULT_LIMITS = { RATE_LIMIT_SIGNUP: '10', RATE_LIMIT_SIGNUP_DAY: '20', RATE_LIMIT_SIGNUP_SUBNET: '30' }

t.test('rotating addresses within one subnet does not buy more sign-ups (/24 IPv4, /64 IPv6)', async (t) => {
  const { app } = await build(t, { env: DEFAULT_LIMITS })
  const count = async (address: (i: number) => string) => {
    let ok = 0
    for (let i = 0; i < 100; i++) {
      const name = `net${address(i).replace(/[^0-9a-f]/g, '').slice(-8)}${i}`.slice(0, 20)
      const res = await app.inject({ method: 'POST', url: '/api/v1/auth/signup', remoteAddress: address(i), payload: { username: name, email: `${name}@example.test`, password: PASSWORD } })
      if (res.statusCode === 201) ok++
      else t.equal(res.statusCode, 429)
    }
    return ok
  }
  t.equal(await count((i) => `198.51.100.${i + 1}`), 30, 'a hundred IPv4 addresses in one /24: thirty sign-ups')
  t.equal(await count((i) => `2001:db8:1:2::${(i + 1).toString(16)}`), 30, 'a hundred IPv6 addresses in one /64: thirty sign-ups')
  t.equal(await count((i) => `192.0.2.${i + 1}`), 30, 'another /24 has its own budget')
})
