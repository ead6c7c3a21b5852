import type { FlagReason, Role } from '../../core/db-types.js'

/** A flagger's track record: their past flags moderators agreed or disagreed with. */
export interface FlagRecord {
  agreed: number
  disagreed: number
}

// A record counts only once a few flags were decided, so one early call does not define a member.
const RECORD_MIN = 3

/**
 * What one flag weighs, as Discourse scores them: 1, plus a bonus for the flagger's trust
 * level (staff count as TL4), plus a bonus or penalty for their accuracy — from −1 for a
 * flagger moderators always disagree with to +2 for one they always agree with.
 */
export function flagScore(flagger: { trustLevel: number; role: Role }, record: FlagRecord): number {
  const level = flagger.role === 'member' ? Math.min(4, Math.max(0, flagger.trustLevel)) : 4
  const trustBonus = [0, 0, 1, 2, 3][level]!
  const decided = record.agreed + record.disagreed
  const accuracyBonus = decided < RECORD_MIN ? 0 : Math.min(2, Math.max(-1, (record.agreed / decided - 0.5) * 4))
  return Math.round(Math.max(0.5, 1 + trustBonus + accuracyBonus) * 100) / 100
}

/** A spam flag from a trusted member (TL3+ or staff) hides a new member's (TL0) post at once. */
export function hidesAtOnce(reason: FlagReason, flagger: { trustLevel: number; role: Role }, authorTrustLevel: number): boolean {
  return reason === 'spam' && authorTrustLevel === 0 && (flagger.trustLevel >= 3 || flagger.role !== 'member')
}
