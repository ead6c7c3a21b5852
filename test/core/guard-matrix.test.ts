import sharp from 'sharp'
import t from 'tap'
import type { Db } from '../../src/core/db.js'
import { build } from '../helpers/app.js'
import { serve } from '../helpers/browser.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { LiveClient } from '../helpers/live.js'
import { type Persona, persona, restrict } from '../helpers/personas.js'

// Route × persona across every feature, with the community requiring confirmed addresses.
// Each write asserts the status AND what changed in the database: nothing when refused.

const WHO = ['guest', 'tl0', 'member', 'suspended', 'silenced', 'unverified', 'categoryMod', 'admin'] as const
type Who = (typeof WHO)[number]
type Row = Record<Who, number | string>
const row = (...values: (number | string)[]): Row => Object.fromEntries(WHO.map((w, i) => [w, values[i]!])) as Row

async function count(db: Db, table: 'posts' | 'threads' | 'post_likes' | 'flags' | 'ideas' | 'idea_votes' | 'thread_notification_levels' | 'user_mutes' | 'beta_signups' | 'api_tokens' | 'uploads' | 'poll_ballots' | 'survey_responses' | 'event_rsvps' | 'events', column: string, userId: number) {
  const r = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where(column as never, '=', userId as never).executeTakeFirstOrThrow()
  return Number(r.n)
}

t.test('every feature × every persona: status codes and state', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const suspended = await persona(app, db, { stem: 'suspended', trustLevel: 2 })
  const silenced = await persona(app, db, { stem: 'silenced', trustLevel: 2 })
  const unverified = await persona(app, db, { stem: 'unverified', trustLevel: 2 })
  const leaver = await persona(app, db, { stem: 'leaver', trustLevel: 1 })
  const guest = { id: 0, username: 'guest', email: '', client: new Client(app) } satisfies Persona
  const people: Record<Who, Persona> = { guest, tl0: f.newbie, member: f.member, suspended, silenced, unverified, categoryMod: f.categoryMod, admin: f.admin }

  const open = await startThread(f.admin, f.cats.open.id, 'Open thread')
  const lounge = await startThread(f.admin, f.cats.members.id, 'Lounge thread')
  // Started outside the matrix, so nobody in it has a level on it yet.
  const watchable = await startThread(f.regular, f.cats.open.id, 'A thread to watch')
  // Written by a member outside the matrix, so nobody in it already follows or votes for it.
  const idea = (await f.regular.client.api('POST', '/api/v1/ideas', { title: 'Dark mode for the app', body: 'Please make this happen, it would help a lot.' })).data.id as number
  const program = (await f.admin.client.api('POST', '/api/v1/beta', { title: 'Open beta', description: 'Try it.', capacity: 50 })).data.id as number
  const hidden = (await f.admin.client.api('POST', '/api/v1/beta', { title: 'Members beta', description: 'Try it.', capacity: 50, membersOnly: true })).data.id as number
  const soon = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString()
  const meetup = (await f.admin.client.api('POST', '/api/v1/events', { title: 'Open meetup', categoryId: f.cats.open.id, timeZone: 'UTC', startsAt: soon(48), endsAt: soon(50), capacity: 50 })).data
  const formMeetup = (await f.admin.client.api('POST', '/api/v1/events', { title: 'Form meetup', categoryId: f.cats.open.id, timeZone: 'UTC', startsAt: soon(48), endsAt: soon(50) })).data
  const loungeMeetup = (await f.admin.client.api('POST', '/api/v1/events', { title: 'Lounge meetup', categoryId: f.cats.members.id, timeZone: 'UTC', startsAt: soon(48), endsAt: soon(50), capacity: 50 })).data
  // Each persona's own reply (to edit) and a regular's post to like and flag, written before any limit applies.
  const own = new Map<Who, number>()
  const target = new Map<Who, number>()
  for (const who of WHO) {
    if (who !== 'guest') own.set(who, await replyTo(people[who], open.id, `My own words, ${who}`))
    target.set(who, await replyTo(f.regular, open.id, `Something to like or flag, for ${who}`))
  }
  // Polls (features/polls): one in a public thread, one in the members-only lounge.
  const pollBody = '```poll\n- Yes\n- No\n```'
  const openPoll = await startThread(f.regular, f.cats.open.id, 'A public poll', pollBody)
  const loungePoll = await startThread(f.regular, f.cats.members.id, 'A members-only poll', pollBody)
  const pollOf = async (postId: number) => {
    const p = await db.selectFrom('polls').select('id').where('post_id', '=', postId).executeTakeFirstOrThrow()
    const o = await db.selectFrom('poll_options').select('id').where('poll_id', '=', p.id).orderBy('position').executeTakeFirstOrThrow()
    return { id: Number(p.id), option: Number(o.id) }
  }
  const formPollThread = await startThread(f.regular, f.cats.open.id, 'A poll voted by form', pollBody)
  const [publicPoll, privatePoll, formPoll] = [await pollOf(openPoll.postId), await pollOf(loungePoll.postId), await pollOf(formPollThread.postId)]
  // An attributed survey for everyone (features/surveys), with the frequency cap off so each persona may answer.
  const survey = (await f.admin.client.api('POST', '/api/v1/surveys', { title: 'Matrix survey', anonymous: false, closesAt: new Date(Date.now() + 86_400_000).toISOString(), questions: [{ id: 'q1', kind: 'nps', label: 'How likely are you to recommend us?' }] })).data.id as number
  await app.hearth.settings.set('survey_min_interval_days', 0)
  await restrict(db, suspended.id, 'suspended')
  await restrict(db, silenced.id, 'silenced')
  await restrict(db, unverified.id, 'unverified')
  await app.hearth.settings.set('require_verified_email_to_post', true)

  // A guest has no form token: their form posts are refused before anything else.
  const csrf = (p: Persona, page: string) => (p.id === 0 ? Promise.resolve('none') : p.client.csrfFrom(page))
  const base = await serve(testApp)
  const sockets: LiveClient[] = []
  t.teardown(() => sockets.forEach((s) => s.close()))

  const writes: { what: string; expected: Row; table: Parameters<typeof count>[1]; column: string; act: (p: Persona, who: Who) => Promise<{ statusCode: number }> }[] = [
    { what: 'reply in a public thread', expected: row(401, 201, 201, 403, 403, 403, 201, 201), table: 'posts', column: 'author_id', act: (p, who) => p.client.api('POST', `/api/v1/threads/${open.id}/posts`, { body: `hello from ${who}` }) },
    { what: 'reply in a members-only thread', expected: row(401, 201, 201, 404, 403, 403, 201, 201), table: 'posts', column: 'author_id', act: (p, who) => p.client.api('POST', `/api/v1/threads/${lounge.id}/posts`, { body: `hello from ${who}` }) },
    { what: 'reply through the page form', expected: row(403, 303, 303, 403, 403, 403, 303, 303), table: 'posts', column: 'author_id', act: async (p, who) => p.client.postForm(`/t/${open.id}/replies`, { _csrf: await csrf(p, '/'), body: `form reply from ${who}` }) },
    { what: 'start a thread', expected: row(401, 201, 201, 403, 403, 403, 201, 201), table: 'threads', column: 'author_id', act: (p, who) => p.client.api('POST', '/api/v1/threads', { categoryId: f.cats.open.id, title: `A thread by ${who}`, body: 'hi' }) },
    { what: 'like a post', expected: row(401, 200, 200, 403, 403, 403, 200, 200), table: 'post_likes', column: 'user_id', act: (p, who) => p.client.api('PUT', `/api/v1/posts/${target.get(who)}/like`) },
    { what: 'flag a post', expected: row(401, 403, 201, 403, 403, 201, 201, 201), table: 'flags', column: 'flagger_id', act: (p, who) => p.client.api('POST', `/api/v1/posts/${target.get(who)}/flags`, { reason: 'off_topic' }) },
    { what: 'propose an idea', expected: row(401, 201, 201, 403, 403, 403, 201, 201), table: 'ideas', column: 'author_id', act: (p, who) => p.client.api('POST', '/api/v1/ideas', { title: `Offline mode, asked by ${who}`, body: 'Please make this happen, it would help a lot.' }) },
    { what: 'propose an idea through the form', expected: row(403, 303, 303, 403, 403, 403, 303, 303), table: 'ideas', column: 'author_id', act: async (p, who) => p.client.postForm('/ideas', { _csrf: await csrf(p, '/ideas/new'), title: `Calendar sync, asked by ${who}`, body: 'Please make this happen, it would help a lot.', confirm: '1' }) },
    { what: 'vote', expected: row(401, 200, 200, 403, 403, 403, 200, 200), table: 'idea_votes', column: 'user_id', act: (p) => p.client.api('PUT', `/api/v1/ideas/${idea}/vote`) },
    { what: 'follow an idea', expected: row(401, 200, 200, 403, 200, 200, 200, 200), table: 'thread_notification_levels', column: 'user_id', act: (p) => p.client.api('PUT', `/api/v1/ideas/${idea}/subscription`) },
    { what: 'watch a thread', expected: row(401, 200, 200, 403, 200, 200, 200, 200), table: 'thread_notification_levels', column: 'user_id', act: (p) => p.client.api('PUT', `/api/v1/threads/${watchable.id}/notification-level`, { level: 'watching' }) },
    { what: 'mute a member', expected: row(401, 200, 200, 403, 200, 200, 200, 200), table: 'user_mutes', column: 'user_id', act: (p) => p.client.api('PUT', `/api/v1/me/mutes/${f.regular.username}`) },
    { what: 'sign up for a beta', expected: row(401, 201, 201, 403, 403, 403, 201, 201), table: 'beta_signups', column: 'user_id', act: (p) => p.client.api('POST', `/api/v1/beta/${program}/signups`, { answers: {} }) },
    { what: 'sign up for a members-only beta', expected: row(401, 201, 201, 404, 403, 403, 201, 201), table: 'beta_signups', column: 'user_id', act: (p) => p.client.api('POST', `/api/v1/beta/${hidden}/signups`, { answers: {} }) },
    { what: 'RSVP to an event', expected: row(401, 200, 200, 403, 403, 403, 200, 200), table: 'event_rsvps', column: 'user_id', act: (p) => p.client.api('PUT', `/api/v1/events/${meetup.id}/rsvp`, { status: 'going' }) },
    { what: 'RSVP to a members-only event', expected: row(401, 200, 200, 404, 403, 403, 200, 200), table: 'event_rsvps', column: 'user_id', act: (p) => p.client.api('PUT', `/api/v1/events/${loungeMeetup.id}/rsvp`, { status: 'interested' }) },
    { what: 'RSVP through the event page form', expected: row(403, 303, 303, 403, 403, 403, 303, 303), table: 'event_rsvps', column: 'user_id', act: async (p) => p.client.postForm(`/events/${formMeetup.id}/rsvp`, { _csrf: await csrf(p, '/'), status: 'going', occurrenceId: String(formMeetup.occurrence.id) }) },
    { what: 'create an event in a public category', expected: row(401, 403, 403, 403, 403, 403, 403, 201), table: 'events', column: 'created_by', act: (p, who) => p.client.api('POST', '/api/v1/events', { title: `Event by ${who}`, categoryId: f.cats.open.id, timeZone: 'UTC', startsAt: soon(24), endsAt: soon(25) }) },
    { what: 'create an event in a category one moderates', expected: row(401, 403, 403, 400, 403, 403, 201, 201), table: 'events', column: 'created_by', act: (p, who) => p.client.api('POST', '/api/v1/events', { title: `Lounge event by ${who}`, categoryId: f.cats.members.id, timeZone: 'UTC', startsAt: soon(24), endsAt: soon(25) }) },
    { what: 'upload an image', expected: row(401, 201, 201, 403, 403, 201, 201, 201), table: 'uploads', column: 'user_id', act: async (p, who) => p.client.postMultipart('/api/v1/uploads', {}, { field: 'file', filename: `${who}.png`, data: await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).png().toBuffer() }, { 'x-csrf-token': await csrf(p, '/') }) },
    { what: 'vote in a poll', expected: row(401, 200, 200, 403, 403, 403, 200, 200), table: 'poll_ballots', column: 'user_id', act: (p) => p.client.api('POST', `/api/v1/polls/${publicPoll.id}/votes`, { choices: [publicPoll.option] }) },
    { what: 'vote in a members-only poll', expected: row(401, 200, 200, 404, 403, 403, 200, 200), table: 'poll_ballots', column: 'user_id', act: (p) => p.client.api('POST', `/api/v1/polls/${privatePoll.id}/votes`, { choices: [privatePoll.option] }) },
    { what: 'vote in a poll through the form', expected: row(403, 303, 303, 403, 403, 403, 303, 303), table: 'poll_ballots', column: 'user_id', act: async (p) => p.client.postForm(`/polls/${formPoll.id}/vote`, { _csrf: await csrf(p, '/'), choice: String(formPoll.option) }) },
    { what: 'answer a survey', expected: row(401, 201, 201, 403, 201, 201, 201, 201), table: 'survey_responses', column: 'user_id', act: (p) => p.client.api('POST', `/api/v1/surveys/${survey}/answers`, { answers: { q1: 9 } }) },
    { what: 'create an API token', expected: row(403, 200, 200, 403, 403, 200, 200, 200), table: 'api_tokens', column: 'user_id', act: async (p) => p.client.postForm('/settings/tokens', { _csrf: await csrf(p, '/settings'), name: 'script' }) },
  ]
  for (const w of writes) {
    for (const who of WHO) {
      const p = people[who]
      const before = who === 'guest' ? 0 : await count(db, w.table, w.column, p.id)
      const res = await w.act(p, who)
      t.equal(res.statusCode, w.expected[who], `${who}: ${w.what}`)
      if (who === 'guest') continue
      const allowed = res.statusCode < 300 || res.statusCode === 303
      const after = await count(db, w.table, w.column, p.id)
      t.equal(after - before, allowed ? 1 : 0, `${who}: ${w.what} — ${allowed ? 'written' : 'nothing written'}`)
    }
  }

  // Closing someone else's poll: moderators of its category and admins (logged); the lounge's moderator there.
  const closes = row(401, 403, 403, 404, 403, 403, 200, 200)
  for (const who of WHO) {
    const res = await people[who].client.api('POST', `/api/v1/polls/${privatePoll.id}/close`, {})
    t.equal(res.statusCode, closes[who], `${who}: close someone else's poll`)
  }
  t.same((await db.selectFrom('moderation_log').select('actor_id').where('action', '=', 'poll.close').execute()).map((r) => r.actor_id), [f.categoryMod.id], 'one close, logged; closing again changes nothing')

  const edits = { expected: row(401, 200, 200, 403, 403, 200, 200, 200) }
  for (const who of WHO) {
    const postId = own.get(who) ?? target.get('guest')!
    const res = await people[who].client.api('PATCH', `/api/v1/posts/${postId}`, { body: `edited by ${who}` })
    t.equal(res.statusCode, edits.expected[who], `${who}: edit own post`)
    const post = await db.selectFrom('posts').select('revision_count').where('id', '=', postId).executeTakeFirstOrThrow()
    t.equal(post.revision_count, res.statusCode === 200 ? 1 : 0, `${who}: the post changed only when allowed`)
  }

  // Editing an idea: the regular's idea (only staff), and each persona's own idea (proposed above, open).
  const ideaEdits = { others: row(401, 403, 403, 403, 403, 403, 403, 200), own: row(401, 200, 200, 403, 403, 200, 200, 200) }
  for (const who of WHO) {
    const res = await people[who].client.api('PATCH', `/api/v1/ideas/${idea}`, { title: `Dark mode for the app, said ${who}`, body: 'Please make this happen, it would help a lot.' })
    t.equal(res.statusCode, ideaEdits.others[who], `${who}: edit someone else's idea`)
    const mine = who === 'guest' ? undefined : await db.selectFrom('ideas').select('id').where('author_id', '=', people[who].id).orderBy('id').executeTakeFirst()
    const own = await people[who].client.api('PATCH', `/api/v1/ideas/${mine?.id ?? idea}`, { title: `My own idea, edited by ${who}`, body: 'Please make this happen, it would help a lot.' })
    t.equal(own.statusCode, mine || who === 'guest' ? ideaEdits.own[who] : 403, `${who}: edit own idea`)
  }
  const staffEdits = await db.selectFrom('moderation_log').select('actor_id').where('action', '=', 'idea.edit').execute()
  t.same(staffEdits.map((e) => e.actor_id), [f.admin.id], 'only the admin’s edit of another’s idea is a logged staff action')

  // The category moderator inside and outside their categories.
  const inside = await replyTo(f.regular, lounge.id, 'A lounge post')
  const outside = await replyTo(f.regular, open.id, 'A general post')
  t.equal((await f.categoryMod.client.api('PATCH', `/api/v1/posts/${inside}`, { body: 'moderated' })).statusCode, 200, 'categoryMod inside: edit')
  t.equal((await f.categoryMod.client.api('PATCH', `/api/v1/posts/${outside}`, { body: 'moderated' })).statusCode, 403, 'categoryMod outside: edit')
  t.equal((await f.categoryMod.client.api('DELETE', `/api/v1/posts/${outside}`)).statusCode, 403, 'categoryMod outside: delete')
  t.notOk((await db.selectFrom('posts').select('deleted_at').where('id', '=', outside).executeTakeFirstOrThrow()).deleted_at, 'nothing deleted outside')

  const reads: { what: string; expected: Row; act: (p: Persona) => Promise<{ statusCode: number }> }[] = [
    { what: 'members-only thread (API)', expected: row(404, 200, 200, 404, 200, 200, 200, 200), act: (p) => p.client.api('GET', `/api/v1/threads/${lounge.id}`) },
    { what: 'members-only category page', expected: row(404, 200, 200, 404, 200, 200, 200, 200), act: (p) => p.client.get(`/c/${f.cats.members.slug}`) },
    { what: 'members-only beta (API)', expected: row(404, 200, 200, 404, 200, 200, 200, 200), act: (p) => p.client.api('GET', `/api/v1/beta/${hidden}`) },
    { what: 'members-only beta page', expected: row(404, 200, 200, 404, 200, 200, 200, 200), act: (p) => p.client.get(`/beta/${hidden}`) },
    { what: 'edit history of a members-only post (page)', expected: row(404, 200, 200, 404, 200, 200, 200, 200), act: (p) => p.client.get(`/p/${lounge.postId}/revisions`) },
    { what: 'edit history of a members-only post (API)', expected: row(404, 200, 200, 404, 200, 200, 200, 200), act: (p) => p.client.api('GET', `/api/v1/posts/${lounge.postId}/revisions`) },
    { what: 'member lookup for @-mentions', expected: row(401, 200, 200, 403, 200, 200, 200, 200), act: (p) => p.client.api('GET', '/api/v1/users/search?q=adm') },
    { what: '/mod', expected: row(302, 404, 404, 404, 404, 404, 200, 200), act: (p) => p.client.get('/mod') },
    { what: '/admin', expected: row(302, 404, 404, 404, 404, 404, 404, 200), act: (p) => p.client.get('/admin') },
    { what: '/admin/jobs', expected: row(302, 404, 404, 404, 404, 404, 404, 200), act: (p) => p.client.get('/admin/jobs') },
    { what: 'admin API: suspensions', expected: row(401, 404, 404, 404, 404, 404, 404, 200), act: (p) => p.client.api('GET', '/api/v1/admin/restrictions') },
    { what: 'admin API: create a category', expected: row(401, 404, 404, 404, 404, 404, 404, 201), act: (p) => p.client.api('POST', '/api/v1/categories', { name: `Cat ${Math.random().toString(36).slice(2, 8)}` }) },
    { what: 'category editor', expected: row(302, 404, 404, 404, 404, 404, 404, 200), act: (p) => p.client.get(`/admin/categories/${f.cats.open.id}`) },
    { what: 'admin API: edit a category', expected: row(401, 404, 404, 404, 404, 404, 404, 200), act: (p) => p.client.api('PATCH', `/api/v1/categories/${f.cats.open.id}`, { description: `Edited ${Math.random()}` }) },
    { what: 'admin API: delete a category', expected: row(401, 404, 404, 404, 404, 404, 404, 400), act: (p) => p.client.api('DELETE', `/api/v1/categories/${f.cats.open.id}`, { moveTo: f.cats.open.id }) },
    { what: 'admin API: community identity', expected: row(401, 404, 404, 404, 404, 404, 404, 200), act: (p) => p.client.api('PATCH', '/api/v1/community', { tagline: `Tag ${Math.random()}` }) },
    { what: 'survey results (API)', expected: row(401, 404, 404, 404, 404, 404, 404, 200), act: (p) => p.client.api('GET', `/api/v1/surveys/${survey}/results`) },
    { what: 'survey results page', expected: row(302, 404, 404, 404, 404, 404, 404, 200), act: (p) => p.client.get(`/surveys/${survey}/results`) },
    { what: 'survey CSV', expected: row(302, 404, 404, 404, 404, 404, 404, 200), act: (p) => p.client.get(`/surveys/${survey}/results.csv`) },
    { what: 'create a survey (API)', expected: row(401, 404, 404, 404, 404, 404, 404, 201), act: (p) => p.client.api('POST', '/api/v1/surveys', { title: 'Another survey', closesAt: new Date(Date.now() + 86_400_000).toISOString(), questions: [{ id: 'q1', kind: 'text', label: 'Anything else?' }] }) },
    { what: 'survey follow-ups page', expected: row(302, 404, 404, 404, 404, 404, 404, 200), act: (p) => p.client.get('/admin/surveys/followups') },
    { what: 'the survey answer page', expected: row(302, 200, 200, 403, 200, 200, 200, 200), act: (p) => p.client.get(`/surveys/${survey}`) },
    { what: '/about', expected: row(200, 200, 200, 200, 200, 200, 200, 200), act: (p) => p.client.get('/about') },
    { what: 'admin API: schedule a member\'s deletion', expected: row(401, 404, 404, 404, 404, 404, 404, 202), act: (p) => p.client.api('POST', `/api/v1/admin/members/${leaver.id}/delete`, { mode: 'anonymize', when: 'cooling-off' }) },
    { what: 'member directory (API)', expected: row(200, 200, 200, 200, 200, 200, 200, 200), act: (p) => p.client.api('GET', '/api/v1/members') },
    { what: 'members-only event (API)', expected: row(404, 200, 200, 404, 200, 200, 200, 200), act: (p) => p.client.api('GET', `/api/v1/events/${loungeMeetup.id}`) },
    { what: 'members-only event page', expected: row(404, 200, 200, 404, 200, 200, 200, 200), act: (p) => p.client.get(`/events/${loungeMeetup.id}`) },
    { what: 'members-only event calendar (.ics)', expected: row(404, 200, 200, 404, 200, 200, 200, 200), act: (p) => p.client.get(`/events/${loungeMeetup.id}/calendar.ics`) },
    { what: 'event check-in list (hosts)', expected: row(302, 403, 403, 403, 403, 403, 403, 200), act: (p) => p.client.get(`/events/${meetup.id}/dates/${meetup.occurrence.id}/check-in`) },
    { what: 'members-only event check-in list', expected: row(302, 403, 403, 404, 403, 403, 200, 200), act: (p) => p.client.get(`/events/${loungeMeetup.id}/dates/${loungeMeetup.occurrence.id}/check-in`) },
    { what: 'edit an event (API)', expected: row(401, 403, 403, 403, 403, 403, 403, 200), act: (p) => p.client.api('PATCH', `/api/v1/events/${meetup.id}`, { body: `Edited ${Math.random()}` }) },
    { what: 'check in at an event (API)', expected: row(401, 403, 403, 403, 403, 403, 403, 404), act: (p) => p.client.api('PUT', `/api/v1/events/${meetup.id}/dates/${meetup.occurrence.id}/check-ins/${f.regular.id}`) },
    { what: 'member directory page', expected: row(200, 200, 200, 200, 200, 200, 200, 200), act: (p) => p.client.get('/u') },
    { what: 'own data export status (API)', expected: row(401, 200, 200, 200, 200, 200, 200, 200), act: (p) => p.client.api('GET', '/api/v1/me/export') },
    // The guard answers before the input is read: a bad name is a 400 only for those who may rename.
    { what: 'change username (API)', expected: row(401, 400, 400, 403, 403, 400, 400, 400), act: (p) => p.client.api('PUT', '/api/v1/me/username', { username: 'x', password: 'whatever' }) },
  ]
  for (const r of reads) {
    for (const who of WHO) t.equal((await r.act(people[who])).statusCode, r.expected[who], `${who}: ${r.what}`)
  }
  t.notOk((await people.suspended.client.api('GET', '/api/v1/beta')).data.items.some((b: { id: number }) => b.id === hidden), 'suspended: the beta list hides members-only programs')
  // Pages say why instead of offering a form that would be refused.
  const ideaPage = await people.silenced.client.get(`/ideas/${idea}`)
  t.notMatch(ideaPage.body, /Add a comment/, 'silenced: no comment box on an idea')
  t.match(ideaPage.body, /You are silenced until/, 'and the page says why')
  const threadPage = await people.unverified.client.get(open.url)
  t.notMatch(threadPage.body, /Reply to the thread/, 'unverified: no reply box')
  t.match(threadPage.body, /Confirm your email address before posting/)

  // The live socket asks the same guard: members-only channels refuse a suspended session.
  const live = row('error', 'subscribed', 'subscribed', 'error', 'subscribed', 'subscribed', 'subscribed', 'subscribed')
  for (const who of WHO) {
    const socket = await LiveClient.connect(base, people[who].client.cookieHeader ? { cookie: people[who].client.cookieHeader } : {})
    sockets.push(socket)
    t.equal((await socket.subscribe(`category:${f.cats.members.id}`)).type, live[who], `${who}: live category channel`)
    t.equal((await socket.subscribe(`thread:${lounge.id}`)).type, live[who], `${who}: live thread channel`)
    t.equal((await socket.subscribe(`beta:${hidden}`)).type, live[who], `${who}: live members-only beta channel`)
    t.equal((await socket.subscribe(`event:${loungeMeetup.id}`)).type, live[who], `${who}: live members-only event channel`)
    t.equal((await socket.subscribe('mod')).type, who === 'categoryMod' || who === 'admin' ? 'subscribed' : 'error', `${who}: live mod channel`)
  }
})

t.test('a suspended admin keeps no staff power on their open session', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const other = await persona(app, db, { stem: 'owner2', role: 'admin', trustLevel: 4 })
  t.equal((await f.admin.client.get('/admin')).statusCode, 200)
  await restrict(db, f.admin.id, 'suspended')
  t.equal((await f.admin.client.get('/admin')).statusCode, 404, '/admin is gone at once')
  t.equal((await f.admin.client.api('POST', '/api/v1/categories', { name: 'Sneaky' })).statusCode, 404, 'so is the admin API')
  t.equal((await f.admin.client.api('POST', `/api/v1/admin/members/${f.admin.id}/lift`, { kind: 'suspension' })).statusCode, 404, 'they cannot lift their own suspension')
  t.equal((await f.admin.client.get('/mod')).statusCode, 404, 'nor moderate')
  t.notMatch((await f.admin.client.get('/')).body, /href="\/admin"/, 'the header no longer offers /admin')
  t.equal((await db.selectFrom('categories').select('id').where('name', '=', 'Sneaky').execute()).length, 0)
  t.equal((await other.client.get('/admin')).statusCode, 200, 'another admin is unaffected')
})

t.test('rank rules: a category moderator cannot suspend an owner or a fellow moderator', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const flagger = await persona(app, db, { stem: 'flagger', trustLevel: 2 })
  const globalMod = await persona(app, db, { stem: 'globalmod', role: 'moderator', trustLevel: 3 })
  const thread = await startThread(f.member, f.cats.members.id)
  const flagged = async (author: Persona) => {
    const postId = await replyTo(author, thread.id, `Flag me, by ${author.username}`)
    return (await flagger.client.api('POST', `/api/v1/posts/${postId}/flags`, { reason: 'inappropriate' })).data.id as number
  }
  const tenYears = { action: 'agree', penalty: 'suspend', days: 3650, reason: 'gone' }

  for (const [who, target] of [['the owner', f.admin], ['a global moderator', globalMod]] as const) {
    const flagId = await flagged(target)
    const res = await f.categoryMod.client.api('POST', `/api/v1/mod/flags/${flagId}/resolve`, tenYears)
    t.equal(res.statusCode, 403, `categoryMod cannot suspend ${who}`)
    t.match(res.data.error, /Only admins|Admins cannot/)
    const user = await db.selectFrom('users').select('suspended_until').where('id', '=', target.id).executeTakeFirstOrThrow()
    t.equal(user.suspended_until, null, `${who} is not suspended`)
    t.equal((await db.selectFrom('flags').select('status').where('id', '=', flagId).executeTakeFirstOrThrow()).status, 'pending', 'the flag stays pending')
    t.equal((await f.categoryMod.client.api('POST', `/api/v1/mod/flags/${flagId}/resolve`, { action: 'agree' })).statusCode, 200, `agreeing without a penalty still works on ${who}'s post`)
  }
  const otherMod = await persona(app, db, { stem: 'catmod2', trustLevel: 2 })
  await app.hearth.categories.appointModerator(f.admin.id, f.cats.open.id, otherMod.username)
  const onMod = await flagged(otherMod)
  t.equal((await globalMod.client.api('POST', `/api/v1/mod/flags/${onMod}/resolve`, { ...tenYears, days: 3 })).statusCode, 403, 'only admins suspend category moderators')
  t.equal((await f.admin.client.api('POST', `/api/v1/mod/flags/${onMod}/resolve`, { ...tenYears, days: 3 })).statusCode, 200, 'admins may')

  const onMember = await flagged(f.regular)
  t.equal((await f.categoryMod.client.api('POST', `/api/v1/mod/flags/${onMember}/resolve`, { ...tenYears, days: 3 })).statusCode, 200, 'a member in their category: allowed')
  t.ok((await db.selectFrom('users').select('suspended_until').where('id', '=', f.regular.id).executeTakeFirstOrThrow()).suspended_until)

  const self = await f.admin.client.submit('/admin/members', { username: f.admin.username, role: 'admin', trustLevel: '2', reason: 'me' }, `/admin?member=${f.admin.username}`)
  t.equal(self.statusCode, 403, 'nobody changes their own standing')
  t.equal((await db.selectFrom('users').select('trust_level').where('id', '=', f.admin.id).executeTakeFirstOrThrow()).trust_level, 4)
  t.match((await f.admin.client.get(`/admin?member=${f.admin.username}`)).body, /You cannot change your own role/)
})

t.test('a suspension takes effect at once on an open session, an API token and a live socket', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const lounge = await startThread(f.admin, f.cats.members.id, 'Lounge thread')
  const idea = (await f.admin.client.api('POST', '/api/v1/ideas', { title: 'Dark mode for the app', body: 'Please make this happen, it would help a lot.' })).data.id as number
  const page = await f.member.client.get('/settings')
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!
  const made = await f.member.client.postForm('/settings/tokens', { _csrf: csrf, name: 'script' })
  const token = /hth_[A-Za-z0-9_.-]+/.exec(made.body)![0]
  const bearer = { authorization: `Bearer ${token}` }
  const base = await serve(testApp)
  const socket = await LiveClient.connect(base, { cookie: f.member.client.cookieHeader })
  t.teardown(() => socket.close())
  t.equal((await socket.subscribe(`category:${f.cats.members.id}`)).type, 'subscribed')
  t.equal((await f.member.client.api('GET', `/api/v1/threads/${lounge.id}`, undefined, bearer)).statusCode, 200, 'the token reads the lounge')

  const post = await replyTo(f.member, lounge.id, 'Something rude')
  const flag = await f.regular.client.api('POST', `/api/v1/posts/${post}/flags`, { reason: 'inappropriate' })
  const resolved = await f.categoryMod.client.api('POST', `/api/v1/mod/flags/${flag.data.id}/resolve`, { action: 'agree', penalty: 'suspend', days: 2, reason: 'Be kind' })
  t.equal(resolved.statusCode, 200)

  t.equal((await f.member.client.api('GET', `/api/v1/threads/${lounge.id}`)).statusCode, 404, 'the session no longer reads the lounge')
  t.equal((await f.member.client.api('GET', `/api/v1/threads/${lounge.id}`, undefined, bearer)).statusCode, 404, 'nor does the token')
  const vote = await f.member.client.api('PUT', `/api/v1/ideas/${idea}/vote`, undefined, bearer)
  t.equal(vote.statusCode, 403, 'the token cannot vote')
  t.match(vote.data.error, /suspended until/)
  t.equal((await db.selectFrom('idea_votes').select('user_id').where('user_id', '=', f.member.id).execute()).length, 0)
  const dropped = await socket.next((fr) => fr.type === 'error' && fr.channel === `category:${f.cats.members.id}`, 3_000)
  t.ok(dropped, 'the live subscription to the lounge is dropped')
  t.equal((await socket.subscribe(`category:${f.cats.members.id}`)).type, 'error', 'and cannot be made again')
})

t.test('owners see active suspensions and silences in /admin and lift them; lifting is logged', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.admin, f.cats.open.id)
  for (const [who, penalty] of [[f.member, 'suspend'], [f.regular, 'silence']] as const) {
    const post = await replyTo(who, thread.id, 'Off the rails')
    const flag = await f.admin.client.api('POST', `/api/v1/posts/${post}/flags`, { reason: 'inappropriate' })
    t.equal((await f.admin.client.api('POST', `/api/v1/mod/flags/${flag.data.id}/resolve`, { action: 'agree', penalty, days: 5, reason: `Reason for ${who.username}` })).statusCode, 200)
  }
  const admin = await f.admin.client.get('/admin')
  t.match(admin.body, /Suspended and silenced members/)
  t.match(admin.body, new RegExp(`data-restriction="${f.member.id}-suspension"[\\s\\S]*?${f.member.username}[\\s\\S]*?Suspended[\\s\\S]*?Reason for ${f.member.username}[\\s\\S]*?${f.admin.username}`))
  t.match(admin.body, new RegExp(`data-restriction="${f.regular.id}-silence"`))
  const listed = await f.admin.client.api('GET', '/api/v1/admin/restrictions')
  t.match(listed.data.items, [{ username: f.member.username, kind: 'suspension', reason: `Reason for ${f.member.username}`, by: f.admin.username }, { username: f.regular.username, kind: 'silence' }].sort((a, b) => a.username.localeCompare(b.username)))

  t.equal((await f.categoryMod.client.api('POST', `/api/v1/admin/members/${f.member.id}/lift`, { kind: 'suspension' })).statusCode, 404, 'moderators cannot lift')
  const lifted = await f.admin.client.submit(`/admin/members/${f.member.id}/lift`, { kind: 'suspension', reason: 'Apologised' }, '/admin')
  t.equal(lifted.statusCode, 303)
  t.equal((await db.selectFrom('users').select('suspended_until').where('id', '=', f.member.id).executeTakeFirstOrThrow()).suspended_until, null)
  t.equal((await f.member.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'Sorry, everyone' })).statusCode, 201, 'the member posts again at once')

  const api = await f.admin.client.api('POST', `/api/v1/admin/members/${f.regular.id}/lift`, { kind: 'silence' })
  t.match(api, { statusCode: 200, data: { userId: f.regular.id, kind: 'silence' } })
  t.equal((await f.admin.client.api('POST', `/api/v1/admin/members/${f.regular.id}/lift`, { kind: 'silence' })).statusCode, 409, 'nothing left to lift')
  const log = await db.selectFrom('moderation_log').select(['actor_id', 'action', 'target_id', 'reason']).where('action', 'in', ['member.unsuspend', 'member.unsilence']).orderBy('id').execute()
  t.same(log, [
    { actor_id: f.admin.id, action: 'member.unsuspend', target_id: String(f.member.id), reason: 'Apologised' },
    { actor_id: f.admin.id, action: 'member.unsilence', target_id: String(f.regular.id), reason: '' },
  ])
  t.match((await f.admin.client.get('/admin')).body, /Nobody is suspended or silenced/)
})

t.test('spam defence × every persona: the approval queue, applications, invitations, the spammer action, watched words', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const suspended = await persona(app, db, { stem: 'suspended', trustLevel: 2 })
  const silenced = await persona(app, db, { stem: 'silenced', trustLevel: 2 })
  const unverified = await persona(app, db, { stem: 'unverified', trustLevel: 2 })
  for (const [p, standing] of [[suspended, 'suspended'], [silenced, 'silenced'], [unverified, 'unverified']] as const) await restrict(db, p.id, standing)
  await app.hearth.settings.set('require_verified_email_to_post', true)
  const guest = { id: 0, username: 'guest', email: '', client: new Client(app) } satisfies Persona
  const people: Record<Who, Persona> = { guest, tl0: f.newbie, member: f.member, suspended, silenced, unverified, categoryMod: f.categoryMod, admin: f.admin }

  const expect: Record<string, Row> = {
    'GET /api/v1/mod/queue': row(401, 404, 404, 404, 404, 404, 200, 200),
    'GET /mod/approvals': row(302, 404, 404, 404, 404, 404, 200, 200),
    'GET /api/v1/mod/applications': row(401, 404, 404, 404, 404, 404, 404, 200),
    'POST /api/v1/invites': row(401, 403, 403, 403, 403, 403, 403, 201),
    'GET /admin/spam': row(302, 404, 404, 404, 404, 404, 404, 200),
    'POST /api/v1/admin/watched-words': row(401, 404, 404, 404, 404, 404, 404, 201),
    'POST spammer': row(401, 404, 404, 404, 404, 404, 404, 200),
  }
  for (const who of WHO) {
    const c = people[who].client
    const target = await persona(app, db, { stem: 'target', trustLevel: 0 })
    const got: Record<string, number> = {
      'GET /api/v1/mod/queue': (await c.api('GET', '/api/v1/mod/queue')).statusCode,
      'GET /mod/approvals': (await c.get('/mod/approvals')).statusCode,
      'GET /api/v1/mod/applications': (await c.api('GET', '/api/v1/mod/applications')).statusCode,
      'POST /api/v1/invites': (await c.api('POST', '/api/v1/invites', {})).statusCode,
      'GET /admin/spam': (await c.get('/admin/spam')).statusCode,
      'POST /api/v1/admin/watched-words': (await c.api('POST', '/api/v1/admin/watched-words', { pattern: `word${who}`, action: 'flag' })).statusCode,
      'POST spammer': (await c.api('POST', `/api/v1/admin/members/${target.id}/spammer`, { reason: 'spam' })).statusCode,
    }
    for (const [route, statuses] of Object.entries(expect)) t.equal(got[route], statuses[who], `${route} as ${who}`)
    const marked = await db.selectFrom('users').select('suspended_until').where('id', '=', target.id).executeTakeFirstOrThrow()
    t.equal(marked.suspended_until !== null, who === 'admin', `the spammer action changed something only for the admin (${who})`)
  }
  t.equal((await db.selectFrom('watched_words').select('id').execute()).length, 1, 'only the admin added a watched word')

  // Rank rules: a global moderator marks members, never an admin or a fellow moderator.
  const globalMod = await persona(app, db, { stem: 'globalmod', role: 'moderator', trustLevel: 3 })
  const otherMod = await persona(app, db, { stem: 'othermod', role: 'moderator', trustLevel: 3 })
  t.equal((await globalMod.client.api('POST', `/api/v1/admin/members/${f.admin.id}/spammer`, {})).statusCode, 403)
  t.equal((await globalMod.client.api('POST', `/api/v1/admin/members/${otherMod.id}/spammer`, {})).statusCode, 403)
  t.equal((await globalMod.client.api('POST', `/api/v1/admin/members/${f.categoryMod.id}/spammer`, {})).statusCode, 403, 'category moderators are only for admins to mark')
  t.equal((await globalMod.client.api('POST', `/api/v1/admin/members/${globalMod.id}/spammer`, {})).statusCode, 403, 'never oneself')
  t.equal((await globalMod.client.api('POST', `/api/v1/admin/members/${f.newbie.id}/spammer`, {})).statusCode, 200)
})
