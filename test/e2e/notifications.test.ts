import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { persona } from '../helpers/personas.js'

t.test('a member sets levels, sees grouped notifications, and mutes someone, in the browser', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const alice = f.member
  const bob = f.regular
  const carol = await persona(app, db, { stem: 'carol', trustLevel: 1 })
  const dave = await persona(app, db, { stem: 'dave', trustLevel: 1 })
  const thread = await startThread(alice, f.cats.open.id, 'Where should the summer meetup be?', 'Ideas for the place, please.')
  const quiet = await startThread(bob, f.cats.open.id, 'Bob’s thread alice does not care about', 'Anything.')
  const base = await serve(testApp)
  const browser = await launchBrowser(t)

  for (const width of [390, 1280]) {
    const context = await browser.newContext({ viewport: { width, height: 844 } })
    await context.addCookies([...alice.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    const page = await context.newPage()
    await page.goto(`${base}${thread.url}`)
    const select = page.getByLabel('Notifications for this thread')
    t.equal(await select.inputValue(), 'watching', `${width}px: who starts a thread watches it`)
    t.match(await page.locator('[data-notification-level] .hint').textContent(), /every new post.*you started this thread/)
    await page.screenshot({ path: screenshotPath(`notify-thread-control-${width}`), fullPage: false })
    await context.close()
  }

  const context = await browser.newContext({ viewport: { width: 390, height: 844 } })
  await context.addCookies([...alice.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const page = await context.newPage()
  const unreadBadge = async () => {
    await app.hearth.relay.drain()
    await page.goto(`${base}/notifications`)
    return page.locator('.notification-list li.unread').allTextContents()
  }

  // Mute bob's thread from its page (a plain form: no JavaScript needed); he replies: nothing.
  await page.goto(`${base}${quiet.url}`)
  await page.getByLabel('Notifications for this thread').selectOption('muted')
  await page.getByRole('button', { name: 'Save' }).first().click()
  await page.getByText('Notification level saved.').waitFor()
  await replyTo(carol, quiet.id, `@${alice.username} are you coming?`)
  t.same(await unreadBadge(), [], 'a muted thread tells nothing, not even a mention')
  await page.goto(`${base}/`)
  t.equal(await page.getByRole('link', { name: 'Bob’s thread alice does not care about' }).count(), 0, 'and it is gone from Latest')

  // Likes and replies on alice's thread: one notification each, grouped.
  for (const who of [bob, carol, dave]) await who.client.api('PUT', `/api/v1/posts/${thread.postId}/like`)
  await replyTo(bob, thread.id, 'By the river!')
  await replyTo(carol, thread.id, 'The park has shade.')
  await replyTo(dave, thread.id, 'My garden?')
  const items = await unreadBadge()
  t.equal(items.length, 2, 'two notifications, not six')
  t.match(items.join('\n'), new RegExp(`${dave.username} and 2 others liked your post in “Where should the summer meetup be\\?”`))
  t.match(items.join('\n'), /3 new replies in “Where should the summer meetup be\?”/)
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 844 })
    await page.screenshot({ path: screenshotPath(`notify-notifications-${width}`), fullPage: true })
  }
  await page.setViewportSize({ width: 390, height: 844 })
  await page.getByRole('link', { name: /3 new replies/ }).click()
  await page.waitForURL(new RegExp(`/t/${thread.id}/`))
  t.match(page.url(), /#p\d+$/, 'the grouped notification opens the first new reply')

  // Mute dave in settings: his post collapses, and he cannot notify alice any more.
  await page.goto(`${base}/settings`)
  await page.getByRole('link', { name: 'notification settings' }).click()
  await page.getByLabel('Mute a member').fill(dave.username)
  await page.getByRole('button', { name: 'Mute', exact: true }).click()
  await page.getByText('Muted. Their posts are collapsed').waitFor()
  t.equal(await page.locator('#mutes ~ ul.level-list li', { hasText: dave.username }).count(), 1, 'dave is listed')
  await page.getByLabel('Mute a member').fill(f.admin.username)
  await page.getByRole('button', { name: 'Mute', exact: true }).click()
  await page.getByText('Moderators and admins cannot be muted').first().waitFor()
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 844 })
    await page.goto(`${base}/settings/notifications`)
    await page.screenshot({ path: screenshotPath(`notify-settings-${width}`), fullPage: true })
  }
  await page.setViewportSize({ width: 390, height: 844 })

  await page.goto(`${base}${thread.url}`)
  const collapsed = page.locator('details.muted-post')
  t.equal(await collapsed.count(), 1, 'dave’s post is collapsed')
  t.notOk(await page.getByText('My garden?').isVisible(), 'its text is hidden until asked for')
  await collapsed.locator('summary').click()
  t.ok(await page.getByText('My garden?').isVisible(), 'and shows on request')

  await page.goto(`${base}/notifications`)
  await page.getByRole('button', { name: 'Mark all read' }).click()
  await replyTo(dave, thread.id, `@${alice.username} hello?`, thread.postId)
  await replyTo(bob, thread.id, 'Still the river.')
  const after = await unreadBadge()
  t.equal(after.length, 1, 'only bob’s reply notifies alice')
  t.match(after[0], /replied to your post|posted in/)
  t.notMatch(after.join('\n'), new RegExp(dave.username), 'nothing from dave')
  const header = await page.locator('a.notifications-link').getAttribute('aria-label')
  t.equal(header, 'Notifications, 1 unread', 'the badge counts it')
})
