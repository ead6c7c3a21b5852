import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import type { Persona } from '../helpers/personas.js'

t.test('in the browser: a member flags, the post hides, a category moderator agrees from /mod, the log shows it', async (t) => {
  const testApp = await build(t)
  const f = await forum(testApp.app, testApp.db)
  // One member's flag is enough here, so the flow is a single click.
  await testApp.app.hearth.settings.update({ flag_hide_threshold: 1 })
  const thread = await startThread(f.admin, f.cats.members.id, 'Favourite board games', 'Tell us yours.')
  await replyTo(f.regular, thread.id, 'Cheap pills at pills dot example, best prices')
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const asPerson = async (who: Persona) => {
    const context = await browser.newContext()
    await context.addCookies([...who.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    return context.newPage()
  }

  const member = await asPerson(f.member)
  await member.goto(`${base}${thread.url}`)
  const spamPost = member.locator('article.post', { has: member.locator(':scope > .post-body', { hasText: 'Cheap pills' }) })
  await spamPost.locator(':scope > footer a.flag').click()
  await spamPost.getByLabel('Why?').selectOption('spam')
  await spamPost.getByLabel('Note (optional)').fill('Advertising')
  await spamPost.getByRole('button', { name: 'Flag post' }).click()
  await member.waitForURL(/flagged=\d+/)
  t.match(await member.locator('[role=status]').first().textContent(), /moderators will review the post you flagged/)
  t.equal(await member.getByText('Cheap pills').count(), 0, 'the post is hidden from the member at once')
  t.equal(await member.getByText('[hidden pending review]').count(), 1)
  t.equal(await member.locator('article.post', { hasText: 'Tell us yours.' }).locator(':scope > footer a.flag').count(), 1, 'others\' posts have a Flag control')

  const mod = await asPerson(f.categoryMod)
  await mod.goto(`${base}/`)
  await mod.getByRole('link', { name: 'Review' }).click()
  await mod.waitForURL(/\/mod$/)
  const item = mod.locator('article.mod-item', { hasText: 'Cheap pills' })
  t.equal(await item.count(), 1, 'the flagged post waits in the category moderator\'s queue')
  t.match(await item.textContent(), /spam by/)
  t.match(await item.textContent(), /Advertising/)
  await mod.screenshot({ path: screenshotPath('moderation-queue'), fullPage: true })
  await item.getByLabel('Reason').fill('Spam advertising')
  await item.getByRole('button', { name: 'Agree', exact: true }).click()
  await mod.waitForURL(/resolved=agree/)
  t.match(await mod.locator('[role=status]').textContent(), /Done: agree/)
  t.equal(await mod.locator('article.mod-item').count(), 0, 'the queue is empty')

  await member.goto(`${base}/`)
  await member.getByRole('link', { name: 'Moderation log' }).first().click()
  const row = member.locator('.mod-log-entries li', { hasText: 'agreed with the flags on a post in' })
  t.equal(await row.count(), 1, 'the log shows the decision')
  t.match(await row.textContent(), new RegExp(`${f.categoryMod.username}\\s+agreed with the flags on a post in “Favourite board games” in Members lounge`))
  t.match(await row.textContent(), /Why: Spam advertising/)
  const href = await row.getByRole('link', { name: '“Favourite board games”' }).getAttribute('href')
  t.match(href, new RegExp(`^/t/${thread.id}/`), 'a hidden post (404 to members at /p/:id) links to its thread')

  // A long title and a long reason must wrap on a phone, not scroll sideways.
  const long = await startThread(f.member, f.cats.open.id, 'A very long thread title about supercalifragilisticexpialidocious keyboards and more', 'Body.')
  await f.admin.client.api('PATCH', `/api/v1/threads/${long.id}`, { pinned: true, locked: true, reason: 'Pinned because everyone keeps asking about these keyboards, see the guidelines' })
  for (const [width, name] of [[390, 'moderation-log-390'], [1280, 'moderation-log-1280']] as const) {
    await member.setViewportSize({ width, height: 900 })
    await member.goto(`${base}/mod/log`)
    const sideways = await member.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')
    t.equal(sideways, 0, `no sideways scroll at ${width} px`)
    await member.screenshot({ path: screenshotPath(name), fullPage: true })
  }
})
