import t from 'tap'
import { MAILABLE_KINDS } from '../../src/features/email/schemas.js'
import { build } from '../helpers/app.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { persona } from '../helpers/personas.js'

t.test('a moderator never reviews flags on their own post, and never learns who flagged it', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const otherMod = await persona(app, db, { stem: 'othermod', trustLevel: 2 })
  await app.hearth.categories.appointModerator(f.admin.id, f.cats.members.id, otherMod.username)
  const flaggerA = await persona(app, db, { stem: 'tattlea', trustLevel: 2 })
  const flaggerB = await persona(app, db, { stem: 'tattleb', trustLevel: 3 })

  // The category moderator writes in a category they moderate; two members flag it.
  const thread = await startThread(f.admin, f.cats.members.id, 'Lounge chat', 'Say hello.')
  const postId = await replyTo(f.categoryMod, thread.id, 'A reply some members dislike')
  for (const flagger of [flaggerA, flaggerB]) {
    const res = await flagger.client.api('POST', `/api/v1/posts/${postId}/flags`, { reason: 'inappropriate', note: 'rude' })
    t.equal(res.statusCode, 201)
  }
  const flagIds = (await db.selectFrom('flags').select('id').where('post_id', '=', postId).orderBy('id').execute()).map((r) => r.id)
  const flaggers = [flaggerA.username, flaggerB.username]
  const mentionsAFlagger = (text: string) => flaggers.some((name) => text.includes(name))

  // Their own queue (page and API) leaves the post out entirely.
  const ownQueue = await f.categoryMod.client.api('GET', '/api/v1/mod/flags')
  t.equal(ownQueue.statusCode, 200)
  t.notOk(ownQueue.data.items.some((i: { postId: number }) => i.postId === postId), 'not in their API queue')
  const ownPage = await f.categoryMod.client.get('/mod')
  t.equal(ownPage.statusCode, 200)
  t.notOk(mentionsAFlagger(ownPage.body), 'their /mod page names no flagger')
  t.notOk(mentionsAFlagger(ownQueue.body), 'nor does the API')

  // They cannot resolve the flags either, whichever way they try.
  const viaApi = await f.categoryMod.client.api('POST', `/api/v1/mod/flags/${flagIds[0]}/resolve`, { action: 'disagree', reason: 'fine by me' })
  t.equal(viaApi.statusCode, 403)
  t.match(viaApi.data.error, /your own post go to another moderator or an admin/)
  const viaForm = await f.categoryMod.client.submit(`/mod/flags/${flagIds[1]}/resolve`, { action: 'disagree', reason: 'fine by me' }, '/mod')
  t.equal(viaForm.statusCode, 403)
  t.equal((await db.selectFrom('flags').select('status').where('post_id', '=', postId).execute()).filter((r) => r.status === 'pending').length, 2, 'the flags are still pending')

  // Another moderator of the category, and an admin, see it with its flaggers.
  const othersQueue = await otherMod.client.api('GET', '/api/v1/mod/flags')
  const item = othersQueue.data.items.find((i: { postId: number }) => i.postId === postId)
  t.ok(item, 'another moderator of the category sees it')
  t.same(item.flags.map((fl: { flagger: string }) => fl.flagger).sort(), [...flaggers].sort())
  t.ok((await f.admin.client.api('GET', '/api/v1/mod/flags')).data.items.some((i: { postId: number }) => i.postId === postId), 'so does an admin')

  const decided = await otherMod.client.api('POST', `/api/v1/mod/flags/${flagIds[0]}/resolve`, { action: 'agree', outcome: 'hide', reason: 'too sharp' })
  t.equal(decided.statusCode, 200)

  // Whatever the flagged moderator reads afterwards still names no flagger.
  const notes = await f.categoryMod.client.api('GET', '/api/v1/notifications')
  t.ok(notes.data.items.some((n: { kind: string }) => n.kind === 'flag.resolved'), 'they are told of the decision')
  t.notOk(mentionsAFlagger(notes.body), 'their notifications name no flagger')
  t.notOk(mentionsAFlagger((await f.categoryMod.client.get('/notifications')).body))
  t.notOk(mentionsAFlagger((await f.categoryMod.client.get('/mod/log')).body), 'nor does the moderation log')
  t.notOk(mentionsAFlagger((await f.categoryMod.client.get(thread.url)).body), 'nor the thread page')
})

t.test('an admin\'s own flagged post goes to another admin', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const secondAdmin = await persona(app, db, { stem: 'admintwo', role: 'admin', trustLevel: 4 })
  const thread = await startThread(f.admin, f.cats.open.id, 'Announcements', 'Rules changed.')
  t.equal((await f.regular.client.api('POST', `/api/v1/posts/${thread.postId}/flags`, { reason: 'off_topic' })).statusCode, 201)
  const flag = await db.selectFrom('flags').select('id').executeTakeFirstOrThrow()
  t.notOk((await f.admin.client.api('GET', '/api/v1/mod/flags')).data.items.length, 'the author, an admin, does not see it')
  t.equal((await f.admin.client.api('POST', `/api/v1/mod/flags/${flag.id}/resolve`, { action: 'disagree', reason: 'mine is fine' })).statusCode, 403)
  t.equal((await secondAdmin.client.api('POST', `/api/v1/mod/flags/${flag.id}/resolve`, { action: 'disagree', reason: 'on topic' })).statusCode, 200)
})

t.test('a manual appointment as moderator notifies the member (mailable), once', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  t.ok(MAILABLE_KINDS.includes('moderator.appointed'), 'in the moderation mail group')
  const appoint = () => f.admin.client.submit(`/admin/categories/${f.cats.open.id}/moderators`, { username: f.regular.username, reason: 'helpful' }, '/admin')
  t.equal((await appoint()).statusCode, 303)
  const notes = await f.regular.client.api('GET', '/api/v1/notifications')
  const appointed = notes.data.items.filter((n: { kind: string }) => n.kind === 'moderator.appointed')
  t.equal(appointed.length, 1)
  t.match(appointed[0].text, /You are now a moderator of General/)
  t.equal(appointed[0].url, '/mod')

  t.equal((await appoint()).statusCode, 303, 'appointing again is harmless')
  const after = await f.regular.client.api('GET', '/api/v1/notifications')
  t.equal(after.data.items.filter((n: { kind: string }) => n.kind === 'moderator.appointed').length, 1, 'and not announced twice')
  const logged = await db.selectFrom('moderation_log').select('id').where('action', '=', 'moderator.appoint').where('target_id', '=', String(f.regular.id)).execute()
  t.equal(logged.length, 1, 'nor logged twice')
})
