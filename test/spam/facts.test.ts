import t from 'tap'
import type { SessionUser } from '../../src/core/auth/sessions.js'
import { RECENT_POSTS_COUNTED } from '../../src/features/spam/signals.js'
import { build } from '../helpers/app.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

// The facts the risk score is made of, as the one statement of SpamService.facts reads them from
// the database: recent posts (published and held, counted up to a cap), the time since the last
// one, earlier rejections, and the published posts the first-posts hold compares with.
t.test('the spam check reads recent posts, the last post, rejections and first posts from the database', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.regular, f.cats.open.id)
  const screen = async (userId: number) => {
    const user = (await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirstOrThrow()) as unknown as SessionUser
    const viewer = await app.hearth.categories.viewer(user)
    const body = `A reply of ${userId} with a few words of its own`
    return app.hearth.spam.screen(viewer, { kind: 'reply', categoryId: f.cats.open.id, threadId: thread.id, parentId: null, title: null, body, html: `<p>${body}</p>`, meta: {} })
  }
  const held = (authorId: number, minutesAgo: number, status: 'pending' | 'rejected' | 'approved' = 'pending') => ({
    author_id: authorId, category_id: f.cats.open.id, thread_id: thread.id, body_md: 'held', status,
    created_at: new Date(Date.now() - minutesAgo * 60_000),
  })
  const speed = (reasons: string[]) => reasons.find((r) => r.includes('posts in the last ten minutes') || r.includes('seconds after'))

  // Nothing recent: no speed reason.
  t.equal(speed((await screen(f.member.id)).reasons), undefined, 'a member who has not posted lately')

  // A post a moment ago (held, and older ones outside the ten minutes): "seconds after".
  await db.insertInto('held_posts').values([held(f.member.id, 0), held(f.member.id, 30), held(f.member.id, 40)]).execute()
  t.equal(speed((await screen(f.member.id)).reasons), 'posted seconds after their previous post', 'the last post, held, counts')

  // Published and held posts of the last ten minutes add up.
  await replyTo(f.member, thread.id, 'One published reply of the member')
  await replyTo(f.member, thread.id, 'Another published reply of the member')
  await db.insertInto('held_posts').values([held(f.member.id, 1), held(f.member.id, 2)]).execute()
  t.equal(speed((await screen(f.member.id)).reasons), '5 posts in the last ten minutes', 'two published and three held')

  // A flood is counted up to the cap, and the reason says so.
  await db.insertInto('held_posts').values(Array.from({ length: RECENT_POSTS_COUNTED + 10 }, () => held(f.member.id, 3))).execute()
  t.equal(speed((await screen(f.member.id)).reasons), `${RECENT_POSTS_COUNTED} or more posts in the last ten minutes`, 'counted up to the cap')

  // Rejections, however old, are history; pending and approved ones are not.
  await db.insertInto('held_posts').values([held(f.regular.id, 60 * 24 * 30, 'rejected'), held(f.regular.id, 60 * 24 * 60, 'rejected'), held(f.regular.id, 60 * 24 * 60, 'approved')]).execute()
  t.ok((await screen(f.regular.id)).reasons.includes('earlier: 2 rejected posts'), 'two rejected posts')

  // The first-posts hold: a member with fewer published posts than the setting is held, one with as many is not.
  const first = (reasons: string[]) => reasons.includes('one of the member’s first 3 posts')
  const withHold = async (userId: number) => {
    await app.hearth.settings.set('spam_hold_first_posts', 3)
    const screening = await screen(userId)
    await app.hearth.settings.set('spam_hold_first_posts', 0)
    return screening
  }
  const newcomer = await withHold(f.categoryMod.id)
  t.ok(first(newcomer.reasons) && newcomer.outcome === 'hold', 'no published post yet: held')
  for (let i = 0; i < 2; i++) await replyTo(f.categoryMod, thread.id, `Published reply number ${i} of the category moderator's account`)
  t.ok(first((await withHold(f.categoryMod.id)).reasons), 'two published posts of three: still held')
  await replyTo(f.categoryMod, thread.id, 'The third published reply of the category moderator')
  t.notOk(first((await withHold(f.categoryMod.id)).reasons), 'three published posts: no longer held for being new')
})
