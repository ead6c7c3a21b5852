import t from 'tap'
import { build } from '../helpers/app.js'
import { persona } from '../helpers/personas.js'

t.test('notifications: badge, list, open marks read, private to their member', async (t) => {
  const { app, db } = await build(t)
  const alice = await persona(app, db, { stem: 'alice' })
  const bob = await persona(app, db, { stem: 'bob' })
  const seen: unknown[] = []
  app.hearth.events.on('notification.created', (e) => void seen.push(e))

  const rows = await app.hearth.notifications.notify([
    { userId: alice.id, kind: 'reply', text: 'bob replied to <your> post', url: '/t/1#p2', actorId: bob.id },
    { userId: alice.id, kind: 'mention', text: 'bob mentioned you', url: '/t/1#p3', actorId: bob.id },
    { userId: bob.id, kind: 'reply', text: 'self', url: '/', actorId: bob.id },
  ])
  t.equal(rows.length, 2, 'nobody is notified of their own action')
  await app.hearth.relay.drain()
  t.equal(seen.length, 2, 'one live event per notification')
  t.match(seen[0], { type: 'notification.created', channels: [`user:${alice.id}`] })

  const home = await alice.client.get('/')
  t.match(home.body, /aria-label="Notifications, 2 unread"/, 'the header shows the unread count')
  const page = await alice.client.get('/notifications')
  t.match(page.body, /bob replied to &lt;your&gt; post/, 'text is escaped')
  t.match(page.body, /bob mentioned you/)

  const api = await alice.client.api('GET', '/api/v1/notifications')
  t.equal(api.data.unread, 2)
  t.equal(api.data.items[0].text, 'bob mentioned you', 'newest first')
  t.equal(api.data.items[0].actor, bob.username)

  const stolen = await bob.client.get(`/notifications/${rows[0]!.id}`)
  t.equal(stolen.statusCode, 404, "another member's notification is a 404")
  const opened = await alice.client.get(`/notifications/${rows[0]!.id}`)
  t.equal(opened.statusCode, 303)
  t.equal(opened.headers.location, '/t/1#p2')
  t.equal((await alice.client.api('GET', '/api/v1/notifications')).data.unread, 1, 'opening marks it read')

  const all = await alice.client.submit('/notifications/read', {}, '/notifications')
  t.equal(all.statusCode, 303)
  t.equal((await alice.client.api('GET', '/api/v1/notifications')).data.unread, 0)
  t.equal((await alice.client.get('/notifications?before=abc')).statusCode, 400, 'a malformed cursor is a 400')
  t.equal((await app.inject({ url: '/notifications' })).statusCode, 302, 'guests are sent to log in')
})
