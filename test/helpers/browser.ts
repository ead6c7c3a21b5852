import fs from 'node:fs'
import path from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import type { TestApp, Teardown } from './app.js'
import type tap from 'tap'
import type { Persona } from './personas.js'
import { ROOT } from './process.js'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Debian's Chromium, headless, with nothing that reaches outside this machine. */
export async function launchBrowser(t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
  t.teardown(() => browser.close())
  return browser
}

/** Listens on a free loopback port; returns the base URL. */
export async function serve(testApp: TestApp): Promise<string> {
  await testApp.app.listen({ port: 0, host: '127.0.0.1' })
  const address = testApp.app.server.address()
  if (!address || typeof address === 'string') throw new Error('no address')
  return `http://127.0.0.1:${address.port}`
}

/** Where screenshots of browser tests go, for a person to look at. */
export function screenshotPath(name: string): string {
  const dir = path.join(ROOT, 'test/e2e/screenshots')
  fs.mkdirSync(dir, { recursive: true })
  return path.join(dir, `${name}.png`)
}

/** A page in `context` that carries the persona's cookies (their session). */
export async function loggedIn(context: BrowserContext, who: Persona, base: string): Promise<Page> {
  await context.addCookies([...who.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  return context.newPage()
}

/** Screenshots the page at a phone's and a desktop's width, checking neither scrolls sideways. */
export async function shoot(t: Pick<typeof tap, 'ok'>, page: Page, name: string): Promise<void> {
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 844 })
    await page.evaluate('window.scrollTo(0, 0)')
    const { scrollWidth, clientWidth } = (await page.evaluate(`({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })`)) as { scrollWidth: number; clientWidth: number }
    t.ok(scrollWidth <= clientWidth, `${name} at ${width}px does not scroll sideways`, { scrollWidth, clientWidth })
    await page.screenshot({ path: screenshotPath(`${name}-${width}`), fullPage: true })
  }
  await page.setViewportSize({ width: 1280, height: 844 })
}

/** Collects the page's Content-Security-Policy violations (from the console) into `violations`. */
export function watchCsp(page: Page, violations: string[]): void {
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text())
  })
}
