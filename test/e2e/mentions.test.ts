import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { launchBrowser, loggedIn, screenshotPath, serve, watchCsp } from '../helpers/browser.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { persona } from '../helpers/personas.js'

async function noSidewaysScroll(page: Page): Promise<boolean> {
  return page.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth')
}

t.test('@-mention suggestions: type, choose with the arrows, insert with Enter or Tab, close with Escape', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const inThread = await persona(app, db, { stem: 'alvar', trustLevel: 1 })
  const other = await persona(app, db, { stem: 'alma', trustLevel: 1 })
  await db.updateTable('users').set({ display_name: 'Alma Keys' }).where('id', '=', other.id).execute()
  const thread = await startThread(f.admin, f.cats.open.id, 'Which switches are quiet?', 'Asking for an open office.')
  await replyTo(inThread, thread.id, 'Silent reds, for me.')
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const violations: string[] = []

  for (const width of [390, 1280]) {
    const context = await browser.newContext({ viewport: { width, height: 900 } })
    const page = await loggedIn(context, f.member, base)
    watchCsp(page, violations)
    await page.goto(`${base}${thread.url}`)
    const reply = page.getByLabel('Your reply')
    const list = page.getByRole('listbox', { name: 'Members to mention' })
    await reply.click()
    await reply.pressSequentially('Thanks @al')
    await list.waitFor()
    const options = list.getByRole('option')
    t.equal(await options.count(), 2, `${width}px: both members starting with "al" are offered`)
    t.match(await options.nth(0).textContent(), `@${inThread.username}`, 'the one in this thread first')
    t.match(await options.nth(1).textContent(), /Alma Keys/, 'display names are shown')
    t.equal(await reply.getAttribute('aria-expanded'), 'true', 'the textarea says the list is open')
    t.equal(await options.nth(0).getAttribute('aria-selected'), 'true', 'the first is chosen')
    t.equal(await reply.getAttribute('aria-activedescendant'), await options.nth(0).getAttribute('id'), 'and is the active descendant')
    await page.screenshot({ path: screenshotPath(`composer-mentions-${width}`) })
    t.ok(await noSidewaysScroll(page), `${width}px: the open list does not scroll the page sideways`)

    await reply.press('ArrowDown')
    t.equal(await options.nth(1).getAttribute('aria-selected'), 'true', 'ArrowDown chooses the next')
    t.equal(await reply.getAttribute('aria-activedescendant'), await options.nth(1).getAttribute('id'))
    await reply.press('ArrowDown')
    t.equal(await options.nth(0).getAttribute('aria-selected'), 'true', 'and wraps around')
    await reply.press('ArrowUp')
    t.equal(await options.nth(1).getAttribute('aria-selected'), 'true', 'ArrowUp goes back')
    await reply.press('Enter')
    t.equal(await reply.inputValue(), `Thanks @${other.username} `, 'Enter inserts the chosen mention, with a space after it')
    t.ok(await list.isHidden(), 'and closes the list')
    t.equal(await reply.getAttribute('aria-expanded'), 'false')

    await reply.pressSequentially('and @alv')
    await list.getByRole('option').first().waitFor()
    await reply.press('Tab')
    t.equal(await reply.inputValue(), `Thanks @${other.username} and @${inThread.username} `, 'Tab inserts too')

    await reply.pressSequentially('cc @al')
    await list.waitFor()
    await reply.press('Escape')
    t.ok(await list.isHidden(), 'Escape closes the list')
    await reply.press('Enter')
    t.match(await reply.inputValue(), /cc @al\n$/, 'and Enter is a line break again')

    await reply.fill('')
    await reply.pressSequentially('`code @al')
    await page.waitForTimeout(400)
    t.ok(await list.isHidden(), 'no suggestions inside inline code')
    await context.close()
  }
  t.same(violations, [], 'no CSP violations')
})

