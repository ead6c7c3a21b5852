import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { PASSWORD } from '../helpers/personas.js'

t.test('a new owner sets the community up in the browser: checklist, identity, categories, about page', async (t) => {
  const testApp = await build(t)
  const { db } = testApp
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const cspViolations: string[] = []
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text())
  })

  // A person takes a few seconds over the sign-up form; the browser here types at once (test/spam/signup.test.ts covers the timing).
  await testApp.app.hearth.settings.set('spam_signup_min_seconds', 0)
  // The first sign-up lands on the checklist, not on a profile.
  await page.goto(`${base}/signup`)
  await page.getByLabel('Username').fill('founder')
  await page.getByLabel('Email').fill('founder@example.test')
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: /sign up/i }).click()
  await page.waitForURL(/\/admin\?welcome=1/)
  t.match(await page.locator('.checklist').textContent(), /you are this community’s first admin/)
  t.match(await page.locator('#checklist-title').textContent(), /0 of 4 done/)

  // Name, accent and guidelines.
  await page.getByRole('link', { name: 'Name your community' }).click()
  await page.getByLabel('Name', { exact: true }).first().fill('Kettle Club')
  await page.getByLabel('Tagline (optional)').fill('Tea people helping tea people')
  await page.getByLabel('Accent colour (optional)').fill('#0f766e')
  await page.getByLabel('Guidelines (markdown)').fill('## Be kind\n\nShare **what you brewed**, not what you sell.')
  await page.getByLabel('Contact (optional)').fill('hello@kettle.example')
  await page.getByRole('button', { name: 'Save community' }).click()
  await page.waitForURL(/saved=community/)
  t.equal(await page.locator('.site-header .brand').textContent(), 'Kettle Club', 'the header shows the new name at once')
  t.equal(await page.title(), 'Admin · Kettle Club')
  const brandColour = await page.evaluate(`getComputedStyle(document.querySelector('.site-header .brand')).color`)
  t.equal(brandColour, 'rgb(15, 118, 110)', 'the accent colour is applied through /theme.css')
  t.equal(await page.locator('[data-step="name"]').getAttribute('data-done'), 'true', 'the first step ticks itself off')

  // Two categories, one edited (new name, slug, colour), the other deleted into it.
  for (const name of ['Brewing', 'Gear']) {
    await page.locator('form[action="/admin/categories"] input[name="name"]').fill(name)
    await page.getByRole('button', { name: 'Create category' }).click()
    await page.waitForURL(/saved=category/)
  }
  t.equal(await page.locator('[data-step="categories"]').getAttribute('data-done'), 'true')
  await page.screenshot({ path: screenshotPath('owner-admin-1280'), fullPage: true })
  await page.getByRole('link', { name: 'Edit Brewing' }).click()
  await page.getByLabel('Name').fill('Brewing and recipes')
  await page.getByLabel('Slug').fill('recipes')
  await page.getByLabel('Colour (optional)').fill('#b45309')
  await page.getByLabel('Description').fill('Methods, temperatures and recipes.')
  await page.screenshot({ path: screenshotPath('owner-category-edit-1280'), fullPage: true })
  await page.getByRole('button', { name: 'Save category' }).click()
  await page.waitForURL(/saved=category/)
  await page.goto(`${base}/c/brewing`)
  t.equal(new URL(page.url()).pathname, '/c/recipes', 'the old address redirects to the new one')
  t.match(await page.locator('h1').textContent(), /Brewing and recipes/)
  const dot = await page.evaluate(`getComputedStyle(document.querySelector('h1 .cat-dot')).backgroundColor`)
  t.equal(dot, 'rgb(180, 83, 9)', 'the category colour shows, without inline styles')
  await page.goto(`${base}/c/gear/new`)
  await page.getByLabel('Title').fill('Which kettle keeps the temperature best?')
  await page.locator('textarea[name="body"]').fill('Mine drifts by five degrees.')
  await page.getByRole('button', { name: 'Start thread' }).click()
  await page.waitForURL(/\/t\//)

  await page.goto(`${base}/admin`)
  await page.getByRole('link', { name: 'Edit Gear' }).click()
  await page.getByLabel('Move its threads to').selectOption({ label: 'Brewing and recipes' })
  await page.getByRole('button', { name: /Delete Gear/ }).click()
  await page.waitForURL(/saved=category-deleted/)
  t.match(await page.locator('[role=status]').first().textContent(), /1 thread\(s\) moved to Brewing and recipes/)
  await page.goto(`${base}/c/recipes`)
  t.match(await page.locator('main').textContent(), /Which kettle keeps the temperature best\?/, 'the thread moved with the category')
  const threads = await db.selectFrom('threads').select('category_id').execute()
  t.equal(threads.length, 1)

  // The about page: guidelines, staff, figures and contact, linked from every page.
  await page.goto(`${base}/`)
  await page.locator('.site-footer').getByRole('link', { name: 'About and guidelines' }).click()
  await page.waitForURL(/\/about$/)
  t.match(await page.locator('h1').textContent(), /About Kettle Club/)
  t.equal(await page.locator('.guidelines h2').textContent(), 'Be kind')
  t.match(await page.locator('.guidelines').textContent(), /what you brewed/)
  t.match(await page.locator('#staff + .staff').textContent(), /founder/)
  t.equal(await page.locator('[data-stat="Threads"] td').first().textContent(), '1')
  t.equal(await page.getByRole('link', { name: 'hello@kettle.example' }).getAttribute('href'), 'mailto:hello@kettle.example')

  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 844 })
    for (const [name, path] of [['owner-admin', '/admin'], ['owner-about', '/about'], ['owner-category-edit', `/admin/categories/${threads[0]!.category_id}`]] as const) {
      await page.goto(`${base}${path}`)
      const sideways = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'))
      t.ok(sideways <= 0, `${name} at ${width}px does not scroll sideways (${sideways})`)
      await page.screenshot({ path: screenshotPath(`${name}-${width}`), fullPage: true })
    }
  }
  t.same(cspViolations, [], 'no Content-Security-Policy violations')
})
