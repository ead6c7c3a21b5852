// Events: tell the server the browser's time zone (a cookie it reads when the member has
// not chosen one in their settings), so the next page shows event times in local time.
// Times on a page already rendered stay as the server wrote them, with their zone named.
;(function () {
  'use strict'
  var zone
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone
  } catch (e) {
    return
  }
  if (!zone || !/^[A-Za-z0-9_+\-/]{1,64}$/.test(zone)) return
  var current = document.cookie.split('; ').filter(function (c) { return c.indexOf('hearth_tz=') === 0 })[0]
  if (current === 'hearth_tz=' + encodeURIComponent(zone)) return
  document.cookie = 'hearth_tz=' + encodeURIComponent(zone) + '; path=/; max-age=31536000; samesite=lax'
})()
