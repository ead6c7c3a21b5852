import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'
import { build } from './helpers/app.js'
import { forum, startThread } from './helpers/forum.js'

class Count implements KyselyPlugin {
  all = 0
  relay = 0
  kinds = new Map<string, number>()
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.all++
    const text = JSON.stringify(args.node)
    if (text.includes('"name":"outbox"') || text.includes('pg_try_advisory')) this.relay++
    const m = /"table":\{"kind":"SchemableIdentifierNode","identifier":\{"kind":"IdentifierNode","name":"(\w+)"/.exec(text)
    const key = `${args.node.kind}:${m?.[1] ?? '?'}`
    this.kinds.set(key, (this.kinds.get(key) ?? 0) + 1)
    return args.node
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> { return args.result }
}
const teardowns: (() => unknown)[] = []
const t = { teardown: (fn: () => unknown) => void teardowns.push(fn) }
const counter = new Count()
const testApp = await build(t, { plugins: [counter], redis: true })
const { app, db } = testApp
const f = await forum(app, db)
const thread = await startThread(f.admin, f.cats.open.id)
await app.hearth.relay.drain()
counter.all = 0; counter.relay = 0; counter.kinds.clear()
const N = 50
for (let i = 0; i < N; i++) {
  const res = await f.regular.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: `reply ${i} with some words` })
  if (res.statusCode !== 201) throw new Error(res.body)
}
await app.hearth.relay.drain()
console.log('per reply: all', (counter.all / N).toFixed(2), 'relay', (counter.relay / N).toFixed(2))
console.log([...counter.kinds].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / N).toFixed(2)}`).join('\n'))
for (const fn of teardowns.reverse()) await fn()
process.exit(0)
