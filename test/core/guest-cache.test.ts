import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

t.test('guests share a short-lived page cache; members never see or fill it', async (t) => {
  const { app, db } = await build(t, { env: { GUEST_CACHE_SECONDS: '60' } })
  const f = await forum(app, db)
  const open = await startThread(f.member, f.cats.open.id, 'Cached thread here', 'first words')
  const secret = await startThread(f.admin, f.cats.members.id, 'Members only thread', 'secret words')

  const first = await new Client(app).get(open.url)
  t.equal(first.headers['x-hearth-cache'], undefined, 'the first guest renders the page')
  const second = await new Client(app).get(open.url)
  t.equal(second.headers['x-hearth-cache'], 'hit', 'the next guest gets the cached copy')
  t.equal(second.body, first.body)
  t.notOk(second.headers['set-cookie'], 'a cached page sets no cookies')

  await replyTo(f.regular, open.id, 'a fresh reply')
  const member = await f.member.client.get(open.url)
  t.equal(member.headers['x-hearth-cache'], undefined, 'members always get a fresh page')
  t.match(member.body, /a fresh reply/)
  t.notMatch(member.body, /Log in to reply/)

  const memberFirst = await f.regular.client.get(`/t/${secret.id}`)
  t.equal(memberFirst.statusCode, 200)
  const guestAfter = await new Client(app).get(`/t/${secret.id}`)
  t.equal(guestAfter.statusCode, 404, "a member's view is never served to a guest")
  t.notMatch(guestAfter.body, /secret words/)

  const forged = new Client(app)
  forged.cookies.set('hearth_session', 'not-a-real-session')
  t.equal((await forged.get(open.url)).headers['x-hearth-cache'], undefined, 'anyone with a session cookie bypasses it')
  const bearer = await app.inject({ url: open.url, headers: { authorization: 'Bearer hth_nope' } })
  t.equal(bearer.headers['x-hearth-cache'], undefined)
})
