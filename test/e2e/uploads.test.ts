import sharp from 'sharp'
import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

// Image processing and a browser on a shared machine: more than the default two minutes when it is busy.
t.setTimeout(300_000)

/** A picture worth looking at in a screenshot: a sunset-like gradient with a sun. */
function picture(width: number, height: number, format: 'png' | 'jpeg' = 'jpeg'): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#2b1055"/><stop offset="0.6" stop-color="#d53369"/><stop offset="1" stop-color="#ffb347"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/><circle cx="${width * 0.7}" cy="${height * 0.62}" r="${height * 0.16}" fill="#ffe29a"/>
    <rect y="${height * 0.78}" width="100%" height="${height * 0.22}" fill="#1b1b2f"/></svg>`
  const image = sharp(Buffer.from(svg))
  return (format === 'png' ? image.png() : image.jpeg({ quality: 85 })).toBuffer()
}

t.test('with JavaScript: a pasted and a dropped image upload at once and land at the cursor', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const thread = await startThread(f.regular, f.cats.open.id, 'Show your desk setup', 'Post a photo of where you work.')
  await replyTo(f.admin, thread.id, 'Mine is mostly cables.')
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  await context.addCookies([...f.member.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const page = await context.newPage()
  const violations: string[] = []
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text())
  })
  await page.goto(`${base}${thread.url}`)
  await page.screenshot({ path: screenshotPath('uploads-thread-avatars-1280') })
  const reply = page.getByLabel('Your reply')
  await reply.fill('Here is my desk:\n\nAnd that is all.')
  // The cursor after "desk:\n", then a pasted screenshot.
  await reply.evaluate((el: any) => el.setSelectionRange(17, 17))
  const pasted = (await picture(1600, 900, 'png')).toString('base64')
  await reply.evaluate((el: any, data: string) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0))
    const transfer = new (globalThis as any).DataTransfer()
    transfer.items.add(new File([bytes], 'image.png', { type: 'image/png' }))
    el.dispatchEvent(new (globalThis as any).ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }))
  }, pasted)
  await page.waitForFunction(() => /!\[image\]\(\/uploads\/[a-f0-9]{32}\.png\)/.test((globalThis as any).document.querySelector('#f-body').value))
  let value = await reply.inputValue()
  t.match(value, /^Here is my desk:\n\n!\[image\]\(\/uploads\/[a-f0-9]{32}\.png\)\n\nAnd that is all\.$/, 'the markdown sits where the cursor was, in a paragraph of its own')
  t.notMatch(value, /Uploading/, 'the placeholder is gone')

  // A photo dropped on the composer goes in too.
  const dropped = (await picture(800, 600)).toString('base64')
  await reply.evaluate((el: any, data: string) => {
    el.setSelectionRange(el.value.length, el.value.length)
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0))
    const transfer = new (globalThis as any).DataTransfer()
    transfer.items.add(new File([bytes], 'my-desk.jpg', { type: 'image/jpeg' }))
    el.dispatchEvent(new (globalThis as any).DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }))
    el.dispatchEvent(new (globalThis as any).DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }))
  }, dropped)
  await page.waitForFunction(() => /!\[my desk\]\(\/uploads\/[a-f0-9]{32}\.jpg\)/.test((globalThis as any).document.querySelector('#f-body').value))
  value = await reply.inputValue()
  t.match(value, /And that is all\.\n\n!\[my desk\]\(\/uploads\/[a-f0-9]{32}\.jpg\)\n$/, 'a dropped photo goes at the end, after a blank line')

  // A file that is not an image says why, beside the composer, and leaves the text alone.
  await reply.evaluate((el: any) => {
    const transfer = new (globalThis as any).DataTransfer()
    transfer.items.add(new File(['<html><script>alert(1)</script></html>'], 'evil.png', { type: 'image/png' }))
    el.dispatchEvent(new (globalThis as any).ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }))
  })
  await page.waitForSelector('[data-upload-status].error')
  t.match(await page.locator('[data-upload-status]').textContent(), /evil\.png: Only JPEG, PNG, WebP, GIF or AVIF images can be uploaded/)
  t.equal(await reply.inputValue(), value, 'nothing was added for it')

  await page.getByRole('button', { name: 'Preview' }).click()
  await page.waitForSelector('.preview img')
  await page.locator('#reply').screenshot({ path: screenshotPath('uploads-composer-1280') })
  await page.setViewportSize({ width: 390, height: 900 })
  await page.locator('#reply').screenshot({ path: screenshotPath('uploads-composer-390') })
  await page.setViewportSize({ width: 1280, height: 900 })

  await page.getByRole('button', { name: 'Post reply' }).click()
  await page.waitForURL(/#p\d+$/)
  const images = page.locator('.posts .post-body img')
  t.equal(await images.count(), 2, 'the post shows both images')
  const loaded = await images.evaluateAll((list) => list.map((img) => (img as any).complete && (img as any).naturalWidth))
  t.same(loaded, [1600, 800], 'both loaded, at their size (under 1920 px, not scaled)')
  const avatars = await page.locator('.post > header img.avatar').evaluateAll((list) => list.map((img) => (img as any).naturalWidth > 0))
  t.ok(avatars.length >= 3 && avatars.every(Boolean), 'every author shows an avatar, and it loads')
  const post = page.locator('.posts .post').last()
  await post.screenshot({ path: screenshotPath('uploads-post-1280') })
  await page.screenshot({ path: screenshotPath('uploads-thread-with-images-1280') })
  await page.setViewportSize({ width: 390, height: 900 })
  await page.goto(`${base}${thread.url}`)
  t.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, 'no sideways scroll at 390 px with images')
  await page.locator('.posts .post').last().screenshot({ path: screenshotPath('uploads-post-390') })
  await page.screenshot({ path: screenshotPath('uploads-thread-avatars-390') })

  // The avatar from settings.
  await page.setViewportSize({ width: 1280, height: 900 })
  await page.goto(`${base}/settings`)
  await page.locator('#f-avatar').setInputFiles({ name: 'me.jpg', mimeType: 'image/jpeg', buffer: await picture(640, 480) })
  await page.getByRole('button', { name: 'Save avatar' }).click()
  await page.waitForURL(/saved=avatar/)
  t.match(await page.locator('.notice.success').textContent(), /Your new avatar is set/)
  const section = page.locator('.avatar-settings')
  t.match(await section.locator('img.avatar').getAttribute('src'), /^\/uploads\/[a-f0-9]{32}-256\.webp$/)
  await page.locator('#avatar').scrollIntoViewIfNeeded()
  await page.screenshot({ path: screenshotPath('uploads-settings-avatar-1280'), clip: { x: 0, y: Math.max(0, (await page.locator('#avatar').boundingBox())!.y - 80), width: 1280, height: 420 } })
  await page.setViewportSize({ width: 390, height: 900 })
  await page.locator('#avatar').scrollIntoViewIfNeeded()
  await page.screenshot({ path: screenshotPath('uploads-settings-avatar-390') })
  await page.goto(`${base}${thread.url}`)
  t.match(await page.locator(`.post > header a[href="/u/${f.member.username}"] img.avatar`).last().getAttribute('src'), /^\/uploads\/[a-f0-9]{32}-96\.webp$/, 'the thread shows the new avatar')
  t.same(violations, [], 'no Content Security Policy violations')
})
