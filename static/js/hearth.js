// Progressive enhancement only: every page works without this file.
document.addEventListener('submit', (event) => {
  // Stop double submits of a form while its request is under way.
  const form = event.target
  if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== 'post') return
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
