import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, serve } from '../helpers/browser.js'
import { persona } from '../helpers/personas.js'

t.test('mail links work in a real browser without logging in: verify, then unsubscribe with one button', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const member = await persona(app, db, { stem: 'reader' })
  await db.updateTable('users').set({ email_verified_at: null }).where('id', '=', member.id).execute()
  const user = await db.selectFrom('users').select(['id', 'email']).where('id', '=', member.id).executeTakeFirstOrThrow()
  // The same links the worker puts in mail.
  const verifyUrl = new URL(app.hearth.email.mailLinks.verifyUrl(user))
  const unsubscribeUrl = new URL(app.hearth.email.mailLinks.unsubscribeUrl(user.id, 'digest'))
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const page = await browser.newPage()
  const cspViolations: string[] = []
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text())
  })

  await page.goto(`${base}${verifyUrl.pathname}${verifyUrl.search}`)
  t.match(await page.locator('h1').textContent(), /Address confirmed/)
  t.match(await page.locator('main').textContent(), new RegExp(`${member.email.replace('.', '\\.')} is confirmed`))
  await page.reload()
  t.match(await page.locator('main').textContent(), /already been used/, 'the link works once')

  await page.goto(`${base}${unsubscribeUrl.pathname}${unsubscribeUrl.search}`)
  t.match(await page.locator('main').textContent(), /Stop the email digest\?/)
  t.equal((await db.selectFrom('users').select('digest_frequency').where('id', '=', member.id).executeTakeFirstOrThrow()).digest_frequency, 'weekly')
  await page.getByRole('button', { name: 'Unsubscribe' }).click()
  await page.waitForSelector('text=You will no longer get the email digest')
  t.equal((await db.selectFrom('users').select('digest_frequency').where('id', '=', member.id).executeTakeFirstOrThrow()).digest_frequency, 'never')
  t.same(cspViolations, [], 'no Content-Security-Policy violations')
})
