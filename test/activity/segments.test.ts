import t from 'tap'
import type { Db } from '../../src/core/db.js'
import type { StageName } from '../../src/core/db-types.js'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { replyTo, startThread } from '../helpers/forum.js'
import { persona } from '../helpers/personas.js'

const DAY = 86_400_000
const day = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString().slice(0, 10)

// The nightly job's output, set directly: a segment reads stages and active days.
async function staged(db: Db, userId: number, stage: StageName, options: { helped?: number; lastActiveDaysAgo?: number; drifting?: boolean } = {}) {
  await db
    .insertInto('member_stages')
    .values({ user_id: userId, stage, drifting: options.drifting ?? false, score: 10, recent_score: 1, helped: options.helped ?? 0, since: day(5) })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ stage, helped: options.helped ?? 0, drifting: options.drifting ?? false }))
    .execute()
  if (options.lastActiveDaysAgo !== undefined) await db.insertInto('member_days').values({ user_id: userId, day: day(options.lastActiveDaysAgo) }).execute()
}

t.test('built-in segments pick out the right members, and owners act on them', async (t) => {
  const { app, db } = await build(t)
  const admin = await persona(app, db, { stem: 'admin', role: 'admin', trustLevel: 4 })
  const cat = (await admin.client.api('POST', '/api/v1/categories', { name: 'General', slug: 'general' })).data.category.id as number
  const who = async (stem: string) => persona(app, db, { stem, trustLevel: 1 })
  const activeChamp = await who('champa')
  const driftingChamp = await who('champd')
  const goneChamp = await who('champg')
  const newcomer = await who('newq')
  const answered = await who('newa')
  const helper = await who('helper')
  const helperMod = await who('helpmod')
  // Signing up counted as today's visit; this fixture sets each member's last active day itself.
  await db.deleteFrom('member_days').execute()
  await staged(db, admin.id, 'contributor', { lastActiveDaysAgo: 1 })
  await staged(db, activeChamp.id, 'champion', { helped: 9, lastActiveDaysAgo: 1 })
  await staged(db, driftingChamp.id, 'champion', { helped: 7, lastActiveDaysAgo: 20 })
  await staged(db, goneChamp.id, 'champion', { helped: 6, lastActiveDaysAgo: 90 })
  await staged(db, newcomer.id, 'newcomer')
  await staged(db, answered.id, 'newcomer')
  await staged(db, helper.id, 'contributor', { helped: 4, lastActiveDaysAgo: 2 })
  await staged(db, helperMod.id, 'contributor', { helped: 5, lastActiveDaysAgo: 2 })
  await startThread(newcomer, cat, 'My first question here', 'Nobody has answered yet.')
  const th = await startThread(answered, cat, 'A question someone answered', 'Thanks in advance.')
  await replyTo(helper, th.id, 'Here is how.', th.postId)
  await app.hearth.categories.appointModerator(admin.id, cat, helperMod.username)

  const names = async (key: string) => {
    const page = await admin.client.get(`/admin/segments/${key}`)
    t.equal(page.statusCode, 200, key)
    return [...page.body.matchAll(/<td><a href="\/u\/([^"]+)">/g)].map((m) => m[1]).sort()
  }
  t.same(await names('champions'), [activeChamp, driftingChamp, goneChamp].map((p) => p.username).sort())
  t.same(await names('drifting-champions'), [driftingChamp.username], 'silent 14–60 days, not 1 or 90')
  t.same(await names('newcomers-unanswered'), [newcomer.username], 'a newcomer whose thread nobody answered')
  t.same(await names('helpful-not-moderators'), [helper, activeChamp, driftingChamp, goneChamp].map((p) => p.username).sort(), 'helpful, and not moderating anything yet (the moderator is left out)')

  const list = await admin.client.get('/admin/segments')
  t.match(list.body, /Drifting champions<\/a> <span class="badge">1 member<\/span>/, 'the list counts each segment')

  // Message a segment: exactly its members are notified, and the action is logged.
  const bad = await admin.client.submit('/admin/segments/champions/message', { text: '  ' }, '/admin/segments/champions')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /Write the message/)
  const offsite = await admin.client.submit('/admin/segments/champions/message', { text: 'Hi', url: 'https://evil.example/' }, '/admin/segments/champions')
  t.match(offsite.body, /Link to a page of this community/)
  const sent = await admin.client.submit('/admin/segments/champions/message', { text: 'Thank you for all your help this year!', url: '/about' }, '/admin/segments/champions')
  t.equal(sent.statusCode, 303)
  t.match(sent.headers.location, /sent=3/)
  const notified = await db.selectFrom('notifications').select('user_id').where('kind', '=', 'community.message').execute()
  t.same(notified.map((n) => n.user_id).sort(), [activeChamp.id, driftingChamp.id, goneChamp.id].sort())
  t.match((await activeChamp.client.get('/notifications')).body, /Thank you for all your help this year!/)
  const logged = await db.selectFrom('moderation_log').selectAll().where('action', '=', 'segment.message').executeTakeFirstOrThrow()
  t.match(logged.details, { segment: 'Champions', members: 3 })

  // Invite a segment to a beta program.
  const program = await admin.client.api('POST', '/api/v1/beta', { title: 'Offline mode beta', description: 'Try it first.', capacity: 10 })
  const invite = await admin.client.submit('/admin/segments/drifting-champions/beta-invite', { programId: String(program.data.id) }, '/admin/segments/drifting-champions')
  t.equal(invite.statusCode, 303)
  const invited = await db.selectFrom('notifications').select(['user_id', 'url']).where('kind', '=', 'beta.invited').execute()
  t.same(invited, [{ user_id: driftingChamp.id, url: `/beta/${program.data.id}` }])

  // Export as CSV.
  const csv = await admin.client.get('/admin/segments/champions/members.csv')
  t.match(csv.headers['content-type'], /text\/csv/)
  t.match(csv.headers['content-disposition'], /attachment; filename="segment-champions.csv"/)
  const lines = csv.body.trim().split('\r\n')
  t.equal(lines[0], 'username,email,stage,drifting,score,members_helped,joined_at,last_active')
  t.equal(lines.length, 4)
  t.match(csv.body, new RegExp(`${driftingChamp.username},${driftingChamp.email},champion,false,10,7,\\d{4}-\\d\\d-\\d\\d,${day(20)}`))

  // A segment of one's own: validated, saved, listed, deletable.
  const noName = await admin.client.submit('/admin/segments', { name: '', minHelped: '2' }, '/admin/segments')
  t.equal(noName.statusCode, 400)
  t.match(noName.body, /Name the segment/)
  const badNumber = await admin.client.submit('/admin/segments', { name: 'X', minHelped: '-3' }, '/admin/segments')
  t.match(badNumber.body, /Enter a whole number of 0 or more/)
  const saved = await admin.client.submit('/admin/segments', { name: 'Active contributors', stages: 'contributor', silentMaxDays: '7' }, '/admin/segments')
  t.equal(saved.statusCode, 303)
  const key = /\/admin\/segments\/(\d+)/.exec(saved.headers.location as string)![1]!
  t.same(await names(key), [admin.username, helper.username, helperMod.username].sort())
  t.match((await admin.client.get('/admin/segments')).body, /Active contributors<\/a> <span class="badge">3 members<\/span>/)
  t.equal((await admin.client.submit(`/admin/segments/${key}/delete`, {}, `/admin/segments/${key}`)).statusCode, 303)
  t.equal((await admin.client.get(`/admin/segments/${key}`)).statusCode, 404)

  // Only owners: members and moderators get 404, guests are sent to log in.
  for (const path of ['/admin/segments', '/admin/segments/champions', '/admin/segments/champions/members.csv']) {
    t.equal((await helper.client.get(path)).statusCode, 404, `a member: ${path}`)
  }
  t.equal((await new Client(app).get('/admin/segments')).statusCode, 302)
  t.equal((await helper.client.submit('/admin/segments/champions/message', { text: 'spam' }, '/settings')).statusCode, 404)
})
