/**
 * The demo seed's phrase bank: titles, opening posts and replies that read like a product
 * community's forum. Pieces are whole sentences (or fill slots that keep the grammar), so
 * any combination reads naturally.
 */

/** Things members talk about, as noun phrases that fit "… {thing}". */
export const THINGS = [
  'the mobile app', 'dark mode', 'the CSV export', 'the public API', 'keyboard shortcuts', 'the new dashboard', 'offline sync',
  'team workspaces', 'the calendar view', 'two-factor login', 'the Zapier integration', 'email notifications', 'the search bar',
  'recurring tasks', 'the Slack integration', 'custom fields', 'the desktop app', 'shared templates', 'the billing page', 'file attachments',
]

const HOW_TO = [
  'export everything to a spreadsheet', 'move a project to another workspace', 'turn off the daily summary mail', 'share a board with a client who has no account',
  'set up single sign-on for our team', 'undo a bulk edit', 'get the API to return more than 100 items', 'use the app without a connection',
  'change the week start to Monday', 'archive old projects without deleting them', 'add a custom field to every task', 'invite someone as read-only',
  'import my data from Trello', 'print a clean version of a list', 'sync due dates with Google Calendar', 'rename a workspace',
]

const PROBLEMS = [
  'Sync stops after the phone goes to sleep', 'Export cuts off long descriptions', 'The app logs me out every morning', 'Attachments over 20 MB fail without an error',
  'Search does not find words with accents', 'Notifications arrive twice on Android', 'Dark mode makes the charts unreadable', 'Calendar shows tasks a day early',
  'The desktop app uses a lot of memory after a day', 'Drag and drop does not work in Firefox', 'Shared links open the login page instead of the board',
  'Recurring tasks skip February', 'The API returns 500 on an empty filter', 'Copy and paste loses the formatting',
]

const SHOWCASE = [
  'How our team of six plans a whole quarter here', 'A template for running weekly retros', 'I built a small status page on top of the API',
  'Our onboarding checklist, shared as a template', 'A year of using this for a community garden', 'Tracking a house renovation, with photos',
  'My setup for writing a novel in daily sprints', 'Automating invoices with the Zapier integration', 'A reading tracker for our book club',
  'How a small school uses shared boards for homework', 'A keyboard-only workflow that saves me an hour a day',
]

const CHAT = [
  'What are you working on this week?', 'Introduce yourself!', 'Which tools do you use alongside this one?', 'How do you keep focus on busy days?',
  'Favourite keyboard for long writing sessions?', 'What did you ship this month?', 'Podcasts for people who build things', 'Tips for working across time zones',
  'How do you organise your personal projects?', 'Weekend reading thread',
]

const NEWS = [
  'Release notes: faster sync and a new calendar view', 'Scheduled maintenance this Sunday morning', 'Welcome to the new community forum',
  'Our roadmap for the next three months', 'Beta testers wanted for the desktop app', 'Changes to the free plan, explained',
]

/** Title makers per kind of category. */
export const TITLES: Record<'help' | 'general' | 'show' | 'chat' | 'news' | 'feedback', (pick: <T>(xs: readonly T[]) => T) => string> = {
  help: (pick) =>
    pick([
      () => `How do I ${pick(HOW_TO)}?`,
      () => `Is there a way to ${pick(HOW_TO)}?`,
      () => pick(PROBLEMS),
      () => `${pick(PROBLEMS)} (since the last update)`,
      () => `Can't figure out how to ${pick(HOW_TO)}`,
    ])(),
  general: (pick) =>
    pick([
      () => `Thoughts on ${pick(THINGS)}?`,
      () => `What do you like most about ${pick(THINGS)}?`,
      () => `Switching from another tool: first impressions of ${pick(THINGS)}`,
      () => `Does anyone use ${pick(THINGS)} with a large team?`,
      () => pick(CHAT),
    ])(),
  show: (pick) => pick(SHOWCASE),
  chat: (pick) => pick(CHAT),
  news: (pick) => pick(NEWS),
  feedback: (pick) =>
    pick([
      () => `Small things that would make ${pick(THINGS)} better`,
      () => `${pick(THINGS).replace(/^the /, '').replace(/^./, (c) => c.toUpperCase())} feels slower than it used to`,
      () => `Feedback after a month with ${pick(THINGS)}`,
      () => `Why I keep going back to ${pick(THINGS)}`,
    ])(),
}

const OPENERS = [
  'I have been using this for about a year now and mostly love it.',
  'We moved our whole team over last month.',
  'This is probably a silly question, but I could not find it in the docs.',
  'Long-time lurker, first post.',
  'Something I noticed today and wanted to check with others.',
  'Quick one before the weekend.',
  'I searched the forum first and found a thread from last year, but it did not quite answer it.',
]

const DETAILS = [
  'It happens on both my laptop and my phone, so I do not think it is my setup.',
  'Our team is about a dozen people, spread over three time zones.',
  'I tried logging out and back in, and clearing the cache, with no luck.',
  'For context, I mostly use it for planning and keep notes elsewhere.',
  'It worked fine until a couple of weeks ago.',
  'We rely on it for client work, so it matters quite a bit to us.',
  'Most of the time it is great; it is only the edge cases that trip me up.',
]

const ASKS = [
  'Has anyone else run into this?',
  'Is there a setting I am missing?',
  'How do the rest of you handle it?',
  'Any tips would be very welcome.',
  'Would love to hear how others approach this.',
  'Happy to share more details if that helps.',
]

const EXTRAS = [
  '\n\nSteps I followed:\n\n1. Open the project\n2. Choose **Export** from the menu\n3. Wait for the file\n\nThe file arrives, but half the rows are missing.',
  '\n\n```\nError: request failed with status 500\n```',
  '\n\n> "Everything you write is saved as you type."\n\nThat is what the docs say, which is why I was surprised.',
  '\n\nWhat I would like:\n\n- one place to see everything due this week\n- a way to hide finished items\n- a shortcut to jump between boards',
]

const REPLIES = [
  'Same here. It started for me after the last update too.',
  'You can do this from **Settings → Workspace**, it is just a bit hidden.',
  'Thanks, that fixed it! For anyone finding this later: restart the app after changing the setting.',
  'I do not think that is possible yet, but there is an idea for it on the board. Worth a vote.',
  'We handle it with a shared template and a weekly review. Not perfect, but it works.',
  'Could you say which version you are on? I cannot reproduce it on the latest one.',
  'This is a great write-up, thank you for taking the time.',
  'I would love this as well.',
  'Have you tried the keyboard shortcut? `Ctrl + K` then type the name.',
  'We had the same problem. Turning off battery optimisation for the app solved it on Android.',
  'I disagree a little: the current behaviour is fine, it just needs a clearer label.',
  'Following this thread, we are about to make the same move.',
  'The API has a `limit` parameter; it goes up to 500 per page, and there is a cursor for the rest.',
  'Good question. I have been wondering the same thing.',
  'Not quite what you asked, but the CSV export has an option to include archived items.',
  'Ha, I thought I was the only one.',
  'Just tried it and it works for me now. Maybe they fixed it this morning?',
  'Our team does something similar, but we keep a separate board per client.',
  'Thank you! Bookmarking this.',
  'One more data point: it happens on my iPad but not on my phone.',
  'Welcome! Glad to have you here.',
  'Nice. How long did it take you to set up?',
  'That makes sense. I will give it a try tomorrow and report back.',
  'Reported back: it worked. Thanks again.',
]

/** An opening post: a few sentences, sometimes with steps, code, a quote or a list. */
export function openingPost(pick: <T>(xs: readonly T[]) => T, rand: () => number): string {
  const parts = [pick(OPENERS), pick(DETAILS)]
  if (rand() < 0.4) parts.push(pick(DETAILS))
  let body = `${parts.join(' ')} ${pick(ASKS)}`
  if (rand() < 0.3) body += pick(EXTRAS)
  return body
}

/** A reply: one or two sentences. */
export function replyText(pick: <T>(xs: readonly T[]) => T, rand: () => number): string {
  const first = pick(REPLIES)
  if (rand() < 0.35) {
    const second = pick(REPLIES)
    if (second !== first) return `${first} ${second}`
  }
  return first
}

/** Ideas for the board: title and why. */
export const IDEAS: { title: string; body: string }[] = [
  { title: 'Dark mode for the mobile app', body: 'The desktop app has it, the phone app does not. Late-night planning hurts my eyes.' },
  { title: 'Export a board as PDF', body: 'Clients ask for a printable summary every week; today I take screenshots.' },
  { title: 'Recurring tasks on weekdays only', body: 'Daily tasks should be able to skip weekends.' },
  { title: 'Two-factor login with a hardware key', body: 'Our security policy asks for WebAuthn keys for every tool.' },
  { title: 'Keyboard shortcut to move a card between columns', body: 'Dragging is slow when you triage fifty cards.' },
  { title: 'Offline mode for the desktop app', body: 'I work on trains a lot; the app should keep working and sync later.' },
  { title: 'Calendar sync with Outlook', body: 'Google Calendar sync is great; half our company lives in Outlook.' },
  { title: 'Custom fields on the list view', body: 'Show our "client" and "budget" fields as columns.' },
  { title: 'Bulk edit due dates', body: 'Moving a whole sprint by a week takes forever one card at a time.' },
  { title: 'Read-only guest links', body: 'Share a board with someone who should see it but never edit it.' },
  { title: 'A weekly summary mail for teams', body: 'What got done, what is late, who is overloaded.' },
  { title: 'Templates for new projects', body: 'Start a project with columns, labels and checklists already set up.' },
  { title: 'Time tracking on tasks', body: 'A simple start/stop timer per task, exportable to CSV.' },
  { title: 'Markdown tables in descriptions', body: 'Tables would help for specs and comparisons.' },
  { title: 'Archive instead of delete', body: 'Deleting is scary; archiving would keep history.' },
  { title: 'Slack notifications per project', body: 'Route each project to its own channel.' },
  { title: 'Larger attachments', body: 'Design files are often over 20 MB.' },
  { title: 'Search inside attachments', body: 'Find a word inside an attached PDF.' },
]

export const IDEA_COMMENTS = [
  'Yes please, this would save me a lot of time.',
  'We would use this every single day.',
  'Is there a workaround until then?',
  'Voted. This is the one thing keeping us from moving the whole team over.',
  'Would this also cover the API?',
  'Happy to test an early version.',
  'I think a simpler version would already help a lot.',
]

export const STATUS_NOTES: Record<string, string> = {
  under_review: 'Thanks for all the votes — we are looking into how this would work.',
  planned: 'This is on the roadmap for next quarter.',
  in_progress: 'Work has started; a beta is coming soon.',
  done: 'Shipped in the latest release. Thank you all for the feedback!',
  declined: 'We looked at this closely and decided not to build it: it would make the app slower for everyone. Thanks for understanding.',
}

export const FIRST_NAMES = [
  'Ada', 'Ben', 'Chloe', 'Daniel', 'Elena', 'Farid', 'Grace', 'Hugo', 'Ines', 'Jonas', 'Kemi', 'Liam', 'Maya', 'Nora', 'Omar', 'Priya',
  'Quinn', 'Rosa', 'Sam', 'Tariq', 'Uma', 'Victor', 'Wen', 'Ximena', 'Yusuf', 'Zoe', 'Aiko', 'Bruno', 'Carmen', 'Dev', 'Emil', 'Freya',
  'Gabriel', 'Hana', 'Ivan', 'Julia', 'Kai', 'Lena', 'Mateo', 'Nadia', 'Oscar', 'Paula', 'Rafael', 'Sofia', 'Theo', 'Vera', 'Will', 'Yara',
]

export const LAST_NAMES = [
  'Baker', 'Costa', 'Diaz', 'Eriksen', 'Fischer', 'Garcia', 'Hughes', 'Ito', 'Jansen', 'Khan', 'Larsen', 'Moreau', 'Nakamura', 'Okafor',
  'Petrov', 'Quinn', 'Rossi', 'Silva', 'Tanaka', 'Umar', 'Varga', 'Weber', 'Xu', 'Young', 'Zhang', 'Novak', 'Murphy', 'Lopez', 'Berg', 'Ahmed',
]

export const BIOS = [
  'Product designer. Coffee, bikes and tidy boards.', 'Running a small agency; we plan everything here.', 'Teacher by day, tinkerer by night.',
  'Developer who likes APIs a little too much.', 'Community volunteer and list maker.', '', '', '',
]
