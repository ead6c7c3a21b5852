import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum } from '../helpers/forum.js'

t.test('an owner goes from the dashboard to segments, saves one, opens it and messages its members', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  // Last night's stages, as the nightly job leaves them.
  const since = new Date().toISOString().slice(0, 10)
  await db
    .insertInto('member_stages')
    .values([
      { user_id: f.member.id, stage: 'participant', score: 12, helped: 1, since },
      { user_id: f.regular.id, stage: 'contributor', score: 48, helped: 4, since },
      { user_id: f.newbie.id, stage: 'newcomer', score: 0, helped: 0, since },
    ])
    .execute()
  await db.insertInto('community_settings').values({ key: 'activity_backfilled_at', value: JSON.stringify(new Date().toISOString()), updated_at: new Date() }).execute()

  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  for (const width of [390, 1280]) {
    const context = await browser.newContext({ viewport: { width, height: 900 } })
    await context.addCookies([...f.admin.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    const page = await context.newPage()
    await page.goto(`${base}/admin/health`)
    await page.getByRole('link', { name: /^Member segments/ }).click()
    await page.waitForURL(/\/admin\/segments$/)
    if (width === 390) {
      await page.getByRole('button', { name: 'Save segment' }).click()
      t.match(await page.locator('#f-name-error').innerText(), /Name the segment/, 'a nameless segment is refused with the field’s message')
      await page.getByLabel('Name').fill('Taking part')
      await page.getByLabel('Participant').check()
      await page.getByLabel('Contributor').check()
      await page.getByRole('button', { name: 'Save segment' }).click()
      await page.getByText('Segment saved.').waitFor()
      await page.getByRole('link', { name: 'Segments' }).click()
    }
    await page.screenshot({ path: screenshotPath(`segments-${width}`), fullPage: true })
    await page.getByRole('link', { name: 'Taking part' }).click()
    await page.waitForURL(/\/admin\/segments\/\d+/)
    const names = await page.locator('table tbody td:first-child a').allInnerTexts()
    t.same(names, [f.regular.username, f.member.username], `the segment's members, most engaged first, at ${width}px`)
    const [sw, cw] = (await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')) as [number, number]
    t.ok(sw <= cw, `no sideways scroll at ${width}px`, { sw, cw })
    await page.screenshot({ path: screenshotPath(`segment-${width}`), fullPage: true })
    if (width === 1280) {
      await page.getByLabel('Message').fill('We would love your feedback on the new roadmap.')
      await page.getByLabel(/Link to/).fill('/roadmap')
      await page.getByRole('button', { name: /Send to 2 members/ }).click()
      await page.getByText('Sent to 2 members').waitFor()
    }
    await context.close()
  }
  t.equal((await db.selectFrom('notifications').select('id').where('kind', '=', 'community.message').execute()).length, 2)
})
