/**
 * The risk score of a new post, from signals Hearth already has. Each signal is a small pure
 * function of facts the service gathers (one query for all of them, see SpamService.facts),
 * returning the points it adds and, when it adds any, the reason a moderator reads in the
 * queue. The score is their sum, capped at 100; the owner's policy maps it to an outcome.
 */

export interface Signal {
  name: SignalName
  points: number
  /** Why, in words for the approval queue; empty when the signal adds nothing. */
  reason: string
}

export type SignalName = 'account_age' | 'email' | 'trust' | 'links' | 'new_domains' | 'duplicates' | 'speed' | 'history' | 'checker' | 'watched'

const HOUR = 60 * 60 * 1000
const none = (name: SignalName): Signal => ({ name, points: 0, reason: '' })

/** A brand-new account is the spammer's usual tool: the younger, the riskier. */
export function accountAgeSignal(ageMs: number): Signal {
  if (ageMs < HOUR) return { name: 'account_age', points: 20, reason: 'account less than an hour old' }
  if (ageMs < 24 * HOUR) return { name: 'account_age', points: 10, reason: 'account less than a day old' }
  if (ageMs < 7 * 24 * HOUR) return { name: 'account_age', points: 5, reason: 'account less than a week old' }
  return none('account_age')
}

/** An address nobody confirmed costs a spammer nothing. */
export function emailSignal(verified: boolean): Signal {
  return verified ? none('email') : { name: 'email', points: 10, reason: 'email address not confirmed' }
}

/** Trust levels are earned by reading and taking part; level 2 and above add nothing. */
export function trustSignal(trustLevel: number): Signal {
  if (trustLevel <= 0) return { name: 'trust', points: 15, reason: 'trust level 0' }
  if (trustLevel === 1) return { name: 'trust', points: 5, reason: 'trust level 1' }
  return none('trust')
}

/** Links are what link spam is for: a few points each, up to 25. */
export function linksSignal(links: number): Signal {
  if (links <= 0) return none('links')
  return { name: 'links', points: Math.min(25, links * 5), reason: `${links} link${links === 1 ? '' : 's'}` }
}

/** Links to domains nobody in the forum has linked to before weigh more, up to 30. */
export function newDomainsSignal(newDomains: readonly string[]): Signal {
  if (newDomains.length === 0) return none('new_domains')
  const shown = newDomains.slice(0, 3).join(', ') + (newDomains.length > 3 ? ', …' : '')
  return { name: 'new_domains', points: Math.min(30, newDomains.length * 15), reason: `links to domains new to the forum: ${shown}` }
}

/** Near-duplicates of recent posts (by simhash distance): the same text from many accounts, or again and again, or a known spammer's. */
export interface DuplicateFacts {
  /** Near-duplicates among texts of members marked as spammers. */
  knownSpam: number
  /** Near-duplicates among other members' recent posts. */
  byOthers: number
  /** Near-duplicates among this member's own recent posts. */
  byAuthor: number
}

/** Near-duplicates are counted up to this many of each kind (the points stop growing at two). */
export const DUPLICATES_COUNTED = 10

export function duplicatesSignal(d: DuplicateFacts): Signal {
  if (d.knownSpam > 0) return { name: 'duplicates', points: 70, reason: 'nearly the same text as a known spammer’s post' }
  const points = Math.min(40, d.byOthers * 20 + d.byAuthor * 15)
  if (points === 0) return none('duplicates')
  const many = (n: number) => (n >= DUPLICATES_COUNTED ? `${DUPLICATES_COUNTED} or more` : String(n))
  const parts = [d.byOthers > 0 ? `${many(d.byOthers)} by others` : '', d.byAuthor > 0 ? `${many(d.byAuthor)} of their own` : ''].filter(Boolean)
  return { name: 'duplicates', points, reason: `nearly the same text as recent posts (${parts.join(', ')})` }
}

/** A member's posts of the last ten minutes are counted up to this many (the points stop growing at five). */
export const RECENT_POSTS_COUNTED = 20

/** Posting faster than people write: many posts in ten minutes, or one right after another. */
export function speedSignal(postsLast10Minutes: number, secondsSinceLastPost: number | null): Signal {
  if (postsLast10Minutes >= 5) {
    const many = postsLast10Minutes >= RECENT_POSTS_COUNTED ? `${RECENT_POSTS_COUNTED} or more` : String(postsLast10Minutes)
    return { name: 'speed', points: 20, reason: `${many} posts in the last ten minutes` }
  }
  if (secondsSinceLastPost !== null && secondsSinceLastPost < 20) return { name: 'speed', points: 10, reason: 'posted seconds after their previous post' }
  return none('speed')
}

/** Earlier trouble: flags moderators agreed with, and held posts they rejected. */
export function historySignal(agreedFlags: number, rejectedPosts: number): Signal {
  const points = Math.min(40, agreedFlags * 15 + rejectedPosts * 20)
  if (points === 0) return none('history')
  const parts = [agreedFlags > 0 ? `${agreedFlags} upheld flag${agreedFlags === 1 ? '' : 's'}` : '', rejectedPosts > 0 ? `${rejectedPosts} rejected post${rejectedPosts === 1 ? '' : 's'}` : '']
  return { name: 'history', points, reason: `earlier: ${parts.filter(Boolean).join(', ')}` }
}

/** An external checker (Akismet-compatible), when one is configured, that calls this spam. */
export function checkerSignal(verdict: boolean | null): Signal {
  return verdict ? { name: 'checker', points: 50, reason: 'the spam checker says spam' } : none('checker')
}

/** Everything the signals are computed from, gathered once per post. */
export interface PostFacts {
  accountAgeMs: number
  emailVerified: boolean
  trustLevel: number
  links: number
  newDomains: string[]
  duplicates: DuplicateFacts
  postsLast10Minutes: number
  secondsSinceLastPost: number | null
  agreedFlags: number
  rejectedPosts: number
  checker: boolean | null
}

/** Every signal for these facts. */
export function signals(f: PostFacts): Signal[] {
  return [
    accountAgeSignal(f.accountAgeMs),
    emailSignal(f.emailVerified),
    trustSignal(f.trustLevel),
    linksSignal(f.links),
    newDomainsSignal(f.newDomains),
    duplicatesSignal(f.duplicates),
    speedSignal(f.postsLast10Minutes, f.secondsSinceLastPost),
    historySignal(f.agreedFlags, f.rejectedPosts),
    checkerSignal(f.checker),
  ]
}

/** The score (0–100) and the reasons of the signals that added to it. */
export function riskScore(all: readonly Signal[]): { score: number; reasons: string[] } {
  const score = Math.min(100, all.reduce((sum, s) => sum + s.points, 0))
  return { score, reasons: all.filter((s) => s.points > 0).map((s) => s.reason) }
}

export type Outcome = 'publish' | 'flag' | 'hold' | 'reject'

/** The owner's policy: score thresholds for each outcome (101 turns a step off). */
export interface RiskPolicy {
  spam_flag_score: number
  spam_hold_score: number
  spam_reject_score: number
}

/** What the policy does with a score: the strictest step the score reaches. */
export function decide(score: number, policy: RiskPolicy): Outcome {
  if (score >= policy.spam_reject_score) return 'reject'
  if (score >= policy.spam_hold_score) return 'hold'
  if (score >= policy.spam_flag_score) return 'flag'
  return 'publish'
}

/** The stricter of two outcomes (a watched word can make a publish a hold, never the reverse). */
export function stricter(a: Outcome, b: Outcome): Outcome {
  const order: Outcome[] = ['publish', 'flag', 'hold', 'reject']
  return order.indexOf(a) >= order.indexOf(b) ? a : b
}
