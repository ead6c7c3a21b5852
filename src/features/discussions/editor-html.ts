import type Handlebars from 'handlebars'

type Hbs = typeof Handlebars

/** What `{{editorField value=… preview=… previewed=… error=… label=… rows=… thread=… imageError=…}}` passes. */
interface EditorContext {
  value?: unknown
  preview?: unknown
  previewed?: unknown
  error?: unknown
  label?: unknown
  rows?: unknown
  thread?: unknown
  imageError?: unknown
}

/** Handlebars' `{{#if}}`: false for false, null, undefined, '', 0 and an empty list. */
function truthy(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : Boolean(value)
}

/**
 * The `editorField` helper (`{{~editorField value=… …}}`: the post body field of every composer:
 * a thread's reply box, the reply, new-thread and edit pages, an idea's comment box), written as
 * a function: as a template it was the largest part of a member's thread page after the posts.
 * A helper, not a partial: Handlebars copies the whole page context into a partial called with
 * arguments, on every call. It reads only its arguments (and whether a member is asking). Its
 * output is the former template's, byte for byte (test/discussions/editor-html.test.ts renders
 * both): the textarea's text exactly as given, never indented. A member's image field follows
 * (imageField).
 */
export function editorHelper(hbs: Hbs): Handlebars.HelperDelegate {
  const e = (v: unknown) => hbs.escapeExpression(v as string)
  return (options: Handlebars.HelperOptions) => {
    const ctx = options.hash as EditorContext
    let html = ''
    if (truthy(ctx.previewed)) {
      html += '<section class="preview" aria-labelledby="preview-heading">\n  <h2 id="preview-heading" class="preview-label">Preview</h2>\n  '
      html += truthy(ctx.preview) ? `<div class="post-body">${ctx.preview}</div>` : '<p class="muted">Nothing to preview yet: write something below.</p>'
      html += '\n</section>\n'
    }
    const error = truthy(ctx.error)
    html += `<div class="field${error ? ' has-error' : ''}">\n`
    html += `  <label for="f-body">${truthy(ctx.label) ? e(ctx.label) : 'Your post'}</label>\n`
    html += '  <small class="hint" id="f-body-hint">Markdown: **bold**, _italic_, `code`, ```code blocks```, &gt; quotes, links, @mentions.</small>\n'
    html += `  <textarea id="f-body" name="body" data-mentions data-upload-target${truthy(ctx.thread) ? ` data-thread-id="${e(ctx.thread)}"` : ''}`
    html += ` rows="${truthy(ctx.rows) ? e(ctx.rows) : '8'}" required aria-describedby="f-body-hint${error ? ' f-body-error' : ''}" ${error ? 'aria-invalid="true"' : ''}>${e(ctx.value)}</textarea>\n`
    html += error ? `  <p id="f-body-error" class="error" role="alert">${e(ctx.error)}</p>\n` : '  \n'
    html += '  <p class="upload-status" data-upload-status role="status" hidden></p>\n</div>\n'
    if (truthy((options.data?.root as { currentUser?: unknown } | undefined)?.currentUser)) html += imageField(hbs, ctx.imageError)
    // Ends where the field ends: the line break after the helper's tag in the template follows it.
    return new hbs.SafeString(html)
  }
}

/** A post form's optional image (its error, if any, under it). */
function imageField(hbs: Hbs, error: unknown): string {
  const failed = truthy(error)
  let html = `<div class="field upload-field${failed ? ' has-error' : ''}">\n`
  html += '  <label for="f-image">Add an image <small class="muted">(optional)</small></label>\n'
  html += '  <small class="hint" id="f-image-hint">JPEG, PNG, WebP or GIF. It goes at the end of your post; you can also drag one onto the text or paste it.</small>\n'
  html += `  <input type="file" id="f-image" name="image" accept="image/jpeg,image/png,image/webp,image/gif,image/avif" data-upload-input aria-describedby="f-image-hint${failed ? ' f-image-error' : ''}"${failed ? ' aria-invalid="true"' : ''}>\n`
  html += failed ? `  <p id="f-image-error" class="error" role="alert">${hbs.escapeExpression(error as string)}</p>\n` : '  \n'
  return `${html}</div>\n`
}

/**
 * The `image-field` partial (`{{> image-field imageError=…}}`, the new-idea form): the same
 * field the editor draws for a member, from one function.
 */
export function imageFieldPartial(hbs: Hbs): Handlebars.Template {
  return ((ctx: { imageError?: unknown }) => imageField(hbs, ctx?.imageError)) as unknown as Handlebars.Template
}
