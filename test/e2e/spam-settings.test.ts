import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum } from '../helpers/forum.js'

async function shots(t: Test, page: Page, url: string, name: string) {
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 900 })
    await page.goto(url)
    const sideways = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')
    t.equal(sideways, 0, `${name}: no sideways scroll at ${width} px`)
    await page.screenshot({ path: screenshotPath(`${name}-${width}`), fullPage: true })
  }
}

t.test('in the browser: the owner sets the spam policy and application questions, and watched words; the sign-up form asks the questions', async (t) => {
  const testApp = await build(t)
  const f = await forum(testApp.app, testApp.db)
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const context = await browser.newContext()
  await context.addCookies([...f.admin.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const owner = await context.newPage()

  await owner.goto(`${base}/admin#spam`)
  const section = owner.locator('form[action="/admin/spam-settings"]')
  await section.getByLabel('Score from which a post waits for approval').fill('55')
  await section.getByLabel('Who can sign up').selectOption('approval')
  await section.getByLabel('Application questions').fill('What brings you here?\nWhich keyboard do you use today?')
  await section.getByRole('button', { name: 'Save spam settings' }).click()
  await owner.waitForURL(/saved=spam/)
  const s = await testApp.app.hearth.settings.all({ fresh: true })
  t.equal(s.spam_hold_score, 55)
  t.equal(s.spam_signup_mode, 'approval')
  for (const width of [390, 1280]) {
    await owner.setViewportSize({ width, height: 900 })
    await owner.goto(`${base}/admin#spam`)
    await owner.locator('form[action="/admin/spam-settings"]').screenshot({ path: screenshotPath(`spam-admin-settings-${width}`) })
  }
  await owner.goto(`${base}/admin#spam`)
  await owner.locator('form[action="/admin/spam-settings"]').getByLabel('Score from which a post is refused').fill('20')
  await owner.locator('form[action="/admin/spam-settings"]').getByRole('button', { name: 'Save spam settings' }).click()
  t.match(await owner.locator('#f-spam_reject_score-error').textContent(), /Refusing needs at least the score of holding/, 'an inconsistent policy is refused, with the reason')

  await owner.goto(`${base}/admin/spam`)
  await owner.getByLabel('Word or pattern').fill('(a+)+$')
  await owner.getByLabel('It is a regular expression').check()
  await owner.getByRole('button', { name: 'Add' }).click()
  t.match(await owner.locator('#f-pattern-error').textContent(), /could take very long/, 'a catastrophic pattern is refused')
  await owner.getByLabel('Word or pattern').fill('cheap pills')
  await owner.getByLabel('It is a regular expression').uncheck()
  await owner.getByLabel('What happens').selectOption('hold')
  await owner.getByRole('button', { name: 'Add' }).click()
  await owner.waitForURL(/saved=watched/)
  t.match(await owner.locator('.watched-table').first().textContent(), /cheap pills/)
  await shots(t, owner, `${base}/admin/spam`, 'spam-admin-watched')

  const guest = await browser.newPage()
  await shots(t, guest, `${base}/signup`, 'spam-signup-application')
  await guest.goto(`${base}/signup`)
  t.equal(await guest.getByLabel('What brings you here?').count(), 1, 'the questions are on the form')
  const trap = await guest.locator('.hp').boundingBox()
  t.ok(trap && trap.x + trap.width <= 0, 'the honeypot is off the screen, where people never see it')
})
