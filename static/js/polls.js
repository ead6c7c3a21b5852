// Polls in posts, in place. Progressive enhancement only: every poll form works without this
// file (it posts and comes back to the post). With it, a vote, a change, a take-back or a close
// is sent with fetch and the poll is swapped for its new HTML (/polls/<id>/fragment, as this
// viewer sees it). live.js raises hearth:poll-changed when someone else's vote changes a poll
// on the page; the poll is fetched again then too (not while this member is filling it in).
;(() => {
  if (!document.querySelector('[data-poll-id]')) return
  const pending = new Map()

  async function refresh(pollId) {
    const el = document.querySelector(`[data-poll-id="${pollId}"]`)
    if (!el) return
    const response = await fetch(`/polls/${pollId}/fragment`, { headers: { accept: 'text/html' }, credentials: 'same-origin' })
    if (!response.ok) return
    const html = await response.text()
    const template = document.createElement('template')
    template.innerHTML = html.trim()
    const fresh = template.content.querySelector('[data-poll-id]')
    if (fresh) el.replaceWith(fresh)
  }

  document.addEventListener('submit', async (event) => {
    const form = event.target
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-poll-form')) return
    const poll = form.closest('[data-poll-id]')
    if (!poll) return
    event.preventDefault()
    const button = form.querySelector('button[type="submit"]')
    if (button) button.disabled = true
    const error = form.querySelector('[data-poll-error]')
    try {
      const response = await fetch(form.action, {
        method: 'POST',
        body: new URLSearchParams(new FormData(form)),
        credentials: 'same-origin',
        redirect: 'manual',
      })
      // A vote answers with a redirect back to the post: not followed (that would load the whole thread).
      if (response.type === 'opaqueredirect' || response.ok) {
        await refresh(poll.getAttribute('data-poll-id'))
        return
      }
      // The server answers a ballot that does not fit with the poll's page and its message.
      const page = document.createElement('template')
      page.innerHTML = await response.text()
      const message = page.content.querySelector('.notice.error')
      if (error) {
        error.textContent = message ? message.textContent : 'Your vote was not counted; try again.'
        error.hidden = false
      }
    } catch {
      if (error) {
        error.textContent = 'Could not reach the server; try again.'
        error.hidden = false
      }
    } finally {
      if (button) button.disabled = false
    }
  })

  document.addEventListener('hearth:poll-changed', (event) => {
    const pollId = event.detail && event.detail.pollId
    const el = pollId && document.querySelector(`[data-poll-id="${pollId}"]`)
    // Do not swap a form out from under a member who is choosing.
    if (!el || el.contains(document.activeElement) && document.activeElement !== document.body && document.activeElement.tagName !== 'BUTTON') return
    clearTimeout(pending.get(pollId))
    pending.set(pollId, setTimeout(() => refresh(pollId), 150))
  })
})()
