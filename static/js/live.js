// Live updates over the /live websocket. Progressive enhancement only: every page is complete
// without this file, and it does nothing on a page without live elements.
//
// DOM contract (templates follow it):
//   [data-live-channel="thread:42"]        subscribe to that channel (several elements per page, or several
//                                          space-separated names in one attribute).
//   [data-live-posts]                      thread page: on post.created for a thread channel, show/update
//                                          a bar [data-live-new-bar] "N new replies — show" (created after
//                                          the container when the template has none); clicking reloads
//                                          the page at the first new post.
//                                          A post the composer inserted itself (event hearth:post-inserted,
//                                          detail {postId}) is never counted as new.
//   #p<postId>                             thread page: on post.edited (ids only, never text) a button
//                                          [data-live-edited] "Edited — reload to see" is added to the post.
//   [data-like-count-for="<postId>"]       text set from like.changed {postId, likeCount}.
//   [data-vote-count-for="<ideaId>"]       text set from idea.voted {ideaId, votes}.
//   [data-idea-status-for="<ideaId>"]      text set from idea.status {ideaId, status, statusLabel};
//                                          its data-status attribute is set to the status.
//   [data-beta-seats-for="<programId>"]    text set from beta.seats {programId, seatsLeft}.
//   [data-event-seats-for|going-for|waiting-for="<occurrenceId>"]  text set from event.seats.
//   a.notifications-link                   the header badge: on notification.created (channel user:me) its
//                                          span.count[data-unread] counts up (created when absent).
//   [data-live-activity]                   home activity list (subscribed to home): thread.created,
//                                          post.created and idea.created prepend an item from the event's
//                                          title, url and author (text only).
//   [data-poll-id="<pollId>"]             thread page: on poll.changed (ids only) the poll is fetched again from
//                                          /polls/<id>/fragment (as this viewer sees it) and swapped in
//                                          (static/js/polls.js, event hearth:poll-changed, detail {pollId}).
//   [data-live-mod-queue]                  moderator queue (subscribed to mod): flag.created shows a bar
//                                          [data-live-flags-bar] "N new flags — reload".
// A `reload` frame (the gap since the last event is too old to replay) shows a bar asking to reload.
// The socket reconnects with backoff and asks each channel for what it missed (`since`).
;(() => {
  const channelElements = document.querySelectorAll('[data-live-channel]')
  if (channelElements.length === 0 || !('WebSocket' in window)) return

  const channels = new Set()
  for (const el of channelElements) {
    for (const name of el.getAttribute('data-live-channel').split(/\s+/)) if (name) channels.add(name)
  }
  const lastIds = new Map()
  const MAX_ACTIVITY = 30
  let socket = null
  let attempt = 0
  let newPostIds = []
  const insertedIds = new Set()
  let newFlags = 0

  function connect() {
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/live`
    socket = new WebSocket(url)
    socket.addEventListener('open', () => {
      attempt = 0
      for (const channel of channels) {
        const frame = { type: 'subscribe', channel }
        if (lastIds.has(channel)) frame.since = lastIds.get(channel)
        socket.send(JSON.stringify(frame))
      }
    })
    socket.addEventListener('message', (message) => {
      let frame
      try {
        frame = JSON.parse(message.data)
      } catch {
        return
      }
      if (frame.type === 'event') {
        lastIds.set(frame.channel, frame.id)
        handle(frame)
      } else if (frame.type === 'reload') {
        showBar(document.querySelector('[data-live-posts], [data-live-mod-queue], [data-live-activity]') || document.querySelector('main'),
          'data-live-reload-bar', 'New activity since this page loaded — reload', () => location.reload())
      } else if (frame.type === 'error' && frame.channel) {
        channels.delete(frame.channel)
      }
    })
    socket.addEventListener('close', (event) => {
      socket = null
      if (event.code === 1008 || channels.size === 0) return
      // 1001: the server is going away, another instance will take us; otherwise back off.
      const base = event.code === 1001 || event.code === 4401 ? 250 : Math.min(30_000, 1000 * 2 ** attempt)
      attempt += 1
      setTimeout(connect, base / 2 + Math.random() * base)
    })
  }

  function handle(frame) {
    switch (frame.event) {
      case 'post.created':
        if (frame.channel.startsWith('thread:')) newReply(frame)
        if (frame.channel === 'home') activity(frame)
        break
      case 'thread.created':
      case 'idea.created':
        if (frame.channel === 'home' || frame.channel === 'ideas') activity(frame)
        break
      case 'post.edited':
        if (frame.channel.startsWith('thread:')) edited(frame)
        break
      case 'like.changed':
        setText(`[data-like-count-for="${id(frame.postId)}"]`, frame.likeCount)
        break
      case 'idea.voted':
        setText(`[data-vote-count-for="${id(frame.ideaId)}"]`, frame.votes)
        break
      case 'idea.status':
        for (const el of document.querySelectorAll(`[data-idea-status-for="${id(frame.ideaId)}"]`)) {
          el.textContent = String(frame.statusLabel ?? frame.status)
          el.setAttribute('data-status', String(frame.status))
        }
        break
      case 'poll.changed':
        if (document.querySelector(`[data-poll-id="${id(frame.pollId)}"]`)) {
          document.dispatchEvent(new CustomEvent('hearth:poll-changed', { detail: { pollId: id(frame.pollId) } }))
        }
        break
      case 'beta.seats':
        setText(`[data-beta-seats-for="${id(frame.programId)}"]`, frame.seatsLeft)
        break
      case 'event.seats':
        if (frame.seatsLeft !== null) setText(`[data-event-seats-for="${id(frame.occurrenceId)}"]`, frame.seatsLeft)
        setText(`[data-event-going-for="${id(frame.occurrenceId)}"]`, frame.going)
        setText(`[data-event-waiting-for="${id(frame.occurrenceId)}"]`, frame.waitlisted)
        break
      case 'notification.created':
        if (frame.channel === 'user:me') badge()
        break
      case 'flag.created':
        if (frame.channel === 'mod') flagged()
        break
    }
  }

  // Ids go into selectors: only plain numbers or slugs, never arbitrary text.
  function id(value) {
    return /^[A-Za-z0-9_-]+$/.test(String(value)) ? String(value) : '\u0000'
  }

  function setText(selector, value) {
    if (value === undefined || value === null) return
    for (const el of document.querySelectorAll(selector)) el.textContent = String(value)
  }

  // The composer (static/js/composer.js) inserted this member's own reply: whether its frame came
  // first or comes later, it is not "new" to them.
  document.addEventListener('hearth:post-inserted', (event) => {
    const postId = event.detail && event.detail.postId
    if (postId === undefined) return
    insertedIds.add(String(postId))
    const before = newPostIds.length
    newPostIds = newPostIds.filter((p) => String(p) !== String(postId))
    if (newPostIds.length === before) return
    const bar = document.querySelector('[data-live-new-bar]')
    if (!bar) return
    const n = newPostIds.length
    if (n === 0) bar.hidden = true
    else bar.textContent = `${n} new ${n === 1 ? 'reply' : 'replies'} — show`
  })

  function newReply(frame) {
    const posts = document.querySelector('[data-live-posts]')
    const postId = frame.postId
    if (!posts || postId === undefined || insertedIds.has(String(postId)) || document.getElementById(`p${postId}`) || newPostIds.includes(postId)) return
    newPostIds.push(postId)
    const n = newPostIds.length
    showBar(posts, 'data-live-new-bar', `${n} new ${n === 1 ? 'reply' : 'replies'} — show`, () => {
      const target = `${location.pathname}${location.search}#p${newPostIds[0]}`
      if (`${location.pathname}${location.search}${location.hash}` === target) location.reload()
      else {
        location.assign(target)
        location.reload()
      }
    })
  }

  // The frame says only which post changed; the new text comes with a reload, through the
  // page's own access checks.
  function edited(frame) {
    const post = document.getElementById(`p${id(frame.postId)}`)
    if (!post || post.querySelector('[data-live-edited]')) return
    const note = document.createElement('button')
    note.type = 'button'
    note.className = 'live-bar'
    note.setAttribute('data-live-edited', '')
    note.setAttribute('aria-live', 'polite')
    note.textContent = 'Edited — reload to see'
    note.addEventListener('click', () => {
      const target = `${location.pathname}${location.search}#p${id(frame.postId)}`
      if (`${location.pathname}${location.search}${location.hash}` !== target) location.assign(target)
      location.reload()
    })
    post.append(note)
  }

  function flagged() {
    const queue = document.querySelector('[data-live-mod-queue]')
    if (!queue) return
    newFlags += 1
    showBar(queue, 'data-live-flags-bar', `${newFlags} new ${newFlags === 1 ? 'flag' : 'flags'} — reload`, () => location.reload())
  }

  // One bar per attribute: a button (keyboard-reachable) announced politely to screen readers.
  function showBar(container, attribute, text, onClick) {
    let bar = document.querySelector(`[${attribute}]`)
    if (!bar) {
      bar = document.createElement('button')
      bar.type = 'button'
      bar.className = 'live-bar'
      bar.setAttribute(attribute, '')
      container.after(bar)
    }
    if (!bar.dataset.liveBound) {
      bar.dataset.liveBound = '1'
      bar.setAttribute('aria-live', 'polite')
      bar.addEventListener('click', onClick)
    }
    bar.hidden = false
    bar.textContent = text
  }

  function badge() {
    const link = document.querySelector('a.notifications-link')
    if (!link) return
    let count = link.querySelector('span.count[data-unread]')
    if (!count) {
      count = document.createElement('span')
      count.className = 'count'
      count.setAttribute('data-unread', '')
      count.textContent = '0'
      link.append(count)
    }
    const n = (Number.parseInt(count.textContent, 10) || 0) + 1
    count.textContent = String(n)
    link.setAttribute('aria-label', `Notifications, ${n} unread`)
  }

  function activity(frame) {
    const list = document.querySelector('[data-live-activity]')
    if (!list || typeof frame.title !== 'string') return
    const item = document.createElement('li')
    item.className = 'activity-item live-new'
    const kind = frame.event === 'post.created' ? 'New reply in' : frame.event === 'idea.created' ? 'New idea:' : 'New thread:'
    item.append(`${kind} `)
    const url = typeof frame.url === 'string' && frame.url.startsWith('/') && !frame.url.startsWith('//') ? frame.url : null
    const title = document.createElement(url ? 'a' : 'span')
    if (url) title.href = url
    title.textContent = frame.title
    item.append(title)
    if (typeof frame.author === 'string') item.append(` by ${frame.author}`)
    list.prepend(item)
    while (list.children.length > MAX_ACTIVITY) list.lastElementChild.remove()
  }

  connect()
})()
