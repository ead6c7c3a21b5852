import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'

// The outbox relay works in the background on the same connection pool (its poll, its
// lock, reading and marking events): those queries belong to no page, so they are not counted.
function isRelayQuery(node: RootOperationNode): boolean {
  const text = JSON.stringify(node)
  return text.includes('"name":"outbox"') || text.includes('pg_try_advisory_xact_lock') || text.includes('update outbox set delivered_at') ||
    // The NOTIFY a writer sends the other processes' relays after its commit (Outbox.written), off the request's path.
    text.includes('select pg_notify(')
}

/** A Kysely plugin that counts every query a page or service sends through it (for "no N+1" checks). */
export class QueryCounter implements KyselyPlugin {
  /** Query builders compiled (a subquery built on its own counts too). */
  count = 0
  /** Statements sent to the database: round trips. */
  roundTrips = 0
  /** Each counted statement, in the order sent: its kind and the start of its text (or its first table). */
  statements: string[] = []
  private readonly relay = new WeakSet<object>()
  private readonly labels = new WeakMap<object, string>()
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (isRelayQuery(args.node)) this.relay.add(args.queryId)
    else {
      this.count++
      const text = JSON.stringify(args.node)
      const raw = /"sqlFragments":\["((?:[^"\\]|\\.)*)"/.exec(text)?.[1]
      this.labels.set(args.queryId, raw !== undefined ? JSON.parse(`"${raw}"`).replace(/\s+/g, ' ').trim().slice(0, 60) : `${args.node.kind} ${/"name":"(\w+)"/.exec(text)?.[1] ?? ''}`)
    }
    return args.node
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (!this.relay.has(args.queryId)) {
      this.roundTrips++
      this.statements.push(this.labels.get(args.queryId) ?? '?')
    }
    return args.result
  }
}
