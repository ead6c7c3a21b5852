import tap from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, loggedIn, serve, shoot } from '../helpers/browser.js'
import { persona } from '../helpers/personas.js'

tap.test('staff edit a beta program in a real browser: more seats let the waitlist in; sign-ups close and say so', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const base = await serve(testApp)
  const admin = await persona(app, db, { stem: 'admin', role: 'admin', trustLevel: 4 })
  const other = await persona(app, db, { stem: 'willow', trustLevel: 1 })
  const member = await persona(app, db, { stem: 'maple', trustLevel: 1 })
  const browser = await launchBrowser(t)
  const cspViolations: string[] = []
  const staff = await loggedIn(await browser.newContext({ viewport: { width: 1280, height: 844 } }), admin, base)
  const page = await loggedIn(await browser.newContext({ viewport: { width: 1280, height: 844 } }), member, base)
  for (const p of [staff, page]) {
    p.on('console', (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text())
    })
  }

  const program = await admin.client.api('POST', '/api/v1/beta', {
    title: 'Dark mode beta',
    description: 'Try the **dark theme** early.',
    capacity: 1,
    questions: [{ id: 'device', label: 'Which device will you test on?', type: 'single_choice', required: true, choices: ['Phone', 'Laptop'] }],
  })
  await other.client.api('POST', `/api/v1/beta/${program.data.id}/signups`, { answers: { device: 'Phone' } })
  await member.client.api('POST', `/api/v1/beta/${program.data.id}/signups`, { answers: { device: 'Laptop' } })
  await staff.goto(`${base}/beta/${program.data.id}/manage`)
  await staff.getByRole('link', { name: 'Edit program' }).click()
  await staff.waitForURL(`${base}/beta/${program.data.id}/edit`)
  await shoot(t, staff, 'beta-edit-form')
  await staff.getByLabel('Seats', { exact: true }).fill('0')
  await staff.getByRole('button', { name: 'Save changes' }).click()
  t.match(await staff.locator('.field.has-error .error').first().textContent(), /1 tester already holds a seat|At least one seat/, 'a bad seat count is explained')
  await staff.getByLabel('Seats', { exact: true }).fill('2')
  await staff.getByLabel('Question', { exact: true }).nth(1).fill('Which browser do you use most?')
  await staff.getByLabel('Answer').nth(1).selectOption('short_text')
  await staff.getByRole('button', { name: 'Save changes' }).click()
  await staff.waitForURL(/\/beta\/\d+\/manage\?saved=1/)
  t.match(await staff.locator('.notice.success').textContent(), /1 member from the waitlist got a seat and was told/)
  await staff.getByRole('button', { name: 'Close sign-ups' }).click()
  await staff.waitForURL(`${base}/beta/${program.data.id}/manage`)
  t.equal(await staff.getByRole('button', { name: 'Reopen sign-ups' }).count(), 1)
  await shoot(t, staff, 'beta-manage')

  await page.goto(`${base}/beta/${program.data.id}`)
  t.match(await page.locator('#my-state').textContent(), /You are in/, 'the member got the new seat')
  const stranger = await (await browser.newContext()).newPage()
  await stranger.goto(`${base}/beta/${program.data.id}`)
  t.match(await stranger.locator('#closed-note').textContent(), /Sign-ups are closed. The team closed them/, 'everyone reads that sign-ups are closed')
  t.same(cspViolations, [], 'no Content-Security-Policy violations')
})
