// Progressive enhancement only: every page works without this file.
document.addEventListener('submit', (event) => {
  // Stop double submits of a form while its request is under way.
  const form = event.target
  if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== 'post') return
  for (const button of form.querySelectorAll('button[type="submit"]')) {
    setTimeout(() => { button.disabled = true }, 0)
  }
})
