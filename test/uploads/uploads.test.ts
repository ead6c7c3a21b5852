import fs from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import t from 'tap'
import { build, type Teardown } from '../helpers/app.js'
import { forum, startThread } from '../helpers/forum.js'
import { restrict } from '../helpers/personas.js'
import { jpeg, png, pngBomb } from './images.js'

// Image processing and a browser on a shared machine: more than the default two minutes when it is busy.
t.setTimeout(300_000)

const HTML = Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>')
const SVG = Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><rect width="10" height="10"/></svg>')

async function setup(t: Teardown) {
  const ctx = await build(t)
  const f = await forum(ctx.app, ctx.db)
  const thread = await startThread(f.member, f.cats.open.id, 'Pictures of the week', 'Show us yours.')
  // The API takes the page's CSRF token in a header when the session cookie authenticates.
  const token = async (who: typeof f.member) => who.client.csrfFrom(thread.url)
  const upload = async (who: typeof f.member, data: Buffer, filename: string, type = 'image/jpeg') =>
    who.client.postMultipart('/api/v1/uploads', {}, { field: 'file', filename, data, type }, { 'x-csrf-token': await token(who) })
  return { ...ctx, f, thread, upload }
}

t.test('the bytes decide what a file is, never its name or Content-Type', async (t) => {
  const { app, f, upload } = await setup(t)

  const disguised = await upload(f.member, await png(40, 30), 'holiday_photo.jpg', 'image/jpeg')
  t.equal(disguised.statusCode, 201, 'a PNG named .jpg is taken')
  t.match(disguised.data.url, /^\/uploads\/[a-f0-9]{32}\.png$/, 'and stored as what it is: a PNG')
  t.same([disguised.data.width, disguised.data.height], [40, 30])
  t.equal(disguised.data.markdown, `![holiday photo](${disguised.data.url})`, 'the markdown to insert, alt text from the name')

  const html = await upload(f.member, HTML, 'cute-cat.png', 'image/png')
  t.equal(html.statusCode, 415, 'an HTML page named .png is refused')
  t.same(html.data, { error: 'Only JPEG, PNG, WebP, GIF or AVIF images can be uploaded', field: 'file' })

  const svg = await upload(f.member, SVG, 'logo.svg', 'image/svg+xml')
  t.equal(svg.statusCode, 415, 'an SVG is refused (it can carry scripts)')
  t.equal(svg.data.field, 'file')

  const text = await upload(f.member, Buffer.from('just text'), 'notes.gif', 'image/gif')
  t.equal(text.statusCode, 415)

  const none = await f.member.client.postMultipart('/api/v1/uploads', { alt: 'x' }, undefined, { 'x-csrf-token': await f.member.client.csrfFrom('/') })
  t.equal(none.statusCode, 400, 'no file at all')
  t.equal(none.data.field, 'file')

  const rows = await app.hearth.uploads.listForUser(f.member.id)
  t.equal(rows.length, 1, 'only the image was stored')
})

t.test('camera data and location are removed, and the picture is turned upright', async (t) => {
  const { app, f, upload } = await setup(t)
  const original = await jpeg(64, 32, { exif: true, orientation: 6 })
  const before = await sharp(original).metadata()
  t.ok(before.exif, 'the test photo carries EXIF')
  t.ok(original.includes(Buffer.from('SecretPhoneMaker')), 'with the camera maker in it')
  t.equal(before.orientation, 6)

  const res = await upload(f.member, original, 'IMG_0001.JPG')
  t.equal(res.statusCode, 201)
  const stored = (await app.inject({ method: 'GET', url: res.data.url })).rawPayload
  const after = await sharp(stored).metadata()
  t.equal(after.format, 'jpeg')
  t.notOk(after.exif, 'no EXIF left (GPS lives inside it)')
  t.notOk(after.xmp, 'no XMP')
  t.notOk(after.icc && after.icc.includes(Buffer.from('SecretPhoneMaker')), 'no trace in the colour profile')
  t.notOk(stored.includes(Buffer.from('SecretPhoneMaker')), 'the maker is nowhere in the file')
  t.notOk(stored.includes(Buffer.from('GPS')), 'nor any GPS tag')
  t.same([after.width, after.height], [32, 64], 'rotated as the camera meant it')
  t.notOk(after.orientation && after.orientation !== 1, 'no orientation flag left to apply twice')
})

t.test('big pictures are scaled down; oversized files and pixel bombs are refused', async (t) => {
  const { app, f, upload } = await setup(t)
  await app.hearth.settings.update({ upload_max_dimension: 512, upload_max_file_kb: 200, upload_max_megapixels: 4 })

  const wide = await upload(f.member, await png(1200, 600), 'wide.png', 'image/png')
  t.equal(wide.statusCode, 201)
  t.same([wide.data.width, wide.data.height], [512, 256], 'fits in the largest dimension, aspect kept')

  const heavy = await upload(f.member, await jpeg(1000, 1000), 'heavy.jpg')
  t.equal(heavy.statusCode, 413, 'a file over the byte limit')
  t.same(heavy.data, { error: 'This file is too large; images can be up to 200 KB', field: 'file' })

  const bomb = pngBomb(60_000, 60_000)
  t.ok(bomb.length < 1000, `the bomb is ${bomb.length} bytes`)
  const started = Date.now()
  const res = await upload(f.member, bomb, 'tiny.png', 'image/png')
  t.equal(res.statusCode, 413, 'a picture claiming 3.6 gigapixels is refused')
  t.match(res.data.error, /too large \(60000 × 60000\); the limit is 4 megapixels/)
  t.equal(res.data.field, 'file')
  t.ok(Date.now() - started < 30_000, 'without decoding it')
  t.equal((await app.hearth.uploads.listForUser(f.member.id)).length, 1, 'only the good picture was kept')
})

t.test('files are served so that no browser runs them, and cached for good', async (t) => {
  const { app, f, upload } = await setup(t)
  const res = await upload(f.member, await png(), 'a.png', 'image/png')
  const served = await app.inject({ method: 'GET', url: res.data.url })
  t.equal(served.statusCode, 200)
  t.equal(served.headers['content-type'], 'image/png')
  t.equal(served.headers['x-content-type-options'], 'nosniff')
  t.equal(served.headers['content-security-policy'], "default-src 'none'; sandbox")
  t.match(served.headers['content-disposition'], /^inline; filename="[a-f0-9]{32}\.png"$/)
  t.equal(served.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(Number(served.headers['content-length']), served.rawPayload.length)
  t.equal((await sharp(served.rawPayload).metadata()).format, 'png')

  const again = await app.inject({ method: 'GET', url: res.data.url, headers: { 'if-none-match': served.headers.etag as string } })
  t.equal(again.statusCode, 304, 'a browser that has it asks once')

  for (const url of ['/uploads/0123456789abcdef0123456789abcdef.png', '/uploads/..%2F..%2Fpackage.json', '/uploads/x.html', '/uploads/0123456789abcdef0123456789abcdef.html']) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 404, `${url} is nothing`)
  }
  const guest = await app.inject({ method: 'GET', url: res.data.url })
  t.equal(guest.statusCode, 200, 'anyone with the address sees the image')
})

t.test('who may upload: members in good standing, with the page token, at the trust level set', async (t) => {
  const { app, db, f, upload } = await setup(t)
  const image = await png()
  const guest = await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--\r\n' })
  t.equal(guest.statusCode, 401)

  const noToken = await f.member.client.postMultipart('/api/v1/uploads', {}, { field: 'file', filename: 'a.png', data: image })
  t.equal(noToken.statusCode, 403, 'a cookie without the page token (a cross-site form) is refused')
  const crossSite = await f.member.client.postMultipart('/api/v1/uploads', {}, { field: 'file', filename: 'a.png', data: image }, {
    'x-csrf-token': await f.member.client.csrfFrom('/'),
    'sec-fetch-site': 'cross-site',
  })
  t.equal(crossSite.statusCode, 403)

  await restrict(db, f.regular.id, 'silenced')
  const silenced = await upload(f.regular, image, 'a.png')
  t.equal(silenced.statusCode, 403)
  t.match(silenced.data.error, /silenced/)

  await app.hearth.settings.update({ upload_min_trust_level: 1 })
  const newbie = await upload(f.newbie, image, 'a.png')
  t.equal(newbie.statusCode, 403)
  t.match(newbie.data.error, /trust level 1 and above can upload images/)
  t.equal((await upload(f.member, image, 'a.png')).statusCode, 201, 'trust level 1 may')
})

t.test('a daily quota per member, smaller for new members, exact under racing uploads', async (t) => {
  const { app, f, upload } = await setup(t)
  await app.hearth.settings.update({ tl0_upload_daily_count: 2, upload_daily_count: 3 })
  const image = (n: number) => png(20 + n, 20)
  t.equal((await upload(f.newbie, await image(1), 'a.png')).statusCode, 201)
  t.equal((await upload(f.newbie, await image(2), 'b.png')).statusCode, 201)
  const third = await upload(f.newbie, await image(3), 'c.png')
  t.equal(third.statusCode, 429, 'a new member gets two a day here')
  t.equal(third.data.field, 'file')
  t.match(third.data.error, /uploaded 2 images today/)

  // Five at once for a member with three left: exactly three get in.
  // (Their CSRF cookie is set first: five first pages at once would each set one of their own.)
  await f.member.client.get('/')
  const results = await Promise.all([0, 1, 2, 3, 4].map(async (n) => upload(f.member, await image(10 + n), `r${n}.png`)))
  const codes = results.map((r) => r.statusCode).sort()
  t.same(codes, [201, 201, 201, 429, 429], 'the quota holds under a race')
  t.equal((await app.hearth.uploads.listForUser(f.member.id)).length, 3)

  await app.hearth.settings.update({ upload_daily_count: 100, upload_daily_mb: 0 })
  const bytes = await upload(f.regular, await image(30), 'd.png')
  t.equal(bytes.statusCode, 429, 'the byte quota counts too')
  t.match(bytes.data.error, /today's 0 KB of uploads/)
})

t.test('without JavaScript, the file field adds the image to the post', async (t) => {
  const { app, f, thread } = await setup(t)
  const token = await f.member.client.csrfFrom(thread.url)
  const page = await f.member.client.get(thread.url)
  t.match(page.body, /enctype="multipart\/form-data" data-uploads/, 'the reply form can carry a file')
  t.match(page.body, /<input type="file" id="f-image" name="image"/)

  const posted = await f.member.client.postMultipart(`/t/${thread.id}/replies`, { _csrf: token, body: 'Here is mine:' }, { field: 'image', filename: 'sunset.png', data: await png(), type: 'image/png' })
  t.equal(posted.statusCode, 303)
  const after = await f.member.client.get(thread.url)
  t.match(after.body, /<p>Here is mine:<\/p>\s*<p><img src="\/uploads\/[a-f0-9]{32}\.png" alt="sunset" loading="lazy" \/><\/p>/, 'the image shows in the post')

  // A preview uploads it too, so the next submit keeps it in the text.
  const preview = await f.member.client.postMultipart(`/t/${thread.id}/replies`, { _csrf: token, body: 'Preview me', preview: '1' }, { field: 'image', filename: 'p.png', data: await png(30, 30) })
  t.equal(preview.statusCode, 200)
  t.match(preview.body, /Preview me\n\n!\[p\]\(\/uploads\/[a-f0-9]{32}\.png\)<\/textarea>/)

  const refused = await f.member.client.postMultipart(`/t/${thread.id}/replies`, { _csrf: token, body: 'Keep this text' }, { field: 'image', filename: 'evil.png', data: HTML })
  t.equal(refused.statusCode, 400, 'a file that is not an image sends the form back')
  t.match(refused.body, /id="f-image-error" class="error" role="alert">Only JPEG, PNG, WebP, GIF or AVIF images can be uploaded/)
  t.match(refused.body, /Keep this text<\/textarea>/, 'with the text as written')

  const empty = await f.member.client.postMultipart(`/t/${thread.id}/replies`, { _csrf: token, body: 'No picture this time' }, { field: 'image', filename: '', data: Buffer.alloc(0) })
  t.equal(empty.statusCode, 303, 'an empty file field is no file')

  const start = await f.member.client.postMultipart(`/c/${f.cats.open.slug}/new`, { _csrf: token, title: 'A thread with a photo', body: '' }, { field: 'image', filename: 'photo.jpg', data: await jpeg(80, 60) })
  t.equal(start.statusCode, 303, 'a new thread may be just a picture')
  const idea = await f.member.client.postMultipart('/ideas', { _csrf: token, title: 'Dark mode for the mobile app', body: 'Like this mock-up', confirm: '1' }, { field: 'image', filename: 'mock.png', data: await png(50, 90) })
  t.equal(idea.statusCode, 303, 'an idea may carry a picture')
  const ideaPage = await f.member.client.get(idea.headers.location as string)
  t.match(ideaPage.body, /<img src="\/uploads\/[a-f0-9]{32}\.png" alt="mock"/)
  t.equal((await app.hearth.uploads.listForUser(f.member.id)).length, 4)
})

t.test("listForUser and deleteAllForUser find and remove a member's uploads; shared files stay", async (t) => {
  const { app, config, f, upload } = await setup(t)
  const shared = await png(33, 33)
  const mine = await upload(f.member, shared, 'one.png', 'image/png')
  const own = await upload(f.member, await jpeg(40, 40), 'two.jpg')
  const theirs = await upload(f.regular, shared, 'same.png', 'image/png')
  t.equal(mine.data.url, theirs.data.url, 'the same picture is stored once')

  const listed = await app.hearth.uploads.listForUser(f.member.id)
  t.same(listed.map((u) => u.url), [own.data.url, mine.data.url], 'newest first')
  t.match(listed[0], { kind: 'image', contentType: 'image/jpeg', width: 40, height: 40, name: 'two.jpg' })

  const api = await f.member.client.api('GET', '/api/v1/me/uploads')
  t.equal(api.data.uploads.length, 2, 'and through the API')

  t.equal(await app.hearth.uploads.deleteAllForUser(f.member.id), 2)
  t.same(await app.hearth.uploads.listForUser(f.member.id), [])
  t.equal((await app.inject({ method: 'GET', url: own.data.url })).statusCode, 404, 'their own file is gone')
  t.equal((await app.inject({ method: 'GET', url: theirs.data.url })).statusCode, 200, "the other member's copy stays")
  const files = await fs.readdir(config.uploadsDir, { recursive: true })
  t.notOk(files.some((name) => name.endsWith(path.basename(own.data.url))), 'nothing left on disk')
})
