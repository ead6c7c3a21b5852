import t from 'tap'
import '../../src/jobs.js'
import { buildDigestSections } from '../../src/features/digests/sections.js'
import { build } from '../helpers/app.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

t.test('a digest holds what the member may see: active threads, their ideas, open betas', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const since = new Date(Date.now() - 60_000)
  const busy = await startThread(f.regular, f.cats.open.id, 'Busy public thread', 'lots to say')
  await replyTo(f.admin, busy.id, 'one')
  await replyTo(f.categoryMod, busy.id, 'two')
  await startThread(f.regular, f.cats.members.id, 'Quiet members thread')
  await startThread(f.admin, f.cats.trusted.id, 'Trusted circle thread')
  await startThread(f.newbie, f.cats.open.id, 'Thread by a brand new member')

  const idea = await f.regular.client.api('POST', '/api/v1/ideas', { title: 'Calendar sync please', body: 'Google and Outlook.' })
  await f.member.client.api('PUT', `/api/v1/ideas/${idea.data.id}/vote`)
  await f.admin.client.api('POST', `/api/v1/ideas/${idea.data.id}/status`, { status: 'planned', note: 'Next quarter.' })
  await f.admin.client.api('POST', '/api/v1/beta', { title: 'Calendar beta', capacity: 5 })

  const member = await db.selectFrom('users').selectAll().where('id', '=', f.member.id).executeTakeFirstOrThrow()
  const sections = await buildDigestSections({ db, user: member, since })
  const titles = sections.flatMap((s) => s.items.map((i) => i.title))
  t.ok(titles.indexOf('Busy public thread') >= 0, 'an active thread is in')
  t.ok(titles.includes('Quiet members thread'), 'a new members-only thread is in for a member')
  t.notOk(titles.includes('Trusted circle thread'), 'nothing from a category they may not see')
  t.notOk(titles.includes('Thread by a brand new member'), 'trust-level-0 authors are left out')
  const ideas = sections.find((s) => s.title === 'Ideas you follow')
  t.same(ideas?.items.map((i) => [i.title, i.detail]), [['Calendar sync please', 'now Planned']], 'the status change of an idea they voted on')
  const betas = sections.find((s) => s.title === 'Beta programs open to you')
  t.same(betas?.items.map((i) => i.title), ['Calendar beta'])
  t.ok(sections.some((s) => s.stats?.length), 'a stats header')

  const guestish = await db.selectFrom('users').selectAll().where('id', '=', f.newbie.id).executeTakeFirstOrThrow()
  const later = await buildDigestSections({ db, user: guestish, since: new Date() })
  t.equal(later.flatMap((s) => s.items).length, 0, 'nothing new since now: an empty digest')
})
