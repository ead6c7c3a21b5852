import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { launchBrowser, screenshotPath, serve } from '../helpers/browser.js'
import { forum, replyTo, startThread } from '../helpers/forum.js'

const LONG_TITLE = 'A rather long thread title about supercalifragilisticexpialidocious mechanical keyboards, their switches and what to buy first'

/** Whether the page scrolls sideways, by how much, and the outermost elements that stick out (to say what to fix). */
async function sideways(page: Page): Promise<{ scrollWidth: number; clientWidth: number; offenders: string[] }> {
  // A string, so the bundler's helpers never leak into the page.
  return page.evaluate(`(() => {
    const clientWidth = document.documentElement.clientWidth
    const sticksOut = (el) => !!el && el !== document.body && el.getBoundingClientRect().right > clientWidth + 0.5
    const offenders = []
    for (const el of document.querySelectorAll('body *')) {
      if (!sticksOut(el) || sticksOut(el.parentElement)) continue
      offenders.push(el.tagName.toLowerCase() + '.' + String(el.className).trim().replace(/\\s+/g, '.') + ' (' + Math.round(el.getBoundingClientRect().right) + ' px)')
    }
    return { scrollWidth: document.documentElement.scrollWidth, clientWidth, offenders: offenders.slice(0, 5) }
  })()`)
}

t.test('every page fits a 390 px phone and a 1280 px screen with no sideways scroll', async (t) => {
  const testApp = await build(t)
  const { app, db } = testApp
  const f = await forum(app, db)
  // Content that stretches layouts: a long title, a long unbroken word, a table of tokens, a flag, a log entry.
  const thread = await startThread(f.member, f.cats.open.id, LONG_TITLE, 'Opening post with a long link https://example.com/' + 'a'.repeat(120) + ' and `inline_code_that_is_very_long_and_does_not_break_anywhere_at_all`.')
  const reply = await replyTo(f.regular, thread.id, `@${f.admin.username} what do you think?\n\n` + '```\n' + 'x'.repeat(200) + '\n```')
  await replyTo(f.member, thread.id, 'Deeper reply', reply)
  await f.member.client.api('POST', `/api/v1/posts/${reply}/flags`, { reason: 'off_topic', note: 'Not about keyboards' })
  await f.admin.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: 'Staff answer' })
  await app.hearth.discussions.moderateThread(await app.hearth.categories.viewer({ ...(await db.selectFrom('users').selectAll().where('id', '=', f.admin.id).executeTakeFirstOrThrow()) }), thread.id, { pinned: true, reason: 'Useful for **everyone** who buys a keyboard' })
  // An edited opening post (title and a long line) gives the edit history something to show.
  await f.member.client.api('PATCH', `/api/v1/posts/${thread.postId}`, { body: 'Opening post, edited, with a long link https://example.com/' + 'b'.repeat(120) + ' and more words.', title: `${LONG_TITLE} (edited)`, reason: 'Clearer' })
  const idea = await f.member.client.api('POST', '/api/v1/ideas', { title: 'Offline sync for notes on the train and in the air', body: 'Keep **editing** notes offline.' })
  const program = await f.admin.client.api('POST', '/api/v1/beta', { title: 'Offline sync beta', description: 'Try **offline sync** first.', capacity: 5 })
  await f.member.client.api('PATCH', `/api/v1/ideas/${idea.data.id}`, { title: 'Offline sync for notes on the train, the plane and in the air', body: 'Keep **editing** notes offline, and sync them later: ' + 'z'.repeat(120) })

  // Polls in a post, and a survey with answers (features/polls, features/surveys).
  const pollThread = await startThread(f.member, f.cats.open.id, 'Polls of every kind', ['```poll', 'title: A single choice with a rather long option', '- ' + 'Supercalifragilistic '.repeat(6), '- Short', '```', '', '```poll', 'type: ranked', '- One', '- Two', '- Three', '```', '', '```poll', 'type: number', 'min: 0', 'max: 10', '```'].join('\n'))
  const survey = await f.admin.client.api('POST', '/api/v1/surveys', { title: 'How are we doing?', anonymous: false, closesAt: new Date(Date.now() + 7 * 86_400_000).toISOString(), questions: [{ id: 'q1', kind: 'nps', label: 'How likely are you to recommend us?' }, { id: 'q2', kind: 'text', label: 'Why?' }] })
  await f.regular.client.api('POST', `/api/v1/surveys/${survey.data.id}/answers`, { answers: { q1: 4, q2: 'A long answer without spaces: ' + 'y'.repeat(150) } })
  const meetup = await f.admin.client.api('POST', '/api/v1/events', {
    title: 'Weekly keyboard meetup with a rather long title about switches and keycaps',
    body: 'Bring your **boards**.',
    categoryId: f.cats.open.id,
    timeZone: 'Europe/Berlin',
    startsAt: new Date(Date.now() + 50 * 3_600_000).toISOString(),
    endsAt: new Date(Date.now() + 52 * 3_600_000).toISOString(),
    recurrence: 'weekly',
    capacity: 2,
    maxGuests: 1,
    location: 'Werkstatt, Supercalifragilisticexpialidociousstraße 123, 10115 Berlin',
    questions: [{ id: 'board', label: 'Which keyboard do you bring?', type: 'short_text' }],
  })
  await f.member.client.api('PUT', `/api/v1/events/${meetup.data.id}/rsvp`, { status: 'going', guests: 1, answers: { board: 'A very long keyboard name without spaces '.repeat(2) } })
  await f.regular.client.api('PUT', `/api/v1/events/${meetup.data.id}/rsvp`, { status: 'going' })
  const base = await serve(testApp)
  const browser = await launchBrowser(t)
  const pages: [string, string, 'admin' | 'guest'][] = [
    ['home', '/', 'admin'],
    ['category', '/c/general', 'admin'],
    ['thread', thread.url, 'admin'],
    ['revisions', `/p/${thread.postId}/revisions`, 'admin'],
    ['settings', '/settings', 'admin'],
    ['profile', `/u/${f.member.username}`, 'admin'],
    ['search', '/search?q=keyboards', 'admin'],
    ['search-filtered', `/search?q=keyboards&type=posts&sort=likes&period=year&author=${f.member.username}`, 'admin'],
    ['search-members', '/search?q=member&type=members', 'admin'],
    ['ideas', '/ideas', 'admin'],
    ['idea', `/ideas/${idea.data.id}`, 'admin'],
    ['idea-edit', `/ideas/${idea.data.id}/edit`, 'admin'],
    ['idea-history', `/ideas/${idea.data.id}/history`, 'admin'],
    ['idea-new', '/ideas/new', 'admin'],
    ['roadmap', '/roadmap', 'admin'],
    ['changelog', '/changelog', 'admin'],
    ['beta', '/beta', 'admin'],
    ['beta-program', `/beta/${program.data.id}`, 'admin'],
    ['beta-manage', `/beta/${program.data.id}/manage`, 'admin'],
    ['beta-edit', `/beta/${program.data.id}/edit`, 'admin'],
    ['events', '/events', 'admin'],
    ['events-guest', '/events', 'guest'],
    ['events-month', '/events/month', 'admin'],
    ['event', `/events/${meetup.data.id}`, 'admin'],
    ['event-guest', `/events/${meetup.data.id}`, 'guest'],
    ['event-new', '/events/new', 'admin'],
    ['event-edit', `/events/${meetup.data.id}/edit`, 'admin'],
    ['event-check-in', `/events/${meetup.data.id}/dates/${meetup.data.occurrence.id}/check-in`, 'admin'],
    ['events-calendar', '/events/calendar', 'admin'],
    ['notifications', '/notifications', 'admin'],
    ['notification-settings', '/settings/notifications', 'admin'],
    ['mod-queue', '/mod', 'admin'],
    ['mod-log', '/mod/log', 'admin'],
    ['mod-approvals', '/mod/approvals', 'admin'],
    ['pending', '/pending', 'admin'],
    ['invites', '/invites', 'admin'],
    ['admin', '/admin', 'admin'],
    ['admin-jobs', '/admin/jobs', 'admin'],
    ['about', '/about', 'guest'],
    ['members', '/u', 'admin'],
    ['members-guest', '/u?sort=name', 'guest'],
    ['login', '/login', 'guest'],
    ['signup', '/signup', 'guest'],
    ['poll-thread', pollThread.url, 'admin'],
    ['poll-thread-guest', pollThread.url, 'guest'],
    ['surveys', '/surveys', 'admin'],
    ['surveys-admin', '/admin/surveys', 'admin'],
    ['survey-new', '/admin/surveys/new', 'admin'],
    ['survey-answer', `/surveys/${survey.data.id}`, 'admin'],
    ['survey-results', `/surveys/${survey.data.id}/results`, 'admin'],
    ['survey-followups', '/admin/surveys/followups', 'admin'],
  ]
  const admin = f.admin
  for (const width of [390, 1280]) {
    const contexts = {
      admin: await browser.newContext({ viewport: { width, height: 844 } }),
      guest: await browser.newContext({ viewport: { width, height: 844 } }),
    }
    await contexts.admin.addCookies([...admin.client.cookies].map(([name, value]) => ({ name, value, url: base })))
    for (const [name, path, who] of pages) {
      const page = await contexts[who].newPage()
      const res = await page.goto(`${base}${path}`)
      t.equal(res?.status(), 200, `${name} at ${width}px loads`)
      const { scrollWidth, clientWidth, offenders } = await sideways(page)
      t.ok(scrollWidth <= clientWidth, `${name} at ${width}px does not scroll sideways`, { scrollWidth, clientWidth, offenders })
      await page.screenshot({ path: screenshotPath(`layout-${name}-${width}`), fullPage: true })
      if (name === 'home' || name === 'category') {
        // A long title wraps as a line of words, not one word per line.
        const box = await page.getByRole('link', { name: LONG_TITLE }).first().boundingBox()
        t.ok(box && box.width >= Math.min(width - 60, 300), `${name} at ${width}px gives the title room (${box?.width}px wide)`)
      }
      if (name === 'thread') {
        const box = await page.locator('h1').boundingBox()
        t.ok(box && box.width >= width - 60 - (width > 1000 ? width - 992 : 0), `the thread title at ${width}px spans the page (${box?.width}px)`)
      }
      if (name === 'settings') {
        const checkbox = await page.locator('input[type=checkbox]').first().boundingBox()
        t.ok(checkbox && checkbox.width < 40, `checkboxes keep their size at ${width}px (${checkbox?.width}px)`)
      }
      await page.close()
    }
  }
})
