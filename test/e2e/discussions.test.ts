import t from 'tap'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum } from '../helpers/forum.js'
import type { Persona } from '../helpers/personas.js'

t.test('a real discussion in the browser: thread, nested replies, collapse, like, edit with history, inert HTML', async (t) => {
  const testApp = await build(t)
  const f = await forum(testApp.app, testApp.db)
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const asPerson = async (who: Persona) => {
    const context = await browser.newContext()
    await context.addCookies([...who.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    const page = await context.newPage()
    const dialogs: string[] = []
    page.on('dialog', (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    return { page, dialogs }
  }

  const { page: alice, dialogs } = await asPerson(f.member)
  await alice.goto(`${base}/`)
  await alice.getByRole('link', { name: 'General' }).first().click()
  await alice.getByRole('link', { name: 'New thread' }).click()
  await alice.getByLabel('Title').fill('Ideas for the summer meetup')
  await alice.getByLabel('Your post').fill('Where should we meet?\n\n<script>alert("xss")</script><img src=x onerror="alert(1)">\n\n[click me](javascript:alert(2))')
  await alice.getByRole('button', { name: 'Start thread' }).click()
  await alice.waitForURL(/\/t\/\d+\/ideas-for-the-summer-meetup/)
  const threadUrl = alice.url()
  t.match(await alice.locator('.post-body').first().textContent(), /<script>alert\("xss"\)<\/script>/, 'HTML shows as text')
  t.equal(await alice.locator('.post-body script, .post-body img[onerror], .post-body a[href^="javascript"]').count(), 0, 'no live markup')

  const { page: bob } = await asPerson(f.regular)
  await bob.goto(threadUrl)
  await bob.getByLabel('Your reply').fill('The park by the **river**!')
  await bob.getByRole('button', { name: 'Post reply' }).click()
  await bob.waitForURL(/#p\d+$/)
  t.match(await bob.locator('.post-body strong').first().textContent(), /river/)

  await alice.goto(threadUrl)
  // A post is its own article; nested replies are articles inside it, so match on its own body.
  const postWith = (page: typeof alice, text: string) => page.locator('article.post', { has: page.locator(':scope > .post-body', { hasText: text }) })
  const bobsPost = postWith(alice, 'The park by the')
  // A post's time carries only its datetime; pointing at it (or focusing its link) shows the exact moment.
  const when = bobsPost.locator(':scope > header time')
  t.equal(await when.getAttribute('title'), null, 'no title in the page itself')
  await when.hover()
  t.match(await when.getAttribute('title'), /\d{4}/, 'the exact moment once pointed at')
  const firstWhen = alice.locator('article.post time').first()
  await alice.locator('article.post > header a.when').first().focus()
  t.match(await firstWhen.getAttribute('title'), /\d{4}/, 'and once its link is focused')
  // Avatars are sized by the style sheet, not by attributes.
  const avatar = await bobsPost.locator(':scope > header img.avatar').boundingBox()
  t.same([Math.round(avatar!.width), Math.round(avatar!.height)], [28, 28], 'a post avatar is 28 × 28')
  await bobsPost.locator(':scope > footer').getByRole('link', { name: 'Reply', exact: true }).click()
  // With JavaScript the reply box opens under the post (test/e2e/inline-reply.test.ts has the details).
  const inline = bobsPost.locator(':scope > .inline-composer')
  await inline.waitFor()
  await inline.locator('textarea').fill('Great, which side of the river?')
  await inline.getByRole('button', { name: 'Post reply' }).click()
  await alice.waitForURL(/#p\d+$/)
  const nested = alice.locator('article.post article.post article.post', { hasText: 'which side of the river' })
  t.equal(await nested.count(), 1, 'the reply to the reply is nested two deep')

  await bobsPost.locator(':scope > details.replies > summary').click()
  t.equal(await nested.isVisible(), false, 'collapsing hides the subtree')
  await bobsPost.locator(':scope > details.replies > summary').click()
  t.equal(await nested.isVisible(), true, 'and expanding shows it again')

  await bobsPost.locator(':scope > footer').getByRole('button', { name: /Like/ }).click()
  await alice.waitForURL(/#p\d+$/)
  t.match(await postWith(alice, 'The park by the').locator(':scope > footer button.like').textContent(), /1\s+Liked/, 'the like is counted and shown as mine')

  await bob.goto(threadUrl)
  await postWith(bob, 'The park by the').locator(':scope > footer').getByRole('link', { name: 'Edit' }).click()
  await bob.getByLabel('Your post').fill('The park by the **river**, north side.')
  await bob.getByRole('button', { name: 'Save changes' }).click()
  await bob.waitForURL(/#p\d+$/)
  await postWith(bob, 'north side').locator(':scope > header').getByRole('link', { name: /edited/ }).click()
  await bob.waitForURL(/\/revisions$/)
  t.match(await bob.locator('main').textContent(), /Edit 1[\s\S]*The park by the \*\*river\*\*/, 'the edit history shows the edit')
  t.match(await bob.locator('.diff del').allTextContents(), [/!/], 'with the removed text struck out')
  t.match(await bob.locator('.diff ins').allTextContents(), [/north side/], 'and the added text marked')
  await alice.goto(threadUrl)
  await alice.screenshot({ path: screenshotPath('thread'), fullPage: true })
  t.same(dialogs, [], 'no script ever ran')
})
