import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

const DAY = 86_400_000

t.test('an owner opens the health dashboard, changes the range, and a member sees their own stage', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  // A few weeks of history: threads answered at different speeds, likes, and one unanswered thread.
  for (let i = 0; i < 6; i++) {
    const th = await startThread(i % 2 ? f.member : f.regular, f.cats.open.id, `Question number ${i + 1} about setting things up`, 'How?')
    const at = Date.now() - (i * 4 + 2) * DAY
    await db.updateTable('threads').set({ created_at: new Date(at) }).where('id', '=', th.id).execute()
    await db.updateTable('posts').set({ created_at: new Date(at) }).where('id', '=', th.postId).execute()
    if (i === 5) continue
    const reply = await replyTo(i % 3 ? f.admin : i % 2 ? f.regular : f.member, th.id, 'Like this.', th.postId)
    await db.updateTable('posts').set({ created_at: new Date(at + (i + 1) * 40 * 60_000) }).where('id', '=', reply).execute()
    await (i % 2 ? f.member : f.regular).client.api('PUT', `/api/v1/posts/${reply}/like`)
  }
  // The cast joined two months ago; likes happened when the replies did.
  await db.updateTable('users').set({ created_at: new Date(Date.now() - 60 * DAY) }).execute()
  await db.updateTable('post_likes').set({ created_at: new Date(Date.now() - 3 * DAY) }).execute()
  await app.hearth.relay.drain()
  await db.deleteFrom('activity_log').execute()
  await db.deleteFrom('community_settings').where('key', '=', 'activity_backfilled_at').execute()

  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  for (const width of [390, 1280]) {
    const context = await browser.newContext({ viewport: { width, height: 900 } })
    await context.addCookies([...f.admin.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    const page = await context.newPage()
    await page.goto(`${base}/admin`)
    await page.getByRole('link', { name: 'Community health' }).click()
    await page.waitForURL(/\/admin\/health/)
    if (width === 390) {
      // First visit: the history is not in the log yet; the owner builds it.
      await page.getByRole('button', { name: 'Compute now' }).click()
      await page.getByText('Computed: the activity log').waitFor()
    }
    await page.getByRole('link', { name: '90 days' }).click()
    await page.waitForURL(/days=90/)
    t.equal(await page.locator('.health-cards .stat').count(), 6, `the headline figures at ${width}px`)
    t.ok(await page.locator('.chart svg polyline').count() >= 3, 'the active-members chart has its three lines')
    const points = (await page.locator('.chart svg polyline').first().getAttribute('points'))!.split(' ').length
    t.ok(points >= 20, `a point for each day since the first activity (${points})`)
    t.equal(await page.locator('section[aria-labelledby="h-active"] table tbody tr').count(), points, 'and each day’s numbers in a table')
    t.ok(await page.locator('section[aria-labelledby="h-helpers"] tbody tr').count() >= 1, 'top contributors by members helped')
    t.match(await page.locator('section[aria-labelledby="h-response"]').innerText(), /Staff[\s\S]*Community/, 'response times split by who answered')
    t.match(await page.locator('section[aria-labelledby="h-response"] .unanswered').innerText(), /Question number 6/, 'the unanswered thread is listed')
    t.ok(await page.locator('table.cohorts tbody tr').count() >= 1, 'a cohort table')
    const widths = await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')
    const [scrollWidth, clientWidth] = widths as [number, number]
    t.ok(scrollWidth <= clientWidth, `no sideways scroll at ${width}px`, { scrollWidth, clientWidth })
    await page.screenshot({ path: screenshotPath(`health-dashboard-${width}`), fullPage: true })

    // A custom range through the form.
    const from = new Date(Date.now() - 10 * DAY).toISOString().slice(0, 10)
    await page.fill('#h-from', from)
    await page.getByRole('button', { name: 'Show' }).click()
    await page.waitForURL(new RegExp(`from=${from}`))
    t.match(await page.locator('.health > p.muted').first().innerText(), new RegExp(`From ${from}`))

    await context.close()
  }

  // The member's own profile shows their stage and the next step.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } })
  await context.addCookies([...f.member.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const page = await context.newPage()
  await page.goto(`${base}/u/${f.member.username}`)
  t.match(await page.locator('.stage-card').innerText(), /You are an? (Participant|Contributor|Champion)/)
  await page.screenshot({ path: screenshotPath('health-profile-stage-390'), fullPage: true })
  const denied = await page.goto(`${base}/admin/health`)
  t.equal(denied?.status(), 404, 'members have no dashboard')
})
