import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import t from 'tap'
import { avatarUrl, defaultAvatarSvg, initialsOf } from '../../src/core/avatars.js'
import { LocalFolderStorage } from '../../src/features/uploads/storage.js'
import { build } from '../helpers/app.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'
import { jpeg, png } from './images.js'

t.test('a generated avatar: initials on a colour from the member id, served as a cacheable image', async (t) => {
  t.equal(initialsOf('ada_lovelace'), 'AL')
  t.equal(initialsOf('bob'), 'B')
  t.equal(initialsOf('x-1'), 'X1')
  t.equal(initialsOf('__'), 'X', 'something to show whatever the name')
  t.equal(avatarUrl({ id: 7, username: 'ada_lovelace' }, 28), '/avatars/7/AL.svg')
  t.equal(avatarUrl({ id: 7, username: 'ada', avatar_key: 'f'.repeat(32) }, 28), `/uploads/${'f'.repeat(32)}-96.webp`)
  t.equal(avatarUrl({ id: 7, username: 'ada', avatar_key: 'f'.repeat(32) }, 96), `/uploads/${'f'.repeat(32)}-256.webp`, 'a large one for a large place')
  t.not(defaultAvatarSvg(1, 'A'), defaultAvatarSvg(2, 'A'), 'members differ by colour')

  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/avatars/42/AL.svg' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'image/svg+xml')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox")
  t.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.match(res.body, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>.*>AL<\/text><\/svg>$/)
  t.notMatch(res.body, /script|on\w+=/i)
  const meta = await sharp(res.rawPayload).metadata()
  t.same([meta.format, meta.width, meta.height], ['svg', 64, 64], 'a real picture')
  for (const url of ['/avatars/42/al.svg', '/avatars/42/ABC.svg', '/avatars/42/%3Cb%3E.svg', '/avatars/x/A.svg', '/avatars/42/A.png']) {
    t.equal((await app.inject({ method: 'GET', url })).statusCode, 404, `${url} is nothing`)
  }
})

t.test('avatars show beside authors on thread pages, profiles and lists', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Say hello here', 'Hello all')
  await replyTo(f.regular, thread.id, 'Hi back')
  const page = await f.member.client.get(thread.url)
  t.match(page.body, new RegExp(`<img class="avatar a28" src="/avatars/${f.member.id}/[A-Z0-9]{1,2}.svg" alt="" loading="lazy"`))
  t.match(page.body, new RegExp(`src="/avatars/${f.regular.id}/`))
  const profile = await f.member.client.get(`/u/${f.member.username}`)
  t.match(profile.body, new RegExp(`<img class="avatar a72" src="/avatars/${f.member.id}/[A-Z0-9]{1,2}.svg" alt=""`))
  const category = await f.member.client.get(`/c/${f.cats.open.slug}`)
  t.match(category.body, new RegExp(`by <img class="avatar a18" src="/avatars/${f.member.id}/`))
  const home = await f.member.client.get('/')
  t.match(home.body, new RegExp(`by <img class="avatar a18" src="/avatars/${f.member.id}/`))
})

t.test('an uploaded avatar: square, in two sizes, set and removed from settings', async (t) => {
  const { app, db, config } = await build(t)
  const f = await forum(app, db)
  const thread = await startThread(f.member, f.cats.open.id, 'Avatars thread', 'Look at me')
  const token = await f.member.client.csrfFrom('/settings')
  const settings = await f.member.client.get('/settings')
  t.match(settings.body, /<h2 id="avatar">Avatar<\/h2>/)
  t.match(settings.body, /action="\/settings\/avatar" enctype="multipart\/form-data"/)
  t.notMatch(settings.body, /Remove it/, 'nothing to remove yet')

  const bad = await f.member.client.postMultipart('/settings/avatar', { _csrf: token }, { field: 'avatar', filename: 'me.png', data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>') })
  t.equal(bad.statusCode, 415)
  t.match(bad.body, /id="f-avatar-error" class="error" role="alert">Only JPEG, PNG, WebP, GIF or AVIF/)
  const none = await f.member.client.postMultipart('/settings/avatar', { _csrf: token })
  t.equal(none.statusCode, 400)
  t.match(none.body, /Choose an image for your avatar/)

  const set = await f.member.client.postMultipart('/settings/avatar', { _csrf: token }, { field: 'avatar', filename: 'me.jpg', data: await jpeg(300, 200, { exif: true }) })
  t.equal(set.statusCode, 303)
  t.equal(set.headers.location, '/settings?saved=avatar#avatar')
  const { avatar_key: key } = await db.selectFrom('users').select('avatar_key').where('id', '=', f.member.id).executeTakeFirstOrThrow()
  t.match(key, /^[a-f0-9]{32}$/)
  for (const size of [96, 256]) {
    const file = await app.inject({ method: 'GET', url: `/uploads/${key}-${size}.webp` })
    t.equal(file.statusCode, 200)
    t.equal(file.headers['content-type'], 'image/webp')
    const meta = await sharp(file.rawPayload).metadata()
    t.same([meta.width, meta.height], [size, size], `a ${size} px square`)
    t.notOk(meta.exif, 'without the photo metadata')
  }
  const page = await f.regular.client.get(thread.url)
  t.match(page.body, new RegExp(`<img class="avatar a28" src="/uploads/${key}-96.webp"`), 'the thread shows it')
  const after = await f.member.client.get('/settings?saved=avatar')
  t.match(after.body, /Your new avatar is set/)
  t.match(after.body, /Remove it \(show my initials\)/)

  // A new one replaces the old, whose files go.
  const again = await f.member.client.postMultipart('/settings/avatar', { _csrf: token }, { field: 'avatar', filename: 'new.png', data: await png(120, 120, { r: 10, g: 200, b: 10 }) })
  t.equal(again.statusCode, 303)
  const next = (await db.selectFrom('users').select('avatar_key').where('id', '=', f.member.id).executeTakeFirstOrThrow()).avatar_key
  t.not(next, key)
  t.equal((await app.inject({ method: 'GET', url: `/uploads/${key}-96.webp` })).statusCode, 404, 'the old avatar is gone')
  t.equal((await app.hearth.uploads.listForUser(f.member.id)).filter((u) => u.kind === 'avatar').length, 1)

  const removed = await f.member.client.postMultipart('/settings/avatar/remove', { _csrf: token })
  t.equal(removed.statusCode, 303)
  t.equal((await db.selectFrom('users').select('avatar_key').where('id', '=', f.member.id).executeTakeFirstOrThrow()).avatar_key, null)
  t.match((await f.regular.client.get(thread.url)).body, new RegExp(`src="/avatars/${f.member.id}/`), 'back to initials')
  const left = await fs.readdir(config.uploadsDir, { recursive: true })
  t.notOk(left.some((name) => name.includes(next!)), 'and its files are gone')
})

t.test('the local-folder storage keeps the UploadStorage promises', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hearth-storage-'))
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }))
  const storage = new LocalFolderStorage(dir)
  const key = `${'ab'.repeat(16)}.png`
  t.equal(await storage.get(key), null, 'a missing key is null')
  t.equal(await storage.stream(key), null)
  await storage.delete(key)
  t.pass('deleting a missing key is fine')

  await storage.put(key, Buffer.from('one'))
  await storage.put(key, Buffer.from('one'))
  t.same(await storage.get(key), Buffer.from('one'), 'put is idempotent')
  const streamed = await storage.stream(key)
  t.equal(streamed!.size, 3)
  const chunks: Buffer[] = []
  for await (const chunk of streamed!.stream) chunks.push(chunk as Buffer)
  t.equal(Buffer.concat(chunks).toString(), 'one')
  t.ok((await fs.stat(path.join(dir, 'ab', key))).isFile(), 'kept in a sub-folder by prefix')
  t.same((await fs.readdir(path.join(dir, 'ab'))).filter((n) => n.endsWith('.tmp')), [], 'no temporary files left')
  await storage.delete(key)
  t.equal(await storage.get(key), null)

  for (const evil of ['../../etc/passwd', 'a.png', `${'ab'.repeat(16)}.html`, `${'ab'.repeat(16)}.png/../x`]) {
    await t.rejects(storage.put(evil, Buffer.from('x')), /not an upload key/, `${evil} never becomes a path`)
  }
})
