import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { PASSWORD, persona } from '../helpers/personas.js'
import { drained, startTestWorker } from '../helpers/worker.js'

t.test('a member renames, browses the directory, exports their data, and leaves (with a change of mind)', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-e2e-leaving-'))
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const testApp = await build(t, { redis: true, env: { DATA_DIR: dataDir, NOTIFICATION_MAIL_DELAY: '0' } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  const f = await forum(app, db)
  const member = await persona(app, db, { stem: 'fern', trustLevel: 1 })
  const thread = await startThread(member, f.cats.open.id, 'Ferns in shade', 'They love it.')
  await replyTo(f.regular, thread.id, `Agreed, @${member.username}!`)
  const oldName = member.username

  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true })
  await context.addCookies([...member.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const page = await context.newPage()
  const csp: string[] = []
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) csp.push(msg.text())
  })

  // ── a new username, and the old address still finds them ──
  await page.goto(`${base}/settings`)
  await page.getByLabel('New username').fill('Frond')
  await page.locator('#f-username-password').fill('wrong password!')
  await page.getByRole('button', { name: 'Change username' }).click()
  t.match(await page.locator('#f-username-password-error').textContent(), /not right/, 'a wrong password is explained in place')
  t.equal(await page.getByLabel('New username').inputValue(), 'Frond', 'the name typed is kept')
  await page.locator('#f-username-password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Change username' }).click()
  await page.waitForURL(/saved=username/)
  t.match(await page.locator('.notice.success').textContent(), /Username changed/)
  await page.goto(`${base}/u/${oldName}`)
  t.equal(new URL(page.url()).pathname, '/u/Frond', 'the old profile address leads to the new one')
  await page.goto(`${base}/t/${thread.id}`)
  await page.locator(`a.mention[href="/u/${oldName}"]`).click()
  await page.waitForURL(/\/u\/Frond$/)
  t.pass('an old @mention leads to the renamed member')

  // ── the member directory: search and sort without JavaScript tricks ──
  await page.goto(`${base}/`)
  await page.locator('.site-header').getByRole('link', { name: 'Members', exact: true }).click()
  await page.waitForURL(/\/u$/)
  await page.getByRole('link', { name: 'Newest' }).click()
  await page.waitForURL(/sort=newest/)
  t.equal(await page.locator('.member-list li').first().getAttribute('data-member'), 'Frond', 'the newest member first')
  await page.getByLabel('Find a member').fill(f.regular.username.slice(0, 8))
  await page.getByRole('button', { name: 'Search' }).click()
  await page.waitForURL(/q=/)
  t.same(await page.locator('.member-list li').evaluateAll((els) => els.map((e) => e.getAttribute('data-member'))), [f.regular.username])
  await page.getByLabel('Find a member').fill('nobody-at-all')
  await page.getByRole('button', { name: 'Search' }).click()
  t.match(await page.locator('.empty-state').textContent(), /No member matches/)

  // ── a copy of their data: asked, built by the job, notified, downloaded ──
  await page.goto(`${base}/settings#export`)
  await page.getByRole('button', { name: 'Ask for my data' }).click()
  await page.waitForURL(/saved=export/)
  t.match(await page.locator('[data-export-pending]').textContent(), /being prepared/)
  await drained(worker)
  await app.hearth.relay.drain()
  await page.goto(`${base}/notifications`)
  const note = page.getByRole('link', { name: /data export is ready/ })
  t.equal(await note.count(), 1, 'a notification says the export is ready')
  const [download] = await Promise.all([page.waitForEvent('download'), note.click()])
  const saved = path.join(dataDir, 'mine.zip')
  await download.saveAs(saved)
  const files = execFileSync('unzip', ['-Z1', saved]).toString()
  t.match(files, /index\.html/)
  t.match(files, /data\/posts\.json/)
  t.match(execFileSync('unzip', ['-p', saved, 'data/posts.json']).toString(), /They love it/, 'their post is in it')

  // ── leaving: asked, cancelled from the banner, asked again, the job deletes ──
  await page.goto(`${base}/settings#leave`)
  await page.getByLabel(/Delete them too/).check()
  await page.locator('#f-leave-password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Delete my account' }).click()
  await page.waitForURL(/saved=deletion/)
  const banner = page.locator('[data-deletion-pending]')
  t.match(await banner.textContent(), /will be deleted on .* with your posts/)
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 844 })
    await page.goto(`${base}/`)
    await page.screenshot({ path: screenshotPath(`leaving-banner-${width}`) })
    await page.goto(`${base}/settings`)
    await page.locator('.danger-zone').screenshot({ path: screenshotPath(`leaving-settings-scheduled-${width}`) })
  }
  await page.goto(`${base}/ideas`)
  await banner.getByRole('button', { name: 'Cancel the deletion' }).click()
  await page.waitForURL(/saved=deletion-cancelled/)
  t.equal(await page.locator('[data-deletion-pending]').count(), 0, 'the banner is gone')

  await page.getByLabel(/Keep them/).check()
  await page.locator('#f-leave-password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Delete my account' }).click()
  await page.waitForURL(/saved=deletion/)
  await db.updateTable('users').set({ deletion_due_at: sql<Date>`now() - interval '1 second'` as unknown as Date }).where('id', '=', member.id).execute()
  await worker.running.queue.enqueue('account.deletions', {})
  await drained(worker)
  await page.goto(`${base}/settings`)
  t.match(page.url(), /\/login/, 'logged out: the account is gone')
  await page.goto(`${base}/t/${thread.id}`)
  t.match(await page.locator('main').textContent(), /Deleted member/, 'their post stays, credited to a deleted member')
  t.match(await page.locator('main').textContent(), /They love it/)
  const gone = await page.goto(`${base}/u/Frond`)
  t.equal(gone?.status(), 404, 'their name leads nowhere')
  t.same(csp, [], 'no Content-Security-Policy violations')
})

t.test('screenshots: the directory and the account settings at phone and desktop widths', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const thread = await startThread(f.regular, f.cats.open.id, 'Hello all', 'Hi')
  await replyTo(f.member, thread.id, 'Hello back')
  await persona(app, db, { stem: 'averyveryverylongname' })
  await db.updateTable('users').set({ display_name: 'A display name that goes on and on for quite a while' }).where('id', '=', f.member.id).execute()
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  for (const width of [390, 1280]) {
    const context = await browser.newContext({ viewport: { width, height: 844 } })
    await context.addCookies([...f.regular.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    const page = await context.newPage()
    await page.goto(`${base}/u`)
    const sideways = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')
    t.equal(sideways, 0, `${width}: /u does not scroll sideways`)
    await page.screenshot({ path: screenshotPath(`members-${width}`), fullPage: true })
    await page.goto(`${base}/settings`)
    t.equal(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'), 0, `${width}: settings do not scroll sideways`)
    await page.evaluate('scrollTo(0, document.getElementById("username").offsetTop - 160)')
    await page.screenshot({ path: screenshotPath(`settings-username-${width}`) })
    await page.evaluate('scrollTo(0, document.getElementById("export").offsetTop - 160)')
    await page.screenshot({ path: screenshotPath(`settings-export-leave-${width}`) })
    await page.locator('.danger-zone').screenshot({ path: screenshotPath(`settings-leave-${width}`) })
    await context.close()
  }
})
