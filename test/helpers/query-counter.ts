import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'

// The outbox relay works in the background on the same connection pool (its poll, its
// lock, reading and marking events): those queries belong to no page, so they are not counted.
function isRelayQuery(node: RootOperationNode): boolean {
  const text = JSON.stringify(node)
  return text.includes('"name":"outbox"') || text.includes('pg_try_advisory_xact_lock')
}

/** A Kysely plugin that counts every query a page or service sends through it (for "no N+1" checks). */
export class QueryCounter implements KyselyPlugin {
  count = 0
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (!isRelayQuery(args.node)) this.count++
    return args.node
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }
}
