import t from 'tap'
import { build } from '../helpers/app.js'
import { serve } from '../helpers/browser.js'
import { emitEvent, LiveClient } from '../helpers/live.js'

t.test('without Redis the same protocol works in one process, catch-up included', async (t) => {
  const testApp = await build(t, { liveLimits: { historyPerChannel: 5 } })
  const { live } = testApp.app.hearth
  const emit = (...args: Parameters<typeof emitEvent> extends [unknown, ...infer R] ? R : never) => emitEvent(testApp.app, ...args)
  live.registerChannel('idea', async (_user, id) => /^\d+$/.test(id))
  const base = await serve(testApp)
  const client = await LiveClient.connect(base)
  t.teardown(() => client.close())
  await client.subscribe('idea:1')
  await client.subscribe('ideas')

  await emit('idea.voted', ['idea:1', 'ideas'], { ideaId: 1, votes: 1 })
  t.same(await client.event('idea:1'), { type: 'event', channel: 'idea:1', id: 1, event: 'idea.voted', ideaId: 1, votes: 1 })
  t.match(await client.event('ideas'), { id: 1, votes: 1 })

  await emit('idea.created', ['ideas'], { ideaId: 2, title: 'Private', url: '/ideas/2' }, 9)
  await emit('idea.created', ['ideas'], { ideaId: 3, title: 'Public', url: '/ideas/3' })
  t.match(await client.event('ideas'), { id: 3, ideaId: 3 }, 'with no category rule registered, category events reach nobody')

  client.close()
  await client.whenClosed()
  await emit('idea.voted', ['idea:1'], { ideaId: 1, votes: 2 })
  await emit('idea.voted', ['idea:1'], { ideaId: 1, votes: 3 })
  const again = await LiveClient.connect(base)
  t.teardown(() => again.close())
  await again.subscribe('idea:1', 1)
  t.same([(await again.event('idea:1')).votes, (await again.event('idea:1')).votes], [2, 3], 'missed events replayed in order')

  for (let i = 0; i < 10; i++) await emit('idea.voted', ['idea:1'], { ideaId: 1, votes: 4 + i })
  await again.subscribe('idea:9', 0)
  await emit('idea.voted', ['idea:9'], { ideaId: 9, votes: 1 })
  await again.event('idea:9')
  const late = await LiveClient.connect(base)
  t.teardown(() => late.close())
  await late.subscribe('idea:1', 2)
  t.same(await late.next((f) => f.channel === 'idea:1'), { type: 'reload', channel: 'idea:1' }, 'too old a gap asks for a reload')
})
