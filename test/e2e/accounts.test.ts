import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { PASSWORD } from '../helpers/personas.js'

t.test('a person signs up, logs out and logs back in with a real browser', async (t) => {
  const testApp = await build(t)
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const page = await browser.newPage()
  const cspViolations: string[] = []
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text())
  })

  // A person takes a few seconds over the sign-up form; the browser here types at once (test/spam/signup.test.ts covers the timing).
  await testApp.app.hearth.settings.set('spam_signup_min_seconds', 0)
  await page.goto(`${base}/`)
  await page.getByRole('link', { name: 'Sign up' }).click()
  await page.getByLabel('Username').fill('willow')
  await page.getByLabel('Email').fill('not an email')
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign up' }).click()
  t.match(await page.locator('#f-email-error').textContent(), /Enter a valid email address/, 'the bad field is explained')
  t.equal(await page.getByLabel('Username').inputValue(), 'willow', 'what was typed is kept')

  await page.getByLabel('Email').fill('willow@example.test')
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign up' }).click()
  // The first account is the admin, and lands on the first-run checklist.
  await page.waitForURL(/\/admin\?welcome=1/)
  t.match(await page.locator('main').textContent(), /you are this community’s first admin/, 'the first account is the admin')
  await page.goto(`${base}/u/willow`)
  t.match(await page.locator('main').textContent(), /Admin/, 'the profile names the role')
  await page.screenshot({ path: screenshotPath('profile'), fullPage: true })

  // Log out sits in the account menu under the member's name.
  t.equal(await page.getByRole('button', { name: 'Log out' }).isVisible(), false, 'the account menu starts closed')
  await page.locator('.account-menu summary').click()
  await page.screenshot({ path: screenshotPath('account-menu') })
  await page.getByRole('button', { name: 'Log out' }).click()
  await page.waitForURL(`${base}/`)
  t.equal(await page.getByRole('link', { name: 'Log in', exact: true }).count(), 1, 'logged out')

  await page.getByRole('link', { name: 'Log in', exact: true }).click()
  await page.getByLabel('Username or email').fill('willow')
  await page.getByLabel('Password').fill('wrong password')
  await page.getByRole('button', { name: 'Log in' }).click()
  t.match(await page.locator('.error').first().textContent(), /Wrong username\/email or password/)

  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL(`${base}/`)
  await page.locator('.account-menu summary').click()
  await page.getByRole('link', { name: 'Settings' }).click()
  t.match(await page.locator('h1').textContent(), /Settings/)
  await page.screenshot({ path: screenshotPath('settings'), fullPage: true })
  t.same(cspViolations, [], 'no Content-Security-Policy violations')
})
