import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, startThread } from '../helpers/forum.js'
import { PASSWORD, persona } from '../helpers/personas.js'

t.test('invite-only: links from staff (and trust level 2 members when allowed), each used as many times as it says', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  await app.hearth.settings.set('spam_signup_mode', 'invite')
  const without = await new Client(app).api('POST', '/api/v1/auth/signup', { username: 'uninvited', email: 'u@example.test', password: PASSWORD })
  t.equal(without.statusCode, 400)
  t.equal(without.data.field, 'invite')

  t.equal((await f.regular.client.api('POST', '/api/v1/invites', {})).statusCode, 403, 'staff only by default')
  await app.hearth.settings.set('spam_invites_by', 'members')
  t.equal((await f.member.client.api('POST', '/api/v1/invites', {})).statusCode, 403, 'trust level 1 may not')
  const invite = await f.regular.client.api('POST', '/api/v1/invites', { maxUses: 5 })
  t.equal(invite.statusCode, 201)
  t.equal(invite.data.maxUses, 1, 'members’ links work once')
  const code = new URL(invite.data.url).searchParams.get('invite')!
  const page = await new Client(app).get(`/signup?invite=${code}`)
  t.match(page.body, /You were invited/)
  const joined = await new Client(app).api('POST', '/api/v1/auth/signup', { username: 'invitee', email: 'invitee@example.test', password: PASSWORD, invite: code })
  t.equal(joined.statusCode, 201)
  const row = await db.selectFrom('users').select('invited_by').where('username', '=', 'invitee').executeTakeFirstOrThrow()
  t.equal(row.invited_by, f.regular.id, 'who invited them is kept')
  const again = await new Client(app).api('POST', '/api/v1/auth/signup', { username: 'invitee2', email: 'invitee2@example.test', password: PASSWORD, invite: code })
  t.equal(again.statusCode, 400)
  t.match(again.data.error, /used up/)
})
