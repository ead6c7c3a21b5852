// The composer, with JavaScript: @-mention suggestions in every composer textarea, and
// replies written in place on a thread (or an idea's discussion) and posted without a reload.
// Progressive enhancement only: without this file every form posts as a page, the Reply and
// Quote links open the reply page, and mentions are typed by hand.
//
// DOM contract (templates follow it):
//   textarea[data-mentions]                 suggest members after "@"; data-thread-id (or the closest
//                                           [data-thread-id]) names the thread, whose participants come first.
//   form[data-composer="<threadId>"]        the page's reply form: posted with fetch to the JSON API; its
//                                           clone is the inline composer.
//   .post > footer a[href*="/reply/"]     a post's Reply and Quote (?quote=1) links, /t/<id>/reply/<postId>:
//                                           open the inline composer under it.
//   #p<postId> details.replies              where a reply to that post goes; [data-live-posts] otherwise.
// After inserting a post it fires `hearth:post-inserted` {postId}, so live.js does not count it as new.
;(() => {
  // ── @-mention suggestions (the ARIA combobox pattern on a textarea) ───────────────────
  // The textarea keeps its textbox role (a combobox role would take multi-line editing away
  // from screen readers) and gets aria-autocomplete, aria-controls, aria-expanded and
  // aria-activedescendant; the suggestions are a listbox of options; a status line says how
  // many there are. Up/Down choose, Enter or Tab insert, Escape closes.
  const LOOKUP = '/api/v1/users/search'
  const TOKEN = /(?:^|[^\w@/.`])@([A-Za-z0-9][A-Za-z0-9_-]{0,19})?$/
  const cache = new Map()
  let listbox = null
  let status = null
  let state = null // { textarea, start, query, users, active }
  let timer = null
  let controller = null
  let seq = 0

  function ensureListbox() {
    if (listbox) return
    listbox = document.createElement('ul')
    listbox.id = 'mention-suggestions'
    listbox.className = 'mention-list'
    listbox.setAttribute('role', 'listbox')
    listbox.setAttribute('aria-label', 'Members to mention')
    listbox.hidden = true
    // Keep the focus in the textarea while the pointer picks an option.
    listbox.addEventListener('mousedown', (event) => event.preventDefault())
    listbox.addEventListener('click', (event) => {
      const option = event.target.closest('[role="option"]')
      if (option && state) insert(Number(option.dataset.index))
    })
    status = document.createElement('div')
    status.className = 'visually-hidden'
    status.setAttribute('role', 'status')
    document.body.append(listbox, status)
  }

  function prepare(textarea) {
    if (textarea.dataset.mentionsReady) return
    textarea.dataset.mentionsReady = '1'
    ensureListbox()
    textarea.setAttribute('aria-autocomplete', 'list')
    textarea.setAttribute('aria-controls', listbox.id)
    textarea.setAttribute('aria-expanded', 'false')
  }

  // Inside a code block or an inline code span a mention is text, not a link: no suggestions there.
  function inCode(before) {
    if (((before.match(/^ {0,3}(```|~~~)/gm) || []).length % 2) === 1) return true
    const line = before.slice(before.lastIndexOf('\n') + 1)
    return ((line.match(/`/g) || []).length % 2) === 1
  }

  function tokenAt(textarea) {
    if (textarea.selectionStart !== textarea.selectionEnd) return null
    const before = textarea.value.slice(0, textarea.selectionStart)
    const m = TOKEN.exec(before)
    if (!m || inCode(before)) return null
    const query = m[1] || ''
    return { start: textarea.selectionStart - query.length - 1, query }
  }

  function threadOf(textarea) {
    const holder = textarea.closest('[data-thread-id]')
    return textarea.getAttribute('data-thread-id') || (holder && holder.getAttribute('data-thread-id')) || ''
  }

  function update(textarea) {
    const token = tokenAt(textarea)
    if (!token) return close()
    clearTimeout(timer)
    const threadId = threadOf(textarea)
    const key = `${token.query.toLowerCase()}|${threadId}`
    const show = (users) => {
      // Still the same token in the same textarea?
      const now = tokenAt(textarea)
      if (!now || now.start !== token.start || document.activeElement !== textarea) return
      open(textarea, token, users)
    }
    if (cache.has(key)) return show(cache.get(key))
    timer = setTimeout(() => {
      controller?.abort()
      controller = new AbortController()
      const mine = ++seq
      const params = new URLSearchParams({ q: token.query })
      if (threadId) params.set('threadId', threadId)
      fetch(`${LOOKUP}?${params}`, { signal: controller.signal, headers: { accept: 'application/json' } })
        .then((res) => (res.ok ? res.json() : { users: [] }))
        .then((data) => {
          const users = Array.isArray(data.users) ? data.users : []
          cache.set(key, users)
          if (mine === seq) show(users)
        })
        .catch(() => {})
    }, 120)
  }

  function open(textarea, token, users) {
    if (users.length === 0) return close()
    const keep = state && state.textarea === textarea && state.start === token.start ? state.users[state.active]?.username : null
    const index = Math.max(0, users.findIndex((u) => u.username === keep))
    state = { textarea, start: token.start, query: token.query, users, active: index }
    listbox.replaceChildren(
      ...users.map((user, i) => {
        const li = document.createElement('li')
        li.id = `mention-option-${i}`
        li.setAttribute('role', 'option')
        li.dataset.index = String(i)
        const name = document.createElement('span')
        name.className = 'mention-username'
        name.textContent = `@${user.username}`
        li.append(name)
        if (user.displayName) {
          const display = document.createElement('span')
          display.className = 'mention-display-name'
          display.textContent = user.displayName
          li.append(' ', display)
        }
        return li
      }),
    )
    listbox.hidden = false
    textarea.setAttribute('aria-expanded', 'true')
    highlight()
    place(textarea, token.start)
    status.textContent = `${users.length} ${users.length === 1 ? 'member' : 'members'} to mention. Up and down to choose, Enter to insert, Escape to close.`
  }

  function highlight() {
    for (const li of listbox.children) {
      const on = Number(li.dataset.index) === state.active
      li.setAttribute('aria-selected', on ? 'true' : 'false')
      if (on) li.scrollIntoView({ block: 'nearest' })
    }
    state.textarea.setAttribute('aria-activedescendant', `mention-option-${state.active}`)
  }

  function close() {
    clearTimeout(timer)
    if (!state) return
    state.textarea.setAttribute('aria-expanded', 'false')
    state.textarea.removeAttribute('aria-activedescendant')
    listbox.hidden = true
    listbox.replaceChildren()
    status.textContent = ''
    state = null
  }

  function insert(index) {
    const { textarea, start, users } = state
    const user = users[index]
    if (!user) return
    const end = textarea.selectionStart
    const after = textarea.value.slice(end)
    const text = `@${user.username}${/^\s/.test(after) ? '' : ' '}`
    close()
    textarea.focus()
    textarea.setRangeText(text, start, end, 'end')
    if (/^\s/.test(after)) textarea.setSelectionRange(textarea.selectionStart + 1, textarea.selectionStart + 1)
    // Drafts and anything else listening see the change as typing.
    textarea.dispatchEvent(new Event('input', { bubbles: true }))
  }

  // Where the caret is, in page coordinates: a hidden copy of the textarea, with the text up
  // to the caret, measured.
  function caretPoint(textarea, position) {
    const style = getComputedStyle(textarea)
    const mirror = document.createElement('div')
    for (const p of ['boxSizing', 'width', 'fontFamily', 'fontSize', 'fontWeight', 'lineHeight', 'letterSpacing', 'paddingTop', 'paddingRight', 'paddingBottom', 'paddingLeft', 'borderTopWidth', 'borderRightWidth', 'borderBottomWidth', 'borderLeftWidth', 'tabSize']) {
      mirror.style[p] = style[p]
    }
    Object.assign(mirror.style, { position: 'absolute', visibility: 'hidden', top: '0', left: '-9999px', whiteSpace: 'pre-wrap', overflowWrap: 'break-word' })
    mirror.textContent = textarea.value.slice(0, position)
    const mark = document.createElement('span')
    mark.textContent = '@'
    mirror.append(mark)
    document.body.append(mirror)
    const rect = textarea.getBoundingClientRect()
    const lineHeight = Number.parseFloat(style.lineHeight) || Number.parseFloat(style.fontSize) * 1.4
    const point = {
      left: rect.left + window.scrollX + mark.offsetLeft - textarea.scrollLeft,
      top: rect.top + window.scrollY + mark.offsetTop - textarea.scrollTop + lineHeight,
    }
    mirror.remove()
    return point
  }

  function place(textarea, start) {
    const point = caretPoint(textarea, start)
    const rect = textarea.getBoundingClientRect()
    const width = Math.min(listbox.offsetWidth || 280, document.documentElement.clientWidth - 16)
    const maxLeft = window.scrollX + document.documentElement.clientWidth - width - 8
    listbox.style.left = `${Math.max(window.scrollX + 8, Math.min(point.left, maxLeft))}px`
    // Below the caret, and never below the textarea's bottom edge plus a little.
    listbox.style.top = `${Math.min(point.top + 4, rect.bottom + window.scrollY + 4)}px`
  }

  document.addEventListener('focusin', (event) => {
    if (event.target instanceof HTMLTextAreaElement && event.target.hasAttribute('data-mentions')) prepare(event.target)
  })
  document.addEventListener('input', (event) => {
    const textarea = event.target
    if (!(textarea instanceof HTMLTextAreaElement) || !textarea.hasAttribute('data-mentions')) return
    prepare(textarea)
    update(textarea)
  })
  document.addEventListener('keydown', (event) => {
    if (!state || event.target !== state.textarea || event.isComposing) return
    const n = state.users.length
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      state.active = (state.active + (event.key === 'ArrowDown' ? 1 : n - 1)) % n
      highlight()
    } else if ((event.key === 'Enter' || event.key === 'Tab') && !event.shiftKey && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault()
      insert(state.active)
    } else if (event.key === 'Escape') {
      event.preventDefault()
      event.stopPropagation()
      close()
    }
  }, true)
  document.addEventListener('keyup', (event) => {
    if (state && event.target === state.textarea && ['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) update(state.textarea)
  })
  document.addEventListener('click', (event) => {
    if (state && event.target === state.textarea) update(state.textarea)
  })
  document.addEventListener('focusout', (event) => {
    if (state && event.target === state.textarea) setTimeout(() => {
      if (state && document.activeElement !== state.textarea) close()
    }, 150)
  })
  window.addEventListener('resize', () => state && place(state.textarea, state.start))

  // ── the composer posts in place ──────────────────────────────────────────────────────
  const pageComposer = document.querySelector('form[data-composer]')
  if (!pageComposer || !('fetch' in window)) return
  const threadId = pageComposer.getAttribute('data-composer')
  let inline = null // { form, postId, section }

  function say(form, message) {
    let note = form.querySelector('.composer-status')
    if (!note) {
      note = document.createElement('p')
      note.className = 'composer-status visually-hidden'
      note.setAttribute('role', 'status')
      form.append(note)
    }
    note.textContent = message
  }

  function clearErrors(form) {
    for (const el of form.querySelectorAll('.composer-error, .field > .error')) el.remove()
    for (const el of form.querySelectorAll('[aria-invalid="true"]')) {
      el.removeAttribute('aria-invalid')
      const described = (el.getAttribute('aria-describedby') || '').split(/\s+/).filter((id) => id && !id.endsWith('-error'))
      el.setAttribute('aria-describedby', described.join(' '))
    }
    for (const el of form.querySelectorAll('.has-error')) el.classList.remove('has-error')
  }

  // An API refusal {error, field}: under the field it names (as the page would show it), or above the form.
  function showError(form, message, field) {
    const input = field ? form.querySelector(`[name="${field === 'parentId' ? '__none' : CSS.escape(field)}"]`) : null
    if (input && input.id) {
      const error = document.createElement('p')
      error.id = `${input.id}-error`
      error.className = 'error'
      error.setAttribute('role', 'alert')
      error.textContent = message
      input.after(error)
      input.setAttribute('aria-invalid', 'true')
      input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') || ''} ${error.id}`.trim())
      input.closest('.field')?.classList.add('has-error')
      input.focus()
      return
    }
    const notice = document.createElement('p')
    notice.className = 'notice error composer-error'
    notice.setAttribute('role', 'alert')
    notice.textContent = message
    form.prepend(notice)
  }

  function buttons(form, disabled) {
    for (const b of form.querySelectorAll('button')) b.disabled = disabled
  }

  async function submit(form, event) {
    // Preview is a page of its own (server-rendered): let it go as a form.
    if (event.submitter && event.submitter.name === 'preview') return
    event.preventDefault()
    const textarea = form.querySelector('textarea[name="body"]')
    const parent = form.querySelector('input[name="parentId"]')
    clearErrors(form)
    buttons(form, true)
    say(form, 'Posting…')
    try {
      const res = await fetch(`/api/v1/threads/${threadId}/posts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ body: textarea.value, ...(parent && parent.value ? { parentId: Number(parent.value) } : {}) }),
      })
      const data = await res.json().catch(() => ({}))
      if (!res.ok) {
        const message = res.status === 401 ? 'Your session has ended: log in again in another tab, then post (your text is kept).' : data.error || 'That did not work; try again.'
        showError(form, message, data.field)
        say(form, '')
        return
      }
      await place_(data, form)
      textarea.value = ''
      form.hearthClearDraft?.()
      say(form, 'Your reply is posted.')
      if (inline && inline.form === form) closeInline()
    } catch {
      showError(form, 'Could not reach the server. Your text is kept here and as a draft; try again in a moment.')
      say(form, '')
    } finally {
      buttons(form, false)
    }
  }

  // Puts the posted reply on the page, as the thread page would show it, under its parent.
  async function place_(posted, form) {
    let html = null
    try {
      const res = await fetch(`/p/${encodeURIComponent(posted.id)}/fragment`, { headers: { accept: 'text/html' } })
      if (res.ok) html = await res.text()
    } catch {}
    if (!html) {
      // The post is saved; show it where it lives.
      location.assign(posted.url)
      return
    }
    if (document.getElementById(`p${posted.id}`)) return
    const holder = document.createElement('div')
    holder.innerHTML = html
    const article = holder.querySelector('article.post')
    if (!article) return location.assign(posted.url)
    const parent = posted.parentId ? document.getElementById(`p${posted.parentId}`) : null
    const posts = form.closest('[data-thread-id]')?.querySelector('[data-live-posts]') || document.querySelector('[data-live-posts]')
    if (parent) {
      let replies = [...parent.children].find((el) => el.matches('details.replies'))
      if (!replies) {
        replies = document.createElement('details')
        replies.className = 'replies'
        replies.open = true
        replies.append(document.createElement('summary'))
        const more = [...parent.children].find((el) => el.matches('p.continue'))
        if (more) more.before(replies)
        else parent.append(replies)
      }
      replies.open = true
      replies.append(article)
      const count = [...replies.children].filter((el) => el.matches('article.post')).length
      replies.querySelector(':scope > summary').textContent = `${count} ${count === 1 ? 'reply' : 'replies'}`
    } else if (posts) {
      for (const empty of posts.querySelectorAll(':scope > p.muted')) empty.remove()
      posts.append(article)
    } else {
      return location.assign(posted.url)
    }
    article.classList.add('just-posted')
    article.setAttribute('tabindex', '-1')
    document.dispatchEvent(new CustomEvent('hearth:post-inserted', { detail: { postId: posted.id } }))
    // The address points at the new post (as after a posted form), without leaving the page.
    history.replaceState(history.state, '', `${location.pathname}${location.search}#p${posted.id}`)
    article.scrollIntoView({ block: 'center' })
    article.focus({ preventScroll: true })
  }

  pageComposer.addEventListener('submit', (event) => submit(pageComposer, event))

  function closeInline() {
    if (!inline) return
    inline.section.remove()
    inline.opener?.setAttribute('aria-expanded', 'false')
    inline = null
  }

  // The inline composer: the page's reply form, cloned under the post it answers.
  function openInline(link) {
    const postId = link.pathname.split('/').pop()
    const post = document.getElementById(`p${postId}`)
    if (!post) return false
    const quoting = new URLSearchParams(link.search).has('quote')
    if (inline && inline.postId === postId) {
      const textarea = inline.form.querySelector('textarea')
      if (quoting) addQuote(textarea, post, postId)
      textarea.focus()
      return true
    }
    closeInline()
    const form = pageComposer.cloneNode(true)
    delete form.dataset.draftAttached
    form.removeAttribute('data-composer')
    form.setAttribute('data-draft', `reply-${threadId}-${postId}`)
    form.action = `/t/${threadId}/replies`
    for (const el of form.querySelectorAll('.preview, .draft-note, .composer-error, .composer-status, .field > .error, [name="returnTo"]')) el.remove()
    const parent = document.createElement('input')
    parent.type = 'hidden'
    parent.name = 'parentId'
    parent.value = postId
    form.prepend(parent)
    const textarea = form.querySelector('textarea[name="body"]')
    textarea.value = ''
    // Ids stay unique on the page: the label and hint follow the textarea.
    const id = `f-body-${postId}`
    const label = form.querySelector(`label[for="${textarea.id}"]`)
    const hint = form.querySelector(`#${CSS.escape(textarea.id)}-hint`)
    if (hint) hint.id = `${id}-hint`
    textarea.id = id
    textarea.setAttribute('aria-describedby', hint ? hint.id : '')
    textarea.removeAttribute('aria-invalid')
    textarea.closest('.field')?.classList.remove('has-error')
    textarea.removeAttribute('data-mentions-ready')
    textarea.removeAttribute('aria-activedescendant')
    textarea.rows = 5
    const author = post.querySelector(':scope > header .author')
    if (label) {
      label.htmlFor = id
      label.textContent = `Reply to ${author ? author.textContent.trim() : 'this post'}`
    }
    const cancel = document.createElement('button')
    cancel.type = 'button'
    cancel.className = 'secondary'
    cancel.textContent = 'Cancel'
    cancel.addEventListener('click', () => {
      const opener = inline && inline.opener
      closeInline()
      opener?.focus()
    })
    const actions = form.querySelector('.form-actions') || form
    actions.append(cancel)
    const section = document.createElement('section')
    section.className = 'inline-composer'
    section.setAttribute('aria-label', label ? label.textContent : 'Reply')
    section.append(form)
    const footer = post.querySelector(':scope > footer')
    if (footer) footer.after(section)
    else post.append(section)
    inline = { form, postId, section, opener: link }
    link.setAttribute('aria-expanded', 'true')
    window.Hearth?.attachDraft?.(form)
    form.addEventListener('submit', (event) => submit(form, event))
    if (quoting && textarea.value === '') addQuote(textarea, post, postId)
    else textarea.focus()
    return true
  }

  // Quote: the text selected in the post when there is some, else the whole post (its Markdown, from the server).
  async function addQuote(textarea, post, postId) {
    const selection = window.getSelection()
    const body = post.querySelector(':scope > .post-body')
    const author = post.querySelector(':scope > header .author')
    const name = author ? (author.getAttribute('href') || '').replace(/^\/u\//, '') : ''
    let quote = ''
    if (selection && !selection.isCollapsed && body && body.contains(selection.anchorNode) && body.contains(selection.focusNode)) {
      quote = `> @${name} wrote:\n${selection.toString().trim().split('\n').map((l) => `> ${l}`).join('\n')}\n\n`
    } else {
      try {
        const res = await fetch(`/api/v1/posts/${encodeURIComponent(postId)}/quote`, { headers: { accept: 'application/json' } })
        if (res.ok) quote = (await res.json()).body || ''
      } catch {}
    }
    if (quote) {
      const at = textarea.value.length
      textarea.setRangeText(`${textarea.value && !textarea.value.endsWith('\n\n') ? '\n\n' : ''}${quote}`, at, at, 'end')
      textarea.dispatchEvent(new Event('input', { bubbles: true }))
    }
    textarea.focus()
  }

  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return
    const link = event.target.closest('.post > footer a[href*="/reply/"]')
    if (!link) return
    if (openInline(link)) event.preventDefault()
  })
})()
