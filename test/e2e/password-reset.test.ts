import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { persona } from '../helpers/personas.js'
import { startSmtp } from '../helpers/smtp.js'
import { startTestWorker } from '../helpers/worker.js'

const NEW_PASSWORD = 'kettle on the windowsill 7'

t.test('a member who forgot their password gets back in from the log-in page, in a real browser', async (t) => {
  const smtp = await startSmtp(t)
  const testApp = await build(t, { redis: true, env: { SMTP_URL: smtp.url } })
  const { app, db } = testApp
  const worker = await startTestWorker(t, db, testApp.config)
  await persona(app, db, { stem: 'owner', role: 'admin' }) // the first account; the member below is an ordinary one
  const member = await persona(app, db, { stem: 'forgot' })
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const cspViolations: string[] = []

  for (const width of [1280, 390]) {
    const context = await browser.newContext({ viewport: { width, height: width === 390 ? 844 : 900 } })
    const page = await context.newPage()
    page.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text())
    })
    smtp.messages.length = 0

    await page.goto(`${base}/login`)
    await page.getByRole('link', { name: 'Forgot your password?' }).click()
    t.match(await page.locator('h1').textContent(), /Forgot your password\?/)
    await page.getByLabel('Email').fill(member.email)
    await page.getByRole('button', { name: 'Send me a reset link' }).click()
    await page.waitForSelector('[data-reset-sent]')
    await page.screenshot({ path: screenshotPath(`password-reset-sent-${width}`), fullPage: true })

    await smtp.waitFor((ms) => ms.some((m) => m.to.includes(member.email)))
    const mailed = /http:\/\/127\.0\.0\.1:3000(\/password-reset\/[\w-]+)/.exec(smtp.to(member.email)[0]!.text)
    t.ok(mailed, `a link arrived (${width} px)`)
    const link = `${base}${mailed![1]}`

    await page.goto(link)
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel('New password again').fill('not the same passphrase')
    await page.getByRole('button', { name: 'Set my new password' }).click()
    await page.waitForSelector('text=The two passwords differ')
    await page.screenshot({ path: screenshotPath(`password-reset-mismatch-${width}`), fullPage: true })

    await page.getByLabel('New password', { exact: true }).fill(`${NEW_PASSWORD} ${width}`)
    await page.getByLabel('New password again').fill(`${NEW_PASSWORD} ${width}`)
    await page.getByRole('button', { name: 'Set my new password' }).click()
    await page.waitForURL(/\/settings\?saved=password-reset/)
    t.match(await page.locator('main').textContent(), /Your new password is set and you are logged in/)
    await page.screenshot({ path: screenshotPath(`password-reset-done-${width}`), fullPage: true })

    await page.goto(link)
    t.match(await page.locator('[data-reset-invalid]').textContent(), /already been used/, 'the link works once')
    await page.screenshot({ path: screenshotPath(`password-reset-used-${width}`), fullPage: true })
    t.equal((await member.client.api('GET', '/api/v1/me')).statusCode, 401, 'the session from before the reset ended')
    await context.close()
  }
  t.same(cspViolations, [], 'no Content-Security-Policy violations')
  await worker.close()
})
