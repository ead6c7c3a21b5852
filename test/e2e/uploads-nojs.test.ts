import sharp from 'sharp'
import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum, startThread } from '../helpers/forum.js'

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

t.test('without JavaScript: the file field sends the image with the reply', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const thread = await startThread(f.regular, f.cats.open.id, 'Sunsets from your window', 'Share one.')
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 390, height: 900 }, javaScriptEnabled: false })
  await context.addCookies([...f.member.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const page = await context.newPage()
  await page.goto(`${base}${thread.url}`)
  await page.getByLabel('Your reply').fill('Last night from the balcony.')
  await page.locator('#f-image').setInputFiles({ name: 'balcony.jpg', mimeType: 'image/jpeg', buffer: await picture(2400, 1600) })
  await page.getByRole('button', { name: 'Preview' }).click()
  await page.waitForSelector('.preview img')
  t.match(await page.getByLabel('Your reply').inputValue(), /^Last night from the balcony\.\n\n!\[balcony\]\(\/uploads\/[a-f0-9]{32}\.jpg\)$/, 'the preview put the image in the text')
  await page.locator('#reply').screenshot({ path: screenshotPath('uploads-nojs-preview-390') })
  await page.getByRole('button', { name: 'Post reply' }).click()
  await page.waitForURL(/#p\d+$/)
  const img = page.locator('.posts .post-body img')
  t.equal(await img.count(), 1)
  t.same(await img.evaluate((el) => [(el as any).naturalWidth, (el as any).naturalHeight]), [1920, 1280], 'scaled down to 1920 px wide')
  const stored = await db.selectFrom('uploads').select(['width', 'height', 'content_type']).where('user_id', '=', f.member.id).execute()
  t.same(stored, [{ width: 1920, height: 1280, content_type: 'image/jpeg' }], 'stored once (the preview did not store it twice)')

  // A wrong file comes back with the text kept and the reason beside the field.
  await page.getByLabel('Your reply').fill('This one is not a picture')
  await page.locator('#f-image').setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('plain text, not an image') })
  await page.getByRole('button', { name: 'Post reply' }).click()
  await page.waitForSelector('#f-image-error')
  t.match(await page.locator('#f-image-error').textContent(), /Only JPEG, PNG, WebP, GIF or AVIF images/)
  t.equal(await page.getByLabel('Your reply').inputValue(), 'This one is not a picture')
  await page.locator('#reply').screenshot({ path: screenshotPath('uploads-nojs-error-390') })
})
