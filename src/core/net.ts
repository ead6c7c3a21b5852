import { isIP } from 'node:net'

/**
 * The network a client address belongs to, for sign-up limits per subnet: the /24 of an
 * IPv4 address and the /64 of an IPv6 one (one household or one server's block). An
 * IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function subnetOf(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  const addr = mapped ? mapped[1]! : ip
  const version = isIP(addr)
  if (version === 4) return `${addr.split('.').slice(0, 3).join('.')}.0/24`
  if (version === 6) return `${expandV6(addr).slice(0, 4).join(':')}::/64`
  return addr
}

/** The eight groups of an IPv6 address, lower-case, without leading zeros. */
function expandV6(ip: string): string[] {
  const [head, tail] = ip.toLowerCase().split('::') as [string, string | undefined]
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
  return groups.map((g) => (g.includes('.') ? g : String(parseInt(g, 16).toString(16))))
}

/** The address as stored on the blocked list: an IPv4-mapped address as its IPv4 form. */
export function normaliseIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  return (mapped ? mapped[1]! : ip).toLowerCase()
}

/**
 * Is the address loopback, private or link-local? Such an address is usually the server's
 * own network (a reverse proxy's address when TRUST_PROXY is off), so blocking it would
 * block everyone: the spammer action never blocks these.
 */
export function isLocalIp(ip: string): boolean {
  const a = normaliseIp(ip)
  if (isIP(a) === 4) {
    const [x, y] = a.split('.').map(Number) as [number, number]
    return x === 127 || x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 169 && y === 254) || x === 0
  }
  if (isIP(a) === 6) return a === '::1' || a === '::' || /^f[cd]/.test(a) || /^fe[89ab]/.test(a)
  return true
}
