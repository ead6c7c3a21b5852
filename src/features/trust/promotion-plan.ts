/** A member who could moderate a category, with their activity there. */
export interface PromotionCandidate {
  userId: number
  /** Replies, likes received and agreed flags in the category over the window. */
  activity: number
  /** Share of their decided flags that moderators agreed with, 0–1 (1 with no decided flags). */
  accuracy: number
}

/** A current moderator of the category. */
export interface CurrentModerator {
  userId: number
  source: 'appointed' | 'promoted'
  shortSince: Date | null
}

/** What the promotion job should change in one category. */
export interface PromotionPlan {
  promote: number[]
  invite: number[]
  demote: number[]
  startGrace: number[]
  clearGrace: number[]
}

export interface PromotionInput {
  seats: number
  minActivity: number
  minAccuracy: number
  graceDays: number
  mode: 'automatic' | 'invitation'
  /** TL3+ members with activity here, whose role is not locked and who were not removed by an owner or declined. */
  candidates: PromotionCandidate[]
  moderators: CurrentModerator[]
  /** Members holding an invitation they have not answered yet. */
  invited: number[]
  /** Promoted moderators an owner locked in place (their role is locked). */
  locked: number[]
  now: Date
}

/** Ranks by activity weighted by accuracy, ties by activity then user id, so runs are repeatable. */
function rank(candidates: PromotionCandidate[]): PromotionCandidate[] {
  return [...candidates].sort((a, b) => b.activity * b.accuracy - a.activity * a.accuracy || b.activity - a.activity || a.userId - b.userId)
}

/**
 * Plans one category's changes: demote before promote; appointed moderators and locked
 * members are never touched; a promoted moderator who falls out of the top seats keeps
 * the role through the grace period; open seats go to the best-ranked qualifying members,
 * promoted outright or invited depending on the mode.
 */
export function planPromotions(input: PromotionInput): PromotionPlan {
  const plan: PromotionPlan = { promote: [], invite: [], demote: [], startGrace: [], clearGrace: [] }
  const appointed = input.moderators.filter((m) => m.source === 'appointed')
  const openSeats = Math.max(0, input.seats - appointed.length)
  const appointedIds = new Set(appointed.map((m) => m.userId))
  const qualifying = rank(input.candidates.filter((c) => c.activity >= input.minActivity && c.accuracy >= input.minAccuracy && !appointedIds.has(c.userId)))
    .slice(0, openSeats)
    .map((c) => c.userId)
  const top = new Set(qualifying)
  const locked = new Set(input.locked)

  let kept = 0
  for (const m of input.moderators) {
    if (m.source !== 'promoted') continue
    if (locked.has(m.userId) || top.has(m.userId)) {
      if (m.shortSince && !locked.has(m.userId)) plan.clearGrace.push(m.userId)
      kept++
      continue
    }
    if (!m.shortSince) {
      plan.startGrace.push(m.userId)
      kept++
    } else if (input.now.getTime() - m.shortSince.getTime() >= input.graceDays * 86_400_000) {
      plan.demote.push(m.userId)
    } else {
      kept++
    }
  }

  const moderating = new Set(input.moderators.map((m) => m.userId))
  const invited = new Set(input.invited)
  let free = openSeats - kept - input.invited.filter((id) => !moderating.has(id)).length
  for (const userId of qualifying) {
    if (free <= 0) break
    if (moderating.has(userId) || invited.has(userId)) continue
    ;(input.mode === 'automatic' ? plan.promote : plan.invite).push(userId)
    free--
  }
  return plan
}
