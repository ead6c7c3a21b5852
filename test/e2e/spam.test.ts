import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum, startThread } from '../helpers/forum.js'
import type { Persona } from '../helpers/personas.js'

async function shots(t: Test, page: Page, url: string, name: string) {
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 900 })
    await page.goto(url)
    const sideways = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')
    t.equal(sideways, 0, `${name}: no sideways scroll at ${width} px`)
    await page.screenshot({ path: screenshotPath(`${name}-${width}`), fullPage: true })
  }
}

t.test('in the browser: a new member’s reply waits “awaiting review”; a moderator approves it from /mod; then everyone sees it', async (t) => {
  const testApp = await build(t)
  const f = await forum(testApp.app, testApp.db)
  const thread = await startThread(f.admin, f.cats.members.id, 'Favourite keyboards', 'Tell us about yours.')
  await testApp.app.hearth.settings.set('spam_hold_first_posts', 2)
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const asPerson = async (who: Persona) => {
    const context = await browser.newContext()
    await context.addCookies([...who.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    return context.newPage()
  }

  const author = await asPerson(f.newbie)
  await author.goto(`${base}${thread.url}`)
  await author.getByLabel('Your reply').fill('My first post: a **split keyboard** with brown switches, tented a little.')
  await author.getByRole('button', { name: 'Post reply' }).click()
  await author.waitForURL(/\/pending\/\d+(#.*)?$/)
  t.match(await author.locator('.held-post').first().textContent(), /Awaiting review/)
  const heldUrl = author.url().replace(/#.*$/, '')
  await author.goto(`${base}${thread.url}`)
  t.match(await author.locator('.held-post').textContent(), /Your reply is waiting for a moderator’s approval/, 'the author sees it on the thread, marked')
  // Still editable while it waits.
  await author.goto(heldUrl)
  await author.getByLabel('Your post').fill('My first post: a **split keyboard** with brown switches, tented a little. Edited!')
  await author.getByRole('button', { name: 'Save changes' }).click()
  await author.waitForURL(/saved=1/)
  await shots(t, author, heldUrl, 'spam-awaiting-review')

  const member = await asPerson(f.member)
  await member.goto(`${base}${thread.url}`)
  t.equal(await member.getByText('split keyboard').count(), 0, 'others do not see it')

  const mod = await asPerson(f.categoryMod)
  await mod.goto(`${base}/mod`)
  await mod.getByRole('link', { name: /Posts awaiting approval: 1/ }).click()
  await mod.waitForURL(/\/mod\/approvals$/)
  const item = mod.locator('article.approval-item', { hasText: 'split keyboard' })
  t.equal(await item.count(), 1)
  t.match(await item.textContent(), /Waiting less than a minute/, 'how long it has waited')
  await shots(t, mod, `${base}/mod/approvals`, 'spam-mod-queue')
  await mod.goto(`${base}/mod/approvals`)
  await mod.locator('article.approval-item', { hasText: 'split keyboard' }).getByRole('button', { name: 'Approve' }).click()
  await mod.waitForURL(/done=approved/)
  t.equal(await mod.locator('article.approval-item').count(), 0, 'the queue is empty')

  await member.goto(`${base}${thread.url}`)
  t.equal(await member.getByText('Edited!').count(), 1, 'published, as edited, for everyone')
  await author.goto(`${base}${thread.url}`)
  t.equal(await author.locator('.held-post').count(), 0, 'no longer marked for its author')
  await shots(t, mod, `${base}/mod/approvals`, 'spam-mod-queue-empty')
})
