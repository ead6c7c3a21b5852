import t from 'tap'
import type { Page } from 'playwright-core'

type Check = { ok(value: unknown, message: string): void }
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

async function noSidewaysScroll(t: Check, page: Page, what: string) {
  const [scroll, width] = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number]
  t.ok(scroll <= width, `${what}: no sideways scroll (${scroll} ≤ ${width})`)
}

t.test('a member picks up where they left off, follows post numbers and searches with filters, all without JavaScript', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  await db.updateTable('users').set({ display_name: 'Jane Gardener' }).where('id', '=', f.regular.id).execute()

  const thread = await startThread(f.admin, f.cats.open.id, 'Planning the community garden', 'Where should the **garden** beds go? Post your ideas.')
  const who = [f.admin, f.regular, f.member, f.newbie]
  const branches: number[] = []
  for (let i = 0; i < 22; i++) branches.push(await replyTo(who[i % 4]!, thread.id, `Garden idea ${i + 1}: beds along the ${i % 2 ? 'south' : 'east'} fence.`))
  // A long back-and-forth under the first reply: on a phone its deepest replies line up flat.
  let parent = branches[0]!
  for (let i = 0; i < 5; i++) parent = await replyTo(i % 2 ? f.regular : f.member, thread.id, `Reply at depth ${i + 2}: I disagree about the fence.`, parent)
  // The member reads both pages; then two replies come in.
  await f.member.client.get(thread.url)
  await f.member.client.get(`${thread.url}?after=${branches[19]}`)
  const fresh = await replyTo(f.regular, thread.id, 'Late thought: tomatoes need the south side.', branches[3])
  await replyTo(f.admin, thread.id, 'New branch: who waters in August?')
  for (let i = 1; i <= 7; i++) await app.inject({ method: 'GET', url: thread.url, remoteAddress: `192.0.2.${i}` })
  await app.hearth.threadViews.flush()
  const liked = await replyTo(f.admin, thread.id, 'Compost bins belong in the garden corner.', branches[1])
  for (const m of [f.member, f.regular, f.newbie]) await m.client.api('PUT', `/api/v1/posts/${liked}/like`)
  await f.member.client.api('POST', '/api/v1/ideas', { title: 'Garden plot booking', body: 'Let members book a garden plot for the season.' })

  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false })
  await context.addCookies([...f.member.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const page = await context.newPage()

  // Unread: the title and its badge lead to the first new post.
  await page.goto(`${base}/?list=unread`)
  const badge = page.locator('a.new-badge')
  t.match(await page.locator('table.threads').textContent(), /3 new/, 'the list says how many posts are new')
  t.equal(await badge.count(), 1)
  await page.getByRole('link', { name: 'Planning the community garden' }).click()
  await page.waitForURL(new RegExp(`#p${fresh}$`))
  t.ok(await page.locator(`#p${fresh}`).isVisible(), 'the member lands on the first unread post')
  t.match(await page.locator('.thread-stats').textContent(), /8 views\s*·\s*\d+ replies\s*·\s*4 participants/, 'views, replies and participants')
  t.equal(await page.locator('.participants li').count(), 4, 'the top participants are named')
  t.ok(await page.locator(`#p${fresh} .post-number`).isVisible(), 'every post shows its number')
  // A flat reply on a phone says whom it answers, and the link goes there.
  const flat = page.locator('.in-reply-to.flat-only').first()
  t.ok(await flat.isVisible(), 'a deep reply on a phone names its parent')
  t.match(await flat.textContent(), /in reply to @\S+ #\d+/)
  await noSidewaysScroll(t, page, 'thread at 390')
  await page.screenshot({ path: screenshotPath('reading-thread-390'), fullPage: true })

  // Post numbers are links to the post.
  await page.locator('#p' + branches[4] + ' .post-number').click()
  await page.waitForURL(new RegExp(`#p${branches[4]}$`))
  t.pass('a number link lands on its post')

  // Another reply on page one; on page two the thread offers to jump back to it.
  const another = await replyTo(f.admin, thread.id, 'Rain barrels at every corner.', branches[5])
  await page.goto(`${base}${thread.url}?after=${branches[19]}`)
  await page.getByRole('link', { name: /Jump to where you left off · 1 new post/ }).click()
  await page.waitForURL(new RegExp(`#p${another}$`))
  t.ok(await page.locator(`#p${another}`).isVisible(), 'the jump lands on the new post, on the page that holds it')
  await page.setViewportSize({ width: 1280, height: 900 })
  await page.goto(`${base}${thread.url}`)
  t.notOk(await page.locator('.in-reply-to.flat-only').first().isVisible(), 'on a wide screen nesting shows whom a reply answers')
  await noSidewaysScroll(t, page, 'thread at 1280')
  await page.screenshot({ path: screenshotPath('reading-thread-1280'), fullPage: false })

  // Search from the header box, then narrow it down.
  await page.setViewportSize({ width: 390, height: 844 })
  await page.goto(`${base}/`)
  await page.fill('#site-search', 'garden')
  await page.press('#site-search', 'Enter')
  await page.waitForURL(/\/search\?q=garden/)
  t.ok(await page.getByRole('heading', { name: 'Members' }).isVisible(), 'members are found')
  t.match(await page.locator('.member-hits').textContent(), /Jane Gardener/)
  t.ok(await page.getByRole('heading', { name: 'Ideas' }).isVisible(), 'ideas are found')
  t.match(await page.locator('.search-section').nth(1).textContent(), /Garden plot booking/)
  await noSidewaysScroll(t, page, 'search at 390')
  await page.screenshot({ path: screenshotPath('search-all-390'), fullPage: true })
  await page.locator('.search-filters > summary').click()
  await page.selectOption('#s-sort', 'likes')
  await page.selectOption('#s-period', 'year')
  await page.fill('#s-author', f.admin.username)
  await page.getByRole('button', { name: 'Apply' }).click()
  await page.waitForURL(/sort=likes/)
  t.match(page.url(), /period=year/)
  t.match(await page.locator('ol.results li').first().textContent(), /Compost bins/, 'the most liked post by that author comes first')
  t.ok(await page.locator('.search-filters').getAttribute('open') !== null, 'the filters stay open while they apply')
  await page.screenshot({ path: screenshotPath('search-filtered-390'), fullPage: true })
  await page.getByRole('link', { name: 'Clear filters' }).click()
  await page.waitForURL(/\/search\?q=garden$/)
  await page.getByRole('navigation', { name: 'What to search' }).getByRole('link', { name: 'Ideas' }).click()
  await page.waitForURL(/type=ideas/)
  t.equal(await page.locator('.search-section').count(), 1, 'the ideas tab shows ideas only')
  await page.setViewportSize({ width: 1280, height: 900 })
  await page.goto(`${base}/search?q=garden`)
  await noSidewaysScroll(t, page, 'search at 1280')
  await page.screenshot({ path: screenshotPath('search-all-1280'), fullPage: true })
})
