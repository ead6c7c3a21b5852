import t from 'tap'
import { isLocalIp, subnetOf } from '../../src/core/net.js'
import { AkismetChecker } from '../../src/features/spam/checker.js'
import { hammingDistance, NEAR_DUPLICATE_BITS, simhash } from '../../src/features/spam/fingerprint.js'
import { linkDomains } from '../../src/features/spam/links.js'
import { isDisposableEmail } from '../../src/features/spam/service.js'
import {
  accountAgeSignal, checkerSignal, decide, duplicatesSignal, emailSignal, historySignal, linksSignal, newDomainsSignal, riskScore, signals,
  speedSignal, stricter, trustSignal,
} from '../../src/features/spam/signals.js'
import { SignupTimer } from '../../src/features/spam/signup-token.js'
import { compileWord, MAX_SCANNED_CHARS, watch } from '../../src/features/spam/watched.js'

const HOUR = 3_600_000

t.test('account age: younger accounts score higher', async (t) => {
  t.equal(accountAgeSignal(5 * 60_000).points, 20)
  t.equal(accountAgeSignal(5 * HOUR).points, 10)
  t.equal(accountAgeSignal(3 * 24 * HOUR).points, 5)
  t.equal(accountAgeSignal(30 * 24 * HOUR).points, 0)
  t.equal(accountAgeSignal(30 * 24 * HOUR).reason, '', 'no reason when it adds nothing')
})

t.test('email verification', async (t) => {
  t.equal(emailSignal(false).points, 10)
  t.equal(emailSignal(true).points, 0)
})

t.test('trust level', async (t) => {
  t.equal(trustSignal(0).points, 15)
  t.equal(trustSignal(1).points, 5)
  t.equal(trustSignal(2).points, 0)
  t.equal(trustSignal(4).points, 0)
})

t.test('links: count and domains new to the forum', async (t) => {
  t.equal(linksSignal(0).points, 0)
  t.equal(linksSignal(2).points, 10)
  t.equal(linksSignal(20).points, 25, 'capped')
  t.equal(newDomainsSignal([]).points, 0)
  t.equal(newDomainsSignal(['a.example']).points, 15)
  t.equal(newDomainsSignal(['a.example', 'b.example', 'c.example', 'd.example']).points, 30, 'capped')
  t.match(newDomainsSignal(['a.example', 'b.example', 'c.example', 'd.example']).reason, /a\.example, b\.example, c\.example, …/)
  const found = linkDomains('<p><a href="https://www.Shop.example/x?a=1&amp;b=2">x</a> <a href="/t/1">in</a> <a class="mention" href="/u/ann">@ann</a> <a href="http://b.example">b</a></p>')
  t.same(found, { count: 3, domains: ['shop.example', 'b.example'] }, 'mentions are not links; relative links have no domain')
})

t.test('near-duplicate text: simhash and its signal', async (t) => {
  const spam = 'Buy cheap watches today at our amazing online store with free shipping on every single order you place'
  const variant = 'Buy cheap watches today at our amazing online shop with free shipping on every single order you place'
  const other = 'I tried the new dark mode on my phone and the contrast of the sidebar is too low to read in daylight'
  const a = simhash(spam)!
  t.ok(a, 'long enough to fingerprint')
  t.ok(hammingDistance(a, simhash(variant)!) <= NEAR_DUPLICATE_BITS, 'one word changed: near')
  t.ok(hammingDistance(a, simhash(other)!) > NEAR_DUPLICATE_BITS, 'another text: far')
  t.equal(simhash(spam.toUpperCase()), a, 'case does not matter')
  t.equal(simhash('Thanks, that helped!'), null, 'short replies have no fingerprint')
  t.equal(BigInt.asIntN(64, BigInt(a)).toString(), a, 'fits a PostgreSQL bigint')

  t.equal(duplicatesSignal({ knownSpam: 0, byOthers: 0, byAuthor: 0 }).points, 0)
  t.equal(duplicatesSignal({ knownSpam: 1, byOthers: 0, byAuthor: 0 }).points, 70, 'a known spammer’s text weighs most')
  t.equal(duplicatesSignal({ knownSpam: 0, byOthers: 1, byAuthor: 0 }).points, 20)
  t.equal(duplicatesSignal({ knownSpam: 0, byOthers: 0, byAuthor: 1 }).points, 15)
  t.equal(duplicatesSignal({ knownSpam: 0, byOthers: 9, byAuthor: 9 }).points, 40, 'capped')
})

t.test('posting speed', async (t) => {
  t.equal(speedSignal(0, null).points, 0)
  t.equal(speedSignal(1, 600).points, 0)
  t.equal(speedSignal(1, 5).points, 10)
  t.equal(speedSignal(5, 5).points, 20)
})

t.test('earlier flags and rejections', async (t) => {
  t.equal(historySignal(0, 0).points, 0)
  t.equal(historySignal(1, 0).points, 15)
  t.equal(historySignal(0, 1).points, 20)
  t.equal(historySignal(5, 5).points, 40, 'capped')
  t.match(historySignal(1, 2).reason, /1 upheld flag, 2 rejected posts/)
})

t.test('an external checker', async (t) => {
  t.equal(checkerSignal(true).points, 50)
  t.equal(checkerSignal(false).points, 0)
  t.equal(checkerSignal(null).points, 0, 'no opinion adds nothing')

  // The Akismet-compatible checker, with its HTTP call replaced: no network in tests.
  const calls: { url: string; body: string }[] = []
  const answer = (text: string, ok = true) => async (url: string, init: { body: string }) => {
    calls.push({ url, body: init.body })
    return { ok, text: async () => text }
  }
  const input = { ip: '203.0.113.9', userAgent: 'bot', author: 'spammy', email: 's@example.test', content: 'cheap pills', permalink: 'https://forum.example' }
  t.equal(await new AkismetChecker({ key: 'k', url: 'https://check.example/', blog: 'https://forum.example' }, answer('true')).check(input), true)
  t.equal(calls[0]!.url, 'https://check.example/1.1/comment-check')
  const sent = new URLSearchParams(calls[0]!.body)
  t.equal(sent.get('api_key'), 'k')
  t.equal(sent.get('comment_content'), 'cheap pills')
  t.equal(sent.get('user_ip'), '203.0.113.9')
  t.equal(await new AkismetChecker({ key: 'k', url: 'https://c.example', blog: 'b' }, answer('false')).check(input), false)
  t.equal(await new AkismetChecker({ key: 'k', url: 'https://c.example', blog: 'b' }, answer('invalid')).check(input), null, 'a bad key is no opinion')
  t.equal(await new AkismetChecker({ key: 'k', url: 'https://c.example', blog: 'b' }, answer('true', false)).check(input), null, 'an HTTP error is no opinion')
  const failing = async () => {
    throw new Error('network down')
  }
  t.equal(await new AkismetChecker({ key: 'k', url: 'https://c.example', blog: 'b' }, failing).check(input), null, 'a failure is never spam')
})

t.test('the score and the owner’s policy', async (t) => {
  const fresh = signals({
    accountAgeMs: 60_000, emailVerified: false, trustLevel: 0, links: 1, newDomains: ['pills.example'],
    duplicates: { knownSpam: 0, byOthers: 0, byAuthor: 0 }, postsLast10Minutes: 0, secondsSinceLastPost: null, agreedFlags: 0, rejectedPosts: 0, checker: null,
  })
  const { score, reasons } = riskScore(fresh)
  t.equal(score, 20 + 10 + 15 + 5 + 15)
  t.equal(reasons.length, 5)
  const everything = signals({
    accountAgeMs: 0, emailVerified: false, trustLevel: 0, links: 10, newDomains: ['a', 'b', 'c'],
    duplicates: { knownSpam: 1, byOthers: 0, byAuthor: 0 }, postsLast10Minutes: 9, secondsSinceLastPost: 1, agreedFlags: 3, rejectedPosts: 3, checker: true,
  })
  t.equal(riskScore(everything).score, 100, 'capped at 100')
  const policy = { spam_flag_score: 40, spam_hold_score: 60, spam_reject_score: 95 }
  t.equal(decide(10, policy), 'publish')
  t.equal(decide(40, policy), 'flag')
  t.equal(decide(60, policy), 'hold')
  t.equal(decide(95, policy), 'reject')
  t.equal(decide(100, { ...policy, spam_reject_score: 101 }), 'hold', '101 turns refusing off')
  t.equal(stricter('flag', 'hold'), 'hold')
  t.equal(stricter('reject', 'flag'), 'reject')
})

t.test('watched words: plain words on word boundaries, bounded patterns', async (t) => {
  const word = (pattern: string, action: 'block' | 'hold' | 'flag' | 'replace', isRegex = false, replacement = '') => ({ id: 1, pattern, is_regex: isRegex, action, replacement, re: compileWord(pattern, isRegex) })
  t.equal(watch('Cheap VIAGRA here', [word('viagra', 'hold')]).action, 'hold', 'case-insensitive')
  t.equal(watch('viagrafalls is a town', [word('viagra', 'hold')]).action, null, 'whole words only')
  t.equal(watch('Ünïcode wörd here', [word('wörd', 'flag')]).action, 'flag', 'word boundaries work beyond ASCII')
  t.equal(watch('see c++ docs', [word('c++', 'flag')]).action, 'flag', 'regex characters in plain words are literal')
  t.equal(watch('damn it', [word('damn', 'replace', false, '****')]).text, '**** it')
  t.equal(watch('a b', [word('a', 'flag'), word('b', 'block')]).action, 'block', 'the strictest wins')
  t.equal(watch('buy pills now', [word('pil+s', 'hold', true)]).action, 'hold', 'patterns')
  t.throws(() => compileWord('(a+)+$', true), /could take very long/, 'catastrophic patterns are refused')
  t.throws(() => compileWord('(x+x+)+y', true), /could take very long/)
  t.throws(() => compileWord('(a)\\1', true), /back-references/)
  t.throws(() => compileWord('a'.repeat(201), false), /at most 200/)
  t.throws(() => compileWord('[unclosed', true), /not a valid regular expression/)
  t.throws(() => compileWord('x*', true), /matches empty text/)
  const far = 'x'.repeat(MAX_SCANNED_CHARS) + ' forbidden'
  t.equal(watch(far, [word('forbidden', 'block')]).action, null, 'only the first MAX_SCANNED_CHARS characters are read')
})

t.test('sign-up defences: subnets, the timing token, disposable domains', async (t) => {
  t.equal(subnetOf('203.0.113.77'), '203.0.113.0/24')
  t.equal(subnetOf('::ffff:203.0.113.77'), '203.0.113.0/24', 'IPv4-mapped IPv6 counts as IPv4')
  t.equal(subnetOf('2001:db8:abcd:12:1::5'), '2001:db8:abcd:12::/64')
  t.equal(subnetOf('2001:db8:abcd:0012:ffff::1'), subnetOf('2001:db8:abcd:12::9'), 'the same /64 however written')
  t.not(subnetOf('2001:db8:abcd:13::1'), subnetOf('2001:db8:abcd:12::1'))
  for (const local of ['127.0.0.1', '10.1.2.3', '172.18.0.4', '192.168.1.1', '::1', '::ffff:127.0.0.1', 'fd00::1', 'fe80::1']) t.ok(isLocalIp(local), `${local} is never blocked`)
  for (const open of ['203.0.113.5', '172.32.0.1', '2001:db8::1']) t.notOk(isLocalIp(open), `${open} can be`)

  const timer = new SignupTimer('a'.repeat(32))
  const now = Date.now()
  const token = timer.issue(now - 10_000)
  t.ok(Math.abs(timer.age(token, now)! - 10) < 1.01, 'the age of a form shown ten seconds ago')
  t.equal(timer.age(token.replace(/^[0-9a-z]+/, (n) => (parseInt(n, 36) - 1000).toString(36)), now), null, 'an older time forged is refused')
  t.equal(new SignupTimer('b'.repeat(32)).age(token, now), null, 'another instance secret')
  t.equal(timer.age(undefined), null)
  t.equal(timer.age('nonsense'), null)

  t.ok(isDisposableEmail('someone@mailinator.com'))
  t.ok(isDisposableEmail('someone@eu.mailinator.com'), 'subdomains of a disposable domain too')
  t.notOk(isDisposableEmail('someone@example.test'))
  t.notOk(isDisposableEmail('someone@gmail.com'))
})
