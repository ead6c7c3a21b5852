import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { createHandlebars } from '../../src/core/views.js'
import { notificationLevelHelper } from '../../src/features/notifications/level-html.js'
import { NOTIFICATION_LEVELS } from '../../src/features/notifications/schemas.js'

// The notification-level form is a helper written as a function (src/features/notifications/level-html.ts);
// it replaced a Handlebars partial, kept here as the reference: for every level, source and
// reason a page can pass, the helper draws exactly what the partial drew. A change to the
// form's markup is made in both.
const reference = createHandlebars({ html: true })
const fast = createHandlebars({ html: true })
reference.registerPartial('notification-level', fs.readFileSync(path.join(import.meta.dirname, 'notification-level-reference.hbs'), 'utf8'))
fast.registerHelper('notificationLevelForm', notificationLevelHelper(fast))
// As thread.hbs and category.hbs called the partial, and call the helper.
const args = 'action=levelAction id="thread" label="Notifications for this thread" level=notificationLevel'
const drawReference = reference.compile(`<div>{{#if notificationLevel}}{{> notification-level ${args}}}{{/if}}</div>`)
const drawFast = fast.compile(`<div>{{#if notificationLevel}}{{notificationLevelForm ${args}}}{{/if}}</div>`)

const hostile = `"><img src=x onerror=alert(1)> & 'q' \`t\` =`
t.test('the function draws what the template drew, for every level, source and reason', async (t) => {
  let cases = 0
  for (const level of [...NOTIFICATION_LEVELS.map((l) => l.value), 'unknown']) {
    for (const from of ['thread', 'category', 'default']) {
      for (const reason of [null, 'created', 'replied', 'idea', 'other']) {
        for (const action of ['/t/12/notification-level', `/c/${hostile}/notification-level`]) {
          const data = { notificationLevel: { level, from, reason }, levelAction: action, levelOptions: NOTIFICATION_LEVELS, csrfToken: { toString: () => `tok${hostile}` } }
          t.equal(drawFast(data), drawReference(data), `${level} from ${from}, reason ${reason}, action ${action.slice(0, 12)}`)
          cases++
        }
      }
    }
  }
  t.equal(cases, 5 * 3 * 5 * 2)
  t.equal(drawFast({ notificationLevel: null }), '<div></div>', 'nothing without a level')
})

t.test('it escapes every value and marks the chosen level', async (t) => {
  const html = drawFast({
    notificationLevel: { level: 'tracking', from: 'category', reason: 'replied' },
    levelAction: `/c/${hostile}/notification-level`,
    levelOptions: NOTIFICATION_LEVELS,
    csrfToken: hostile,
  })
  t.notMatch(html, /<img/, 'no markup from values')
  t.match(html, '<option value="tracking" selected>Tracking</option>')
  t.match(html, '<option value="watching" >Watching</option>')
  t.match(html, /id="level-hint-thread">Unread counts shown in the lists; notified when someone replies to you or mentions you\. \(from the category\) \(you replied\)<\/p>/)
})
