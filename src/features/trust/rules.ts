import type { CommunitySettingsValues } from '../../core/settings.js'

/** A member's lifetime reading and activity, as the trust recompute aggregates it. */
export interface LifetimeStats {
  daysVisited: number
  topicsEntered: number
  postsRead: number
  readingSeconds: number
  replies: number
  likesGiven: number
  likesReceived: number
}

/** A member's activity over the rolling TL3 window. */
export interface WindowStats {
  daysVisited: number
  topicsReplied: number
  topicsEntered: number
  postsRead: number
  likesReceived: number
  distinctLikers: number
  likesGiven: number
  /** Their posts in the window that moderators agreed should be flagged. */
  flaggedPosts: number
}

/** How much there was to read in the window (the base of the TL3 reading percentages). */
export interface WindowTotals {
  topics: number
  posts: number
}

type S = CommunitySettingsValues

/** TL1: has read a little (topics entered, posts read, minutes reading). */
export function meetsTrustLevel1(stats: LifetimeStats, s: S): boolean {
  return stats.topicsEntered >= s.tl1_topics_entered && stats.postsRead >= s.tl1_posts_read && stats.readingSeconds >= s.tl1_reading_minutes * 60
}

/** TL2: keeps coming back, reads more, has replied and exchanged a like. */
export function meetsTrustLevel2(stats: LifetimeStats, s: S): boolean {
  return (
    stats.topicsEntered >= s.tl2_topics_entered &&
    stats.postsRead >= s.tl2_posts_read &&
    stats.readingSeconds >= s.tl2_reading_minutes * 60 &&
    stats.daysVisited >= s.tl2_days_visited &&
    stats.likesGiven >= s.tl2_likes_given &&
    stats.likesReceived >= s.tl2_likes_received &&
    stats.replies >= s.tl2_replies
  )
}

/**
 * TL3 over the rolling window. `factor` scales every minimum (0.9 to keep TL3: a member
 * loses it only when they fall below 90% of a threshold); the flagged-posts maximum is not scaled.
 * Reading percentages are capped as Discourse does, so a busy community stays reachable.
 */
export function meetsTrustLevel3(w: WindowStats, totals: WindowTotals, s: S, factor = 1): boolean {
  const need = (n: number) => n * factor
  const topicsToRead = Math.min(500, (totals.topics * s.tl3_topics_read_percent) / 100)
  const postsToRead = Math.min(20_000, (totals.posts * s.tl3_posts_read_percent) / 100)
  return (
    w.daysVisited >= need(s.tl3_days_visited) &&
    w.topicsReplied >= need(s.tl3_topics_replied) &&
    w.topicsEntered >= need(topicsToRead) &&
    w.postsRead >= need(postsToRead) &&
    w.likesReceived >= need(s.tl3_likes_received) &&
    w.distinctLikers >= need(s.tl3_distinct_likers) &&
    w.likesGiven >= need(s.tl3_likes_given) &&
    w.flaggedPosts <= s.tl3_max_flagged_posts
  )
}

/** Where a member stands now, as stored. */
export interface TrustStanding {
  level: number
  locked: boolean
  /** Since when a TL3 member has fallen below 90% of a TL3 threshold. */
  shortSince: Date | null
}

/**
 * The member's next standing. Locked levels are never touched; TL4 is granted by hand
 * only; TL0–2 are promoted when met and never demoted; TL3 is lost only after falling
 * below 90% of a threshold for the whole grace period.
 */
export function nextTrustStanding(
  current: TrustStanding,
  lifetime: LifetimeStats,
  window: WindowStats,
  totals: WindowTotals,
  s: S,
  now: Date,
): TrustStanding {
  if (current.locked || current.level >= 4) return current
  if (current.level === 3) {
    if (meetsTrustLevel3(window, totals, s, 0.9)) return { ...current, shortSince: null }
    const since = current.shortSince ?? now
    const graceOver = now.getTime() - since.getTime() >= s.tl3_grace_days * 86_400_000
    return graceOver ? { level: 2, locked: false, shortSince: null } : { ...current, shortSince: since }
  }
  let level = current.level
  if (level < 1 && meetsTrustLevel1(lifetime, s)) level = 1
  if (level === 1 && meetsTrustLevel2(lifetime, s)) level = 2
  if (level === 2 && meetsTrustLevel3(window, totals, s)) level = 3
  return { level, locked: false, shortSince: null }
}
