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

t.test('invite-only: a referral link is an invitation when its owner may invite, and campaign links always are', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  await app.hearth.settings.set('spam_signup_mode', 'invite')
  const arrive = async (code: string) => {
    const visitor = new Client(app)
    t.equal((await visitor.get(`/r/${code}`)).statusCode, 302)
    return visitor
  }
  const signUp = (visitor: Client, username: string) =>
    visitor.api('POST', '/api/v1/auth/signup', { username, email: `${username}@example.test`, password: PASSWORD })

  // A trust level 1 member's link: they may not invite (staff only), so it does not open the door.
  const memberLink = await app.hearth.referrals.linkFor(f.member.id)
  const viaMember = await arrive(memberLink.code)
  t.match((await viaMember.get('/signup')).body, /Invitation code/, 'the form still asks for a code')
  const refused = await signUp(viaMember, 'viamember')
  t.equal(refused.statusCode, 400)
  t.equal(refused.data.field, 'invite')

  // Staff's own link admits, and the sign-up is credited to them.
  const adminLink = await app.hearth.referrals.linkFor(f.admin.id)
  const viaAdmin = await arrive(adminLink.code)
  const page = await viaAdmin.get('/signup')
  t.notMatch(page.body, /Invitation code/, 'no code to paste')
  t.notMatch(page.body, /needs an invitation/)
  const admitted = await signUp(viaAdmin, 'viaadmin')
  t.equal(admitted.statusCode, 201, admitted.body)
  const invitee = await db.selectFrom('users').select(['id', 'invited_by']).where('username', '=', 'viaadmin').executeTakeFirstOrThrow()
  t.equal(invitee.invited_by, f.admin.id, 'invited by the link’s owner')
  t.equal((await db.selectFrom('referrals').select('referrer_id').where('user_id', '=', invitee.id).executeTakeFirstOrThrow()).referrer_id, f.admin.id)

  // When members of trust level 2 may invite, their links admit too; trust level 1 still does not.
  await app.hearth.settings.set('spam_invites_by', 'members')
  const regularLink = await app.hearth.referrals.linkFor(f.regular.id)
  t.equal((await signUp(await arrive(regularLink.code), 'viaregular')).statusCode, 201)
  t.equal((await signUp(await arrive(memberLink.code), 'viamember2')).statusCode, 400)

  // An owner's campaign link admits, with nobody as the inviter; a disabled one does not.
  const [campaign] = await db.insertInto('referral_links').values({ code: 'spring-news', name: 'Spring newsletter', created_by: f.admin.id }).returning('code').execute()
  t.equal((await signUp(await arrive(campaign!.code), 'viacampaign')).statusCode, 201)
  t.equal((await db.selectFrom('users').select('invited_by').where('username', '=', 'viacampaign').executeTakeFirstOrThrow()).invited_by, null)
  const visitor = await arrive(campaign!.code)
  await db.updateTable('referral_links').set({ disabled_at: new Date() }).where('code', '=', campaign!.code).execute()
  t.equal((await signUp(visitor, 'viadisabled')).statusCode, 400, 'a link disabled meanwhile no longer admits')
})
