import t from 'tap'
import { build } from '../helpers/app.js'
import { Client } from '../helpers/client.js'
import { forum, startThread } from '../helpers/forum.js'
import { PASSWORD, persona } from '../helpers/personas.js'

t.test('the sign-up form: a honeypot and a minimum time, from a signed timestamp', async (t) => {
  const { app, db } = await build(t)
  const browser = new Client(app)
  const page = await browser.get('/signup')
  t.match(page.body, /name="started" value="[0-9a-z]+\.[\w-]+"/, 'the form carries its timing token')
  t.match(page.body, /name="website"/, 'and a field people never see')

  const quick = await browser.submit('/signup', { username: 'quickbot', email: 'quick@example.test', password: PASSWORD })
  t.equal(quick.statusCode, 400, 'submitted faster than a person types')
  t.match(quick.body, /quicker than a person/)
  t.match(quick.body, /value="quickbot"/, 'the typed values are kept for a person to send again')

  await app.hearth.settings.set('spam_signup_min_seconds', 0)
  const filled = await browser.submit('/signup', { username: 'honeybot', email: 'honey@example.test', password: PASSWORD, website: 'http://spam.example' })
  t.equal(filled.statusCode, 400, 'the hidden field filled in')
  t.match(filled.body, /could not tell you from a bot/)
  const noToken = await browser.postForm('/signup', { _csrf: /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!, username: 'tokenless', email: 't@example.test', password: PASSWORD })
  t.equal(noToken.statusCode, 400, 'no timing token')
  t.equal(await db.selectFrom('users').select('id').where('username', 'in', ['quickbot', 'honeybot', 'tokenless']).executeTakeFirst(), undefined, 'none of them made an account')

  const person = await browser.submit('/signup', { username: 'person', email: 'person@example.test', password: PASSWORD })
  t.equal(person.statusCode, 303, 'a person gets in')
})

t.test('disposable addresses and the blocked list, at sign-up and log-in', async (t) => {
  const { app, db } = await build(t)
  const { admin } = await forum(app, db)
  const guest = new Client(app)
  const disposable = await guest.api('POST', '/api/v1/auth/signup', { username: 'throwaway', email: 'me@mailinator.com', password: PASSWORD })
  t.equal(disposable.statusCode, 400)
  t.equal(disposable.data.field, 'email')
  t.match(disposable.data.error, /disposable/)
  await app.hearth.settings.set('spam_block_disposable_email', false)
  t.equal((await guest.api('POST', '/api/v1/auth/signup', { username: 'throwaway', email: 'me@mailinator.com', password: PASSWORD })).statusCode, 201, 'the owner can allow them')

  await db.insertInto('blocked_identities').values([{ kind: 'email', value: 'banned@example.test' }, { kind: 'ip', value: '198.51.100.7' }]).execute()
  const banned = await new Client(app).api('POST', '/api/v1/auth/signup', { username: 'banned', email: 'Banned@Example.test', password: PASSWORD })
  t.equal(banned.statusCode, 400, 'a blocked address, whatever its case')
  const fromIp = await app.inject({ method: 'POST', url: '/api/v1/auth/signup', remoteAddress: '198.51.100.7', payload: { username: 'fromip', email: 'fromip@example.test', password: PASSWORD } })
  t.equal(fromIp.statusCode, 403, 'a blocked IP address')
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: '198.51.100.7', payload: { username: admin.username, password: PASSWORD } })
  t.equal(login.statusCode, 403, 'log-in from a blocked IP address is refused')
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: admin.username, password: PASSWORD } })).statusCode, 200, 'from elsewhere it works')
})

t.test('sign-ups approved by hand: application questions, pending members cannot post, staff decide, the applicant is told', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id)
  await app.hearth.settings.update({ spam_signup_mode: 'approval', spam_application_questions: 'What brings you here?\nWhich keyboard do you use?', spam_signup_min_seconds: 0 })
  const browser = new Client(app)
  const form = await browser.get('/signup')
  t.match(form.body, /What brings you here\?/)
  t.match(form.body, /Send my application/)
  const missing = await browser.submit('/signup', { username: 'applicant', email: 'applicant@example.test', password: PASSWORD, answer_0: 'Keyboards' })
  t.equal(missing.statusCode, 400)
  t.match(missing.body, /Answer this question/)
  const applied = await browser.submit('/signup', { username: 'applicant', email: 'applicant@example.test', password: PASSWORD, answer_0: 'Keyboards', answer_1: 'A split one' })
  t.equal(applied.statusCode, 303)
  t.equal(applied.headers.location, '/pending?applied=1')
  t.match((await browser.get('/pending?applied=1')).body, /Thank you for applying/)

  const blocked = await browser.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'Hello!' })
  t.equal(blocked.statusCode, 403, 'a pending member cannot post')
  t.match(blocked.data.error, /waiting for the staff/)
  t.match((await browser.get(thread.url)).body, /waiting for the staff to approve/, 'the thread page says why there is no reply box')

  t.equal((await f.member.client.api('GET', '/api/v1/mod/applications')).statusCode, 404, 'members never see applications')
  const list = await f.admin.client.api('GET', '/api/v1/mod/applications')
  const mine = list.data.items.find((a: { username: string }) => a.username === 'applicant')
  t.same(mine.answers, [{ question: 'What brings you here?', answer: 'Keyboards' }, { question: 'Which keyboard do you use?', answer: 'A split one' }])
  t.match((await f.admin.client.get('/mod/applications')).body, /A split one/)
  const decided = await f.admin.client.api('POST', `/api/v1/mod/applications/${mine.id}`, { action: 'approve' })
  t.equal(decided.statusCode, 200)
  const note = await db.selectFrom('notifications').select('kind').where('user_id', '=', mine.id).executeTakeFirstOrThrow()
  t.equal(note.kind, 'account.approved', 'told (and mailed: account.* kinds are mailable)')
  t.equal((await browser.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'Hello, I am in!' })).statusCode, 201, 'approved members post')
  t.equal((await db.selectFrom('moderation_log').select('action').where('action', '=', 'signup.approve').execute()).length, 1, 'logged')
})
