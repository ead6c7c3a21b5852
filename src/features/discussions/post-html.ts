import type Handlebars from 'handlebars'

type Hbs = typeof Handlebars

/** The page-wide values a post reads (`@root` in a template): the thread page's, an idea page's. */
interface PostRoot {
  thread?: { id?: number; slug?: string }
  currentUser?: { id: number } | null
  canReply?: boolean
  canFlag?: boolean
  canModerate?: boolean
}

/** What the post partial reads of a post (a PostView, or a live fragment's post). */
interface PostContext {
  id: number
  post_number: number
  author_id: number
  author_username: string
  author_display_name: string | null
  author_avatar: string | null
  created_at: Date | string
  edited_at: Date | string | null
  revision_count: number
  isNew?: boolean
  deleted?: boolean
  hidden?: boolean
  mutedAuthor?: boolean
  body_html: string
  like_count: number
  liked?: boolean
  canEdit?: boolean
  depth: number
  reply_count: number
  continues?: boolean
  replyTo?: { href: string; username: string; number: number; onlyWhenFlat: boolean } | null
  polls?: unknown[]
  children?: PostContext[]
}

/**
 * The `post` partial (`{{> post}}` in thread, idea and live-fragment templates), written as a
 * function: a thread page draws up to 200 posts, and as a Handlebars template the partial
 * (helper lookups, a context frame per post, recursion through the partial machinery) was the
 * largest part of a page's Node CPU. Every value goes through Handlebars' own escaping; the
 * post's HTML (`body_html`, sanitised when it was stored) is the one thing inserted as is.
 * A post's polls still render with the `poll` partial. A member's Like and Delete buttons submit
 * the page's one post-action form (the layout's) to their own address. The heart before a like
 * count is drawn by the style sheet (`.likes::before`), not repeated in every post's bytes.
 */
export function postPartial(hbs: Hbs): Handlebars.Template {
  const e = hbs.escapeExpression
  const helpers = hbs.helpers as Record<string, (...args: unknown[]) => unknown>
  let pollTemplate: Handlebars.TemplateDelegate | null = null
  const poll = (context: unknown, data: unknown): string => {
    if (!pollTemplate) {
      const partial = hbs.partials.poll as string | Handlebars.TemplateDelegate
      pollTemplate = typeof partial === 'function' ? partial : hbs.compile(partial)
    }
    return pollTemplate(context, { data })
  }
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

  const render = (p: PostContext, root: PostRoot, data: unknown): string => {
    const id = e(p.id as unknown as string)
    const threadId = e(root.thread?.id as unknown as string)
    const me = root.currentUser
    const mine = p.author_id === me?.id
    let html = `<article class="post${p.isNew ? ' is-new' : ''}${p.deleted ? ' is-deleted' : ''}" id="p${id}"><header>`
    html += `<a class="author" href="/u/${e(p.author_username)}">${helpers.avatar!(p.author_id, p.author_username, p.author_avatar, 28)}${e(p.author_display_name || p.author_username)}</a>`
    html += `<a class="when" href="/p/${id}">${helpers.time!(p.created_at)}</a>`
    if (p.edited_at) html += `<a class="edited" href="/p/${id}/revisions" title="See the edit history">edited${p.revision_count > 1 ? ` ×${e(p.revision_count as unknown as string)}` : ''}</a>`
    if (p.isNew) html += '<span class="badge new-badge">new</span>'
    html += `<a class="post-number" href="/t/${threadId}?n=${e(p.post_number as unknown as string)}">#${e(p.post_number as unknown as string)}</a></header>`
    const to = p.replyTo
    if (to) html += `<p class="in-reply-to${to.onlyWhenFlat ? ' flat-only' : ''}"><a href="${e(to.href)}">&#8617; in reply to @${e(to.username)} #${e(to.number as unknown as string)}</a></p>`
    if (p.deleted) html += '<p class="placeholder">[deleted]</p>'
    else if (p.hidden) {
      html += p.body_html
        ? `<p class="notice">This post is hidden pending review.${mine ? ` <a href="/p/${id}/edit">Edit it once to ask a moderator to review it.</a>` : ''}</p><div class="post-body">${p.body_html}</div>`
        : '<p class="placeholder">[hidden pending review]</p>'
    } else if (p.mutedAuthor) html += `<details class="muted-post"><summary>Post by a muted member &#8212; show</summary><div class="post-body">${p.body_html}</div></details>`
    else html += `<div class="post-body">${p.body_html}</div>`
    for (const each of p.polls ?? []) html += poll(each, data)
    if (!p.deleted) {
      const likes = `<span data-like-count-for="${id}">${e(p.like_count as unknown as string)}</span>`
      html += '<footer>'
      if (me) {
        if (mine) html += `<span class="likes" title="Likes" data-like-count-for="${id}">${e(p.like_count as unknown as string)}</span>`
        else {
          // Submits the page's one post-action form (views/layouts/main.hbs) to its own address: no form and token per post.
          html += p.liked
            ? `<button form="post-action" formaction="/p/${id}/like" name="like" value="0" class="link like liked" aria-pressed="true">${likes} Liked</button>`
            : `<button form="post-action" formaction="/p/${id}/like" name="like" value="1" class="link like" aria-pressed="false">${likes} Like</button>`
        }
        if (root.canReply) html += `<a href="/t/${threadId}/reply/${id}">Reply</a><a href="/t/${threadId}/reply/${id}?quote=1">Quote</a>`
        if (p.canEdit) html += `<a href="/p/${id}/edit">Edit</a>`
        // The flag form comes from the page's one copy (thread.hbs, filled in by hearth.js); without scripts the link opens it on a page of its own.
        if (root.canFlag && !mine) html += `<a class="flag" href="/p/${id}/flag">Flag</a>`
        if (p.canEdit || root.canModerate) {
          html += `<details class="more"><summary>More</summary><button form="post-action" formaction="/p/${id}/delete" class="danger small">Delete${p.depth === 0 ? ' thread' : ''}</button></details>`
        }
      } else html += `<span class="likes" data-like-count-for="${id}">${e(p.like_count as unknown as string)}</span><a href="/login?next=/p/${id}">Log in to reply</a>`
      html += '</footer>'
    }
    const children = p.children ?? []
    if (children.length > 0) {
      html += `<details class="replies" open><summary>${plural(children.length, 'reply', 'replies')}</summary>`
      for (const child of children) html += render(child, root, data)
      html += '</details>'
    }
    if (p.continues) html += `<p class="continue"><a href="/t/${threadId}/${e(root.thread?.slug ?? '')}?post=${id}">Continue this thread (${plural(p.reply_count, 'reply', 'replies')}) &#8594;</a></p>`
    return `${html}</article>`
  }

  return ((context: PostContext, options?: { data?: { root?: PostRoot } }) =>
    render(context, options?.data?.root ?? {}, options?.data)) as unknown as Handlebars.Template
}
