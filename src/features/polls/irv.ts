/** One round of an instant-runoff count. */
export interface IrvRound {
  /** Ballots counted for each option still in the race, by option id. */
  counts: Map<number, number>
  /** Ballots whose every ranked option is out. */
  exhausted: number
  /** The option eliminated at the end of this round; null in the deciding round. */
  eliminated: number | null
}

/** An instant-runoff result: its rounds and the winner (null without ballots). */
export interface IrvResult {
  rounds: IrvRound[]
  winner: number | null
}

/**
 * Instant-runoff voting. `options` are the poll's option ids in the poll's order; each
 * ballot lists option ids, most preferred first. Each round counts every ballot for its
 * highest-ranked option still in the race; an option with more than half of the ballots
 * still counting wins. Otherwise the option with the fewest is eliminated; among equally
 * few, the one listed last in the poll goes (a fixed, published rule, so a tie never
 * depends on timing). With one option left, it wins.
 */
export function instantRunoff(options: readonly number[], ballots: readonly (readonly number[])[]): IrvResult {
  const running = new Set(options)
  const rounds: IrvRound[] = []
  if (ballots.length === 0) return { rounds, winner: null }
  for (;;) {
    const counts = new Map<number, number>([...running].map((o) => [o, 0]))
    let exhausted = 0
    for (const ballot of ballots) {
      const choice = ballot.find((o) => running.has(o))
      if (choice === undefined) exhausted++
      else counts.set(choice, counts.get(choice)! + 1)
    }
    const counting = ballots.length - exhausted
    const ordered = options.filter((o) => running.has(o))
    const leader = ordered.reduce((best, o) => (counts.get(o)! > counts.get(best)! ? o : best), ordered[0]!)
    if (counts.get(leader)! * 2 > counting || running.size === 1) {
      rounds.push({ counts, exhausted, eliminated: null })
      return { rounds, winner: counting > 0 ? leader : null }
    }
    let loser = ordered[0]!
    for (const o of ordered) if (counts.get(o)! <= counts.get(loser)!) loser = o
    rounds.push({ counts, exhausted, eliminated: loser })
    running.delete(loser)
  }
}
