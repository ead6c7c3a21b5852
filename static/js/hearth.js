// Progressive enhancement only: every page works without this file.
document.addEventListener('submit', (event) => {
  // Stop double submits of a form while its request is under way. A form sent by fetch
  // (the composer, static/js/composer.js) stops the navigation and handles its own buttons.
  const form = event.target
  if (event.defaultPrevented || !(form instanceof HTMLFormElement) || form.method.toLowerCase() !== 'post') return
  for (const button of form.querySelectorAll('button[type="submit"]')) {
    setTimeout(() => { button.disabled = true }, 0)
  }
})

// Reading time feeds trust levels: while a thread is open and visible, report it each half minute.
const reading = document.querySelector('[data-track-reading][data-thread-id]')
if (reading) {
  const threadId = reading.getAttribute('data-thread-id')
  let visibleSince = document.visibilityState === 'visible' ? Date.now() : null
  const report = (keepalive) => {
    if (visibleSince === null) return
    const seconds = Math.min(120, Math.round((Date.now() - visibleSince) / 1000))
    visibleSince = document.visibilityState === 'visible' ? Date.now() : null
    if (seconds < 1) return
    fetch(`/api/v1/threads/${threadId}/reading`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ seconds }),
      keepalive,
    }).catch(() => {})
  }
  setInterval(() => report(false), 30_000)
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') visibleSince = Date.now()
    else report(true)
  })
}

// Drafts: what a member writes in a composer (forms marked data-draft) is kept in this
// browser as they type, so it survives a reload, a crash or a lost connection. It is dropped
// once the post went through: the page reached right after submitting shows the composer
// empty (or not at all) and no error. A reload or going back keeps it.
const DRAFTS = 'hearth:draft:'
const POSTING = 'hearth:posting'
const arrivedByNavigation = (performance.getEntriesByType('navigation')[0] || {}).type === 'navigate'
let posted = null
try {
  posted = sessionStorage.getItem(POSTING)
  sessionStorage.removeItem(POSTING)
} catch {}
/**
 * Keeps the draft of one composer form (marked data-draft="<key>"): restores it into empty
 * fields with a note and a way to discard it, and saves as the member types. The composer
 * (static/js/composer.js) calls it for the forms it opens, and `form.hearthClearDraft()` once it posted.
 */
function attachDraft(form) {
  if (form.dataset.draftAttached) return
  form.dataset.draftAttached = '1'
  const key = DRAFTS + form.getAttribute('data-draft')
  const fields = [...form.querySelectorAll('input[name="title"], textarea[name="body"]')]
  const failed = form.querySelector('[aria-invalid="true"], [role="alert"]')
  let draft = null
  try {
    draft = JSON.parse(localStorage.getItem(key) || 'null')
  } catch {}
  const empty = fields.every((f) => f.value === '')
  if (draft && posted === key && arrivedByNavigation && empty && !failed) {
    localStorage.removeItem(key)
    draft = null
  }
  if (draft && empty) {
    for (const f of fields) if (typeof draft[f.name] === 'string') f.value = draft[f.name]
    const note = document.createElement('p')
    note.className = 'notice draft-note'
    note.setAttribute('role', 'status')
    note.textContent = 'Your unsent draft is back. '
    const discard = document.createElement('button')
    discard.type = 'button'
    discard.className = 'link small'
    discard.textContent = 'Discard it'
    discard.addEventListener('click', () => {
      localStorage.removeItem(key)
      for (const f of fields) f.value = ''
      note.remove()
    })
    note.append(discard)
    form.prepend(note)
  }
  let timer = null
  const save = () => {
    const values = Object.fromEntries(fields.map((f) => [f.name, f.value]))
    try {
      if (fields.every((f) => f.value.trim() === '')) localStorage.removeItem(key)
      else localStorage.setItem(key, JSON.stringify({ ...values, savedAt: Date.now() }))
    } catch {}
  }
  form.addEventListener('input', () => {
    clearTimeout(timer)
    timer = setTimeout(save, 300)
  })
  form.addEventListener('submit', () => {
    clearTimeout(timer)
    save()
  })
  form.hearthClearDraft = () => {
    clearTimeout(timer)
    try {
      localStorage.removeItem(key)
    } catch {}
    form.querySelector('.draft-note')?.remove()
  }
}
// The page reached after a submit drops the draft that went through; a form sent by fetch
// never navigates, so it is not marked (the composer clears its draft itself).
document.addEventListener('submit', (event) => {
  const form = event.target
  if (event.defaultPrevented || !(form instanceof HTMLFormElement) || !form.hasAttribute('data-draft')) return
  try {
    sessionStorage.setItem(POSTING, DRAFTS + form.getAttribute('data-draft'))
  } catch {}
})
for (const form of document.querySelectorAll('form[data-draft]')) attachDraft(form)
window.Hearth = { ...(window.Hearth || {}), attachDraft }
// A submitted draft whose form is not on the page reached afterwards (a new thread lands on
// the thread itself) went through as well.
if (posted && arrivedByNavigation && !document.querySelector(`form[data-draft="${CSS.escape(posted.slice(DRAFTS.length))}"]`)) {
  try {
    localStorage.removeItem(posted)
  } catch {}
}

// Similar ideas while the title is typed: a debounced search of the idea board, so a member
// can vote for an existing idea instead of posting a duplicate. Without this script the
// server runs the same check when the form is sent.
for (const form of document.querySelectorAll('form[data-similar-check]')) {
  const title = form.querySelector('input[name="title"]')
  const box = form.querySelector('[data-similar-live]')
  if (!title || !box) continue
  let timer = null
  let pending = null
  let last = ''
  const show = (items) => {
    box.replaceChildren()
    if (items.length === 0) {
      box.hidden = true
      return
    }
    const intro = document.createElement('p')
    const strong = document.createElement('strong')
    strong.textContent = 'Similar ideas:'
    intro.append(strong, ' is yours among them? A vote there counts more than a duplicate.')
    const list = document.createElement('ul')
    for (const item of items) {
      const li = document.createElement('li')
      const votes = document.createElement('span')
      votes.className = 'votes'
      votes.textContent = `${item.votes} ${item.votes === 1 ? 'vote' : 'votes'}`
      const link = document.createElement('a')
      link.href = item.url
      link.textContent = item.title
      const status = document.createElement('span')
      status.className = `status status-${item.status}`
      status.textContent = item.statusLabel
      li.append(votes, link, status)
      list.append(li)
    }
    box.append(intro, list)
    box.hidden = false
  }
  const check = () => {
    const q = title.value.trim()
    if (q === last) return
    last = q
    if (pending) pending.abort()
    if (q.length < 4) return show([])
    pending = new AbortController()
    fetch(`/api/v1/ideas/similar?typing=1&q=${encodeURIComponent(q)}`, { signal: pending.signal, headers: { accept: 'application/json' } })
      .then((res) => (res.ok ? res.json() : { items: [] }))
      .then((data) => show(data.items || []))
      .catch(() => {})
  }
  title.addEventListener('input', () => {
    clearTimeout(timer)
    timer = setTimeout(check, 300)
  })
  if (title.value.trim()) check()
}

// Images in the composer: dropped, pasted or chosen files upload at once (POST /api/v1/uploads)
// and their markdown goes where the cursor is, with a placeholder while they travel. Without
// this script the file field sends the image with the post instead.
for (const form of document.querySelectorAll('form[data-uploads]')) {
  const text = form.querySelector('textarea[data-upload-target]')
  const input = form.querySelector('input[data-upload-input]')
  const status = form.querySelector('[data-upload-status]')
  const token = form.querySelector('input[name="_csrf"]')
  if (!text || !token) continue
  const say = (message, isError) => {
    if (!status) return
    status.textContent = message
    status.hidden = !message
    status.classList.toggle('error', !!isError)
  }
  const changed = () => text.dispatchEvent(new Event('input', { bubbles: true }))
  const upload = async (file) => {
    const label = (file.name || 'image').replace(/[[\]()]/g, '')
    const placeholder = `![Uploading ${label}…]()`
    const start = text.selectionStart ?? text.value.length
    const end = text.selectionEnd ?? start
    // The image gets a paragraph of its own: a blank line before and after it.
    const before = text.value.slice(0, start)
    const after = text.value.slice(end)
    const gap = !before || before.endsWith('\n\n') ? '' : before.endsWith('\n') ? '\n' : '\n\n'
    const tail = after.startsWith('\n\n') ? '' : after.startsWith('\n') ? '\n' : after ? '\n\n' : '\n'
    const inserted = `${gap}${placeholder}${tail}`
    text.setRangeText(inserted, start, end, 'end')
    changed()
    say(`Uploading ${label}…`)
    const body = new FormData()
    body.append('file', file, file.name || 'pasted-image.png')
    let message = ''
    let markdown = ''
    try {
      const res = await fetch('/api/v1/uploads', { method: 'POST', body, headers: { 'x-csrf-token': token.value } })
      const json = await res.json().catch(() => ({}))
      if (res.ok) markdown = json.markdown
      else message = json.error || 'The image could not be uploaded'
    } catch {
      message = 'The image could not be uploaded: the connection failed'
    }
    if (markdown) {
      const at = text.value.indexOf(placeholder)
      if (at >= 0) text.setRangeText(markdown, at, at + placeholder.length, 'preserve')
      else text.value += `\n${markdown}\n`
    } else {
      // Refused: the text goes back to what it was.
      const at = text.value.indexOf(inserted)
      if (at >= 0) text.setRangeText('', at, at + inserted.length, 'preserve')
    }
    changed()
    say(message ? `${label}: ${message}` : '', !!message)
  }
  const uploadAll = async (files) => {
    for (const file of files) await upload(file)
  }
  const images = (list) => [...(list || [])].filter((f) => f.type.startsWith('image/') || f.type === '')
  text.addEventListener('paste', (event) => {
    const files = images(event.clipboardData && event.clipboardData.files)
    if (files.length === 0) return
    event.preventDefault()
    uploadAll(files)
  })
  text.addEventListener('dragover', (event) => {
    if (![...(event.dataTransfer?.types || [])].includes('Files')) return
    event.preventDefault()
    text.classList.add('drop-target')
  })
  text.addEventListener('dragleave', () => text.classList.remove('drop-target'))
  text.addEventListener('drop', (event) => {
    text.classList.remove('drop-target')
    const files = images(event.dataTransfer && event.dataTransfer.files)
    if (files.length === 0) return
    event.preventDefault()
    text.focus()
    uploadAll(files)
  })
  if (input) {
    input.addEventListener('change', () => {
      const files = [...input.files]
      // Uploaded now, so the form does not send it again with the post.
      input.value = ''
      uploadAll(files)
    })
  }
}

// The account menu in the header closes on a click outside it or on Escape.
document.addEventListener('click', (event) => {
  for (const menu of document.querySelectorAll('details.account-menu[open]')) {
    if (!menu.contains(event.target)) menu.open = false
  }
})
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return
  for (const menu of document.querySelectorAll('details.account-menu[open]')) {
    menu.open = false
    menu.querySelector('summary')?.focus()
  }
})

// A post's "Flag" link opens the flag form under the post, from the page's one copy of it
// (<template id="flag-form">, views/discussions/thread.hbs); without this, the link opens the
// form on a page of its own.
document.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('.post > footer a.flag') : null
  const template = document.getElementById('flag-form')
  if (!link || !(template instanceof HTMLTemplateElement) || event.defaultPrevented) return
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  event.preventDefault()
  const details = template.content.firstElementChild.cloneNode(true)
  const form = details.querySelector('form')
  form.action = link.href // the same address takes the POST
  const postId = link.pathname.split('/')[2]
  for (const el of details.querySelectorAll('[data-field]')) {
    const id = `flag-${el.getAttribute('data-field')}-${postId}`
    if (el instanceof HTMLLabelElement) el.htmlFor = id
    else el.id = id
    el.removeAttribute('data-field')
  }
  link.replaceWith(details)
  details.querySelector('select').focus()
})

// A time's exact moment, in the reader's own zone and language, when it is pointed at or its
// link focused: pages carry only the machine-readable time (datetime), not a title per post.
function titleTime(time) {
  if (!time || time.title) return
  const at = new Date(time.getAttribute('datetime'))
  if (!Number.isNaN(at.getTime())) time.title = at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}
document.addEventListener('mouseover', (event) => {
  if (event.target instanceof Element) titleTime(event.target.closest('time[datetime]'))
})
// A focused link holds its time (a post's "10 days ago" links to the post).
document.addEventListener('focusin', (event) => {
  if (event.target instanceof Element) titleTime(event.target.closest('time[datetime]') ?? event.target.querySelector(':scope > time[datetime]'))
})
