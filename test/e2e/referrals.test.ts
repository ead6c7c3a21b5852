import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { Client } from '../helpers/client.js'
import { forum, startThread } from '../helpers/forum.js'
import { PASSWORD } from '../helpers/personas.js'

t.test('a referral end to end: link → sign-up (through a form error) → credit → the referrer’s page', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  // A person takes a few seconds over the form; this test types at once (test/spam/signup.test.ts covers the timing).
  await app.hearth.settings.set('spam_signup_min_seconds', 0)
  const base = await serve(testApp)
  const browser = await launchBrowser(t)

  // The referrer finds their link.
  const referrer = await browser.newContext({ viewport: { width: 390, height: 844 } })
  await referrer.addCookies([...f.regular.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const mine = await referrer.newPage()
  await mine.goto(`${base}/u/${f.regular.username}`)
  await mine.getByRole('link', { name: 'Invite people' }).click()
  const link = await mine.getByLabel('Your invite link').inputValue()
  t.match(link, /\/r\/[a-z2-9]{10}$/, 'a personal link')
  t.match(await mine.locator('main').innerText(), /Nobody has joined through your link yet/)
  await mine.screenshot({ path: screenshotPath('invite-empty-390'), fullPage: true })

  // A visitor follows it, browses, follows a campaign link too (the first link keeps the credit), then signs up.
  const campaign = await f.admin.client.submit('/admin/referrals', { name: 'Spring newsletter' })
  t.equal(campaign.statusCode, 303)
  const campaignCode = /created=([a-z2-9]+)/.exec(campaign.headers.location as string)![1]
  const visitor = await browser.newContext({ viewport: { width: 390, height: 844 } })
  const page = await visitor.newPage()
  await page.goto(link.replace(/^https?:\/\/[^/]+/, base))
  await page.waitForURL(/\/signup/)
  t.match(await page.locator('main').innerText(), new RegExp(`${f.regular.username} invited you`))
  await page.goto(`${base}/`)
  await page.goto(`${base}/r/${campaignCode}`)
  await page.getByLabel('Username').fill('fern')
  await page.getByLabel('Email').fill('not an email')
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign up' }).click()
  t.match(await page.locator('#f-email-error').textContent(), /Enter a valid email address/)
  t.match(await page.locator('main').innerText(), new RegExp(`${f.regular.username} invited you`), 'the credit survives the form coming back')
  await page.getByLabel('Email').fill('fern@example.test')
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.waitForURL(/\/u\/fern/)
  const fern = await db.selectFrom('users').select('id').where('username', '=', 'fern').executeTakeFirstOrThrow()
  const credit = await db.selectFrom('referrals').selectAll().where('user_id', '=', fern.id).executeTakeFirstOrThrow()
  t.equal(credit.referrer_id, f.regular.id, 'credited to the first link, not the campaign')
  t.notOk((await visitor.cookies()).some((c) => c.name === 'hearth_ref'), 'the referral cookie is spent')

  // Joined, not yet active: no standing for the referrer.
  await mine.reload()
  t.match(await mine.locator('main').innerText(), /fern[\s\S]*Joined/)
  await app.hearth.activity.nightly()
  t.equal(await referralActs(f.regular.id), 0, 'an invitee who only signed up does not count')

  // Fern takes part; the next night credits the referrer.
  const fernClient = new Client(app)
  await fernClient.api('POST', '/api/v1/auth/login', { login: 'fern', password: PASSWORD })
  await startThread({ id: fern.id, username: 'fern', email: 'fern@example.test', client: fernClient }, f.cats.open.id, 'Hello from a new member', 'Glad to be here.')
  await app.hearth.relay.drain()
  await app.hearth.activity.nightly()
  t.equal(await referralActs(f.regular.id), 1, 'an invitee who took part counts toward the referrer')
  await app.hearth.activity.nightly()
  t.equal(await referralActs(f.regular.id), 1, 'once')
  await mine.reload()
  t.match(await mine.locator('main').innerText(), /fern[\s\S]*Taking part/)
  t.match(await mine.locator('.health-cards').innerText(), /1\s*joined[\s\S]*1\s*became active[\s\S]*1\s*took part/)
  await mine.screenshot({ path: screenshotPath('invite-390'), fullPage: true })

  // The owner's view of links.
  const owner = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  await owner.addCookies([...f.admin.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const admin = await owner.newPage()
  await admin.goto(`${base}/admin/referrals`)
  const rows = admin.locator('table tbody tr')
  t.match(await rows.filter({ hasText: 'Spring newsletter' }).innerText(), /Spring newsletter[\s\S]*\b1\b/, 'the campaign shows its visit')
  t.match(await rows.filter({ hasText: f.regular.username }).innerText(), /1\s+1\s+1/, 'the member’s link: one sign-up, active, taking part')
  await admin.screenshot({ path: screenshotPath('admin-referrals-1280'), fullPage: true })
  await rows.filter({ hasText: 'Spring newsletter' }).getByRole('button', { name: 'Turn off' }).click()
  t.equal((await new Client(app).get(`/r/${campaignCode}`)).statusCode, 404, 'a turned-off link goes nowhere')

  async function referralActs(userId: number) {
    return (await db.selectFrom('activity_log').select('id').where('user_id', '=', userId).where('kind', '=', 'referral').execute()).length
  }
})
