import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, startThread } from '../helpers/forum.js'
import { PASSWORD, persona, restrict } from '../helpers/personas.js'

t.test('changing a username: checked like sign-up, old links redirect, the old name is held, changes are paced', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const alice = await persona(app, db, { stem: 'alice', trustLevel: 1 })
  const old = alice.username
  // Written before the change: a mention of the old name.
  const thread = await startThread(f.regular, f.cats.open.id, 'Who knows gardens?', `Ask @${old}, they know.`)

  const cases: [Record<string, unknown>, number, string, RegExp][] = [
    [{ username: 'fresh_name', password: 'not the password' }, 400, 'password', /not right/],
    [{ username: 'admin', password: PASSWORD }, 400, 'username', /reserved/],
    [{ username: 'deleted-12', password: PASSWORD }, 400, 'username', /reserved/],
    [{ username: 'a b', password: PASSWORD }, 400, 'username', /letters, digits/],
    [{ username: 'x'.repeat(21), password: PASSWORD }, 400, 'username', /at most 20/],
    [{ username: f.regular.username.toUpperCase(), password: PASSWORD }, 409, 'username', /taken/],
    [{ username: old, password: PASSWORD }, 400, 'username', /already your username/],
  ]
  for (const [body, status, field, message] of cases) {
    const res = await alice.client.api('PUT', '/api/v1/me/username', body)
    t.equal(res.statusCode, status, `${JSON.stringify(body.username)}: status`)
    t.equal(res.data.field, field)
    t.match(res.data.error, message)
  }
  t.equal((await db.selectFrom('users').select('username').where('id', '=', alice.id).executeTakeFirstOrThrow()).username, old, 'nothing changed')

  // Through the settings form, as a member would.
  const changed = await alice.client.submit('/settings/username', { username: 'Alicia_new', password: PASSWORD }, '/settings')
  t.equal(changed.statusCode, 303)
  t.equal(changed.headers.location, '/settings?saved=username#username')
  t.equal((await alice.client.api('GET', '/api/v1/me')).data.user.username, 'Alicia_new')

  // The old profile URL, in any case, redirects permanently; so does the old mention link.
  const guest = new Client(app)
  for (const name of [old, old.toUpperCase()]) {
    const res = await guest.get(`/u/${name}`)
    t.equal(res.statusCode, 301, `/u/${name} redirects`)
    t.equal(res.headers.location, '/u/Alicia_new')
  }
  const page = await guest.get(`/t/${thread.id}`)
  const href = new RegExp(`href="(/u/${old})"`).exec(page.body)?.[1]
  t.ok(href, 'the old post still links the name it was written with')
  t.equal((await guest.get(href!)).headers.location, '/u/Alicia_new', 'and that link leads to the member')
  t.equal((await guest.get('/u/Alicia_new')).statusCode, 200)

  // Paced: a second change is refused until the interval passes (a case change is always fine).
  const again = await alice.client.api('PUT', '/api/v1/me/username', { username: 'Alicia_third', password: PASSWORD })
  t.equal(again.statusCode, 400)
  t.match(again.data.error, /changed your username recently/)
  t.match((await alice.client.get('/settings')).body, /data-username-wait/, 'settings say when the next change is possible')
  t.equal((await alice.client.api('PUT', '/api/v1/me/username', { username: 'alicia_NEW', password: PASSWORD })).statusCode, 200, 'a change of case only')

  // Held: nobody else can take the old name, by signing up or renaming.
  const signup = await new Client(app).api('POST', '/api/v1/auth/signup', { username: old, email: 'other@example.test', password: PASSWORD })
  t.equal(signup.statusCode, 409)
  t.equal(signup.data.field, 'username')
  const grab = await f.member.client.api('PUT', '/api/v1/me/username', { username: old.toUpperCase(), password: PASSWORD })
  t.equal(grab.statusCode, 409, 'renaming to a held name is refused')

  // The member may take their old name back (when the interval allows).
  await app.hearth.settings.set('username_change_days', 0)
  t.equal((await alice.client.api('PUT', '/api/v1/me/username', { username: old, password: PASSWORD })).statusCode, 200)
  t.equal((await guest.get(`/u/${old}`)).statusCode, 200, 'their own name again')
  t.equal((await guest.get('/u/alicia_NEW')).statusCode, 301, 'and the name they left redirects to them')
  t.equal((await db.selectFrom('username_history').select('username').where('user_id', '=', alice.id).execute()).map((h) => h.username.toLowerCase()).includes(old.toLowerCase()), false, 'a current name is not history')

  // Once the hold ends, the name is free: whoever claims it owns /u/<name> from then on.
  await alice.client.api('PUT', '/api/v1/me/username', { username: 'Alicia_final', password: PASSWORD })
  await db.updateTable('username_history').set({ held_until: new Date(Date.now() - 1000) }).where('user_id', '=', alice.id).execute()
  t.equal((await f.member.client.api('PUT', '/api/v1/me/username', { username: old, password: PASSWORD })).statusCode, 200, 'claimed after the hold')
  t.equal((await guest.get(`/u/${old}`)).statusCode, 200, 'the claimant\'s profile, no redirect')
  t.match((await guest.get(`/u/${old}`)).body, new RegExp(old), 'shows the new holder')
})

t.test('suspended or silenced members cannot change their username; guests get 401', async (t) => {
  const { app, db } = await build(t)
  const silenced = await persona(app, db, { stem: 'quiet', trustLevel: 1 })
  await restrict(db, silenced.id, 'silenced')
  const res = await silenced.client.api('PUT', '/api/v1/me/username', { username: 'new_face', password: PASSWORD })
  t.equal(res.statusCode, 403)
  t.match(res.data.error, /silenced/)
  t.equal((await new Client(app).api('PUT', '/api/v1/me/username', { username: 'new_face', password: PASSWORD })).statusCode, 401)
})

t.test('two members racing for the same new name: exactly one gets it', async (t) => {
  const { app, db } = await build(t)
  const racers = await Promise.all([persona(app, db, { stem: 'racer' }), persona(app, db, { stem: 'racer' })])
  const results = await Promise.all(racers.map((r) => r.client.api('PUT', '/api/v1/me/username', { username: 'TheOneName', password: PASSWORD })))
  t.same(results.map((r) => r.statusCode).sort(), [200, 409])
  t.equal((await db.selectFrom('users').select('id').where('username', 'ilike', 'theonename').execute()).length, 1)
})
