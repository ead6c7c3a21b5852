import { sql } from 'kysely'
import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { Client } from '../helpers/client.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

t.test('reading lists: Latest pages with pinned on top, Top by period, New, Unread; idea comments stay on the idea', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  const general = f.cats.open.id
  const guest = new Client(app)

  // 30 older threads, an hour apart, started in the last two days.
  await sql`
    insert into threads (category_id, author_id, title, slug, last_post_at, created_at, reply_count)
    select ${general}, ${f.admin.id}, 'Filler thread ' || g, 'filler-thread-' || g, now() - g * interval '1 hour', now() - g * interval '1 hour', 0
    from generate_series(1, 30) g`.execute(db)
  // An old pinned thread: top of Latest, though its activity is ten days old.
  const pinned = await startThread(f.admin, general, 'Read this first: community rules', 'Be kind.')
  await db.updateTable('threads').set({ pinned: true, last_post_at: sql`now() - interval '10 days'`, created_at: sql`now() - interval '10 days'` }).where('id', '=', pinned.id).execute()
  // A thread a month old with many replies (Top of the year, not of the week).
  const oldPopular = await startThread(f.regular, general, 'Last month’s big debate', 'Tabs or spaces?')
  await db.updateTable('threads').set({ reply_count: 50, created_at: sql`now() - interval '40 days'`, last_post_at: sql`now() - interval '40 days'` }).where('id', '=', oldPopular.id).execute()
  // This week's top thread: two replies and two likes.
  const liked = await startThread(f.regular, general, 'Show us your desk setup', 'Mine is a mess.')
  await replyTo(f.admin, liked.id, 'Nice desk')
  await replyTo(f.newbie, liked.id, 'Mine too')
  for (const who of [f.member, f.admin]) await who.client.api('PUT', `/api/v1/posts/${liked.postId}/like`)
  // The member opens two threads; one gets a new reply afterwards.
  const followed = await startThread(f.regular, general, 'Keyboard recommendations', 'Which one?')
  const quiet = await startThread(f.regular, general, 'A quiet thread', 'Nothing new here.')
  for (const th of [followed, quiet]) t.equal((await f.member.client.get(th.url)).statusCode, 200)
  await replyTo(f.regular, followed.id, 'I like the brown switches')
  // An idea: its comment thread is the newest activity of all, and is in no list.
  const idea = await f.member.client.api('POST', '/api/v1/ideas', { title: 'Dark mode for the mobile app', body: 'Please add dark mode to the app.' })
  t.equal(idea.statusCode, 201)
  const ideaThread = await db.selectFrom('ideas').select('thread_id').where('id', '=', idea.data.id).executeTakeFirstOrThrow()
  await replyTo(f.member, Number(ideaThread.thread_id), 'A comment on my own idea')

  const titles = (res: { data: { threads: { title: string }[] } }) => res.data.threads.map((th) => th.title)

  // Latest: pinned first, 25 a page, a cursor to the rest, no idea comments anywhere.
  const page1 = await f.member.client.api('GET', '/api/v1/threads?list=latest')
  t.equal(page1.statusCode, 200)
  t.equal(page1.data.threads.length, 25)
  t.equal(page1.data.threads[0].title, 'Read this first: community rules', 'the pinned thread stays on top of Latest')
  t.equal(page1.data.threads[1].title, 'Keyboard recommendations', 'then the newest activity')
  t.ok(page1.data.nextCursor, 'a cursor to the next page')
  const page2 = await f.member.client.api('GET', `/api/v1/threads?list=latest&cursor=${page1.data.nextCursor}`)
  const all = [...titles(page1), ...titles(page2)]
  t.equal(all.length, 35, 'the second page holds the rest')
  t.equal(new Set(all).size, all.length, 'no thread shows twice')
  t.equal(page2.data.nextCursor, null)
  t.notOk(all.includes('Dark mode for the mobile app'), 'the idea’s comment thread is not in Latest')
  t.equal((await f.member.client.api('GET', '/api/v1/threads?list=latest&cursor=garbage')).statusCode, 400, 'a broken cursor is a 400')
  const category = await f.member.client.api('GET', `/api/v1/categories/general/threads`)
  t.equal(category.data.threads[0].title, 'Read this first: community rules', 'and on top of its category')

  // Top: replies plus likes, within the period.
  const week = await guest.api('GET', '/api/v1/threads?list=top&period=week')
  t.equal(week.data.threads[0].title, 'Show us your desk setup', 'this week’s top thread')
  t.equal(week.data.threads[0].score, 4, 'scored by its 2 replies and 2 likes')
  t.notOk(titles(week).includes('Last month’s big debate'), 'older threads are not in this week’s Top')
  const year = await guest.api('GET', '/api/v1/threads?list=top&period=year')
  t.equal(year.data.threads[0].title, 'Last month’s big debate', 'but lead this year’s')
  t.equal((await guest.api('GET', '/api/v1/threads?list=top&period=decade')).statusCode, 400)

  // New: started in the last two days and not opened yet by the member.
  const fresh = titles(await f.member.client.api('GET', '/api/v1/threads?list=new'))
  t.ok(fresh.includes('Show us your desk setup'))
  t.notOk(fresh.includes('Keyboard recommendations'), 'threads the member opened are not new')
  t.notOk(fresh.includes('Read this first: community rules'), 'ten-day-old threads are not new')
  t.ok(titles(await guest.api('GET', '/api/v1/threads?list=new')).includes('Keyboard recommendations'), 'guests see every thread of the last two days')

  // Unread: opened threads with posts after the last one read.
  t.same(titles(await f.member.client.api('GET', '/api/v1/threads?list=unread')), ['Keyboard recommendations'])
  t.same(titles(await guest.api('GET', '/api/v1/threads?list=unread')), [], 'guests have no unread list')

  // The idea author's recent posts leave out the idea's comments.
  const profile = await f.member.client.get(`/u/${f.member.username}`)
  t.notMatch(profile.body, /A comment on my own idea/, 'idea comments are not among the author’s recent posts')

  // In the browser, as a member clicks through.
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } })
  await context.addCookies([...f.member.client.cookies].map(([name, value]) => ({ name, value, url: base })))
  const page = await context.newPage()
  await page.goto(`${base}/`)
  const rows = page.locator('table.threads tbody tr')
  t.equal(await rows.count(), 25)
  t.match(await rows.first().textContent(), /Pinned\s+Read this first/)
  await page.getByRole('link', { name: 'More' }).click()
  await page.waitForURL(/cursor=/)
  t.equal(await rows.count(), 10, 'More shows the rest, without JavaScript')
  t.match(await rows.first().textContent(), /Filler thread/)
  await page.getByRole('link', { name: 'Top' }).click()
  await page.getByRole('link', { name: 'This week' }).click()
  await page.waitForURL(/period=week/)
  t.match(await rows.first().textContent(), /Show us your desk setup/)
  await page.getByRole('link', { name: 'Unread' }).click()
  await page.waitForURL(/list=unread/)
  t.equal(await rows.count(), 1)
  t.match(await rows.first().textContent(), /Keyboard recommendations/)
  await page.screenshot({ path: screenshotPath('reading-unread-390'), fullPage: true })
  await rows.first().getByRole('link', { name: 'Keyboard recommendations' }).click()
  await page.waitForURL(/\/t\/\d+/)
  await page.goto(`${base}/?list=unread`)
  t.match(await page.locator('.empty-state').textContent(), /all caught up/, 'reading it empties Unread')
  await page.screenshot({ path: screenshotPath('reading-unread-empty-390'), fullPage: true })
  await page.setViewportSize({ width: 1280, height: 900 })
  await page.goto(`${base}/?list=top&period=week`)
  await page.screenshot({ path: screenshotPath('reading-top-1280'), fullPage: true })
})
