import type Handlebars from 'handlebars'

type Hbs = typeof Handlebars

/** What `{{notificationLevelForm action=… id=… label=… level=…}}` passes. */
interface LevelFormContext {
  action: string
  id: string
  label: string
  level: { level: string; from: string; reason: string | null }
}

interface LevelRoot {
  levelOptions?: { value: string; label: string; hint: string }[]
  csrfToken?: unknown
}

/**
 * The `notificationLevelForm` helper (a member's level form on thread and category pages),
 * written as a function: as a template it cost a member's thread page two loops over the
 * levels with a helper call per level. A helper, not a partial: Handlebars copies the whole
 * page context into a partial called with arguments, on every call. Its output is the former
 * template's, byte for byte (test/notifications/level-html.test.ts renders both); every value
 * is escaped with Handlebars' own escaper.
 */
export function notificationLevelHelper(hbs: Hbs): Handlebars.HelperDelegate {
  const e = hbs.escapeExpression
  const str = (v: unknown) => e(v as string)
  return (options: Handlebars.HelperOptions) => {
    const ctx = options.hash as LevelFormContext
    const root = (options.data?.root ?? {}) as LevelRoot
    const levels = root.levelOptions ?? []
    const chosen = ctx.level?.level
    const id = str(ctx.id)
    let html = `<form method="post" action="${str(ctx.action)}" class="notification-level" data-notification-level>\n`
    html += `  <input type="hidden" name="_csrf" value="${str(root.csrfToken)}">\n`
    html += `  <label for="f-level-${id}">${str(ctx.label)}</label>\n`
    html += `  <select id="f-level-${id}" name="level" aria-describedby="level-hint-${id}">\n    `
    let hint = ''
    for (const option of levels) {
      const selected = option.value === chosen
      html += `<option value="${str(option.value)}" ${selected ? 'selected' : ''}>${str(option.label)}</option>`
      if (selected) hint += str(option.hint)
    }
    html += '\n  </select>\n  <button type="submit" class="secondary small">Save</button>\n'
    if (ctx.level?.from === 'category') hint += ' (from the category)'
    const reason = ctx.level?.reason
    if (reason === 'created') hint += ' (you started this thread)'
    if (reason === 'replied') hint += ' (you replied)'
    if (reason === 'idea') hint += ' (you follow this idea)'
    html += `  <p class="muted hint" id="level-hint-${id}">${hint}</p>\n</form>\n`
    return new hbs.SafeString(html)
  }
}
