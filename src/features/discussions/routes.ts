import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { fieldErrors, Invalid, NotFound, parse } from '../../core/errors.js'
import { FormBody, handleForm, IdParams, requireAdmin, requireUser, safeNext } from '../../core/http.js'
import { rateLimit } from '../../core/rate-limits.js'
import { IDEA_COMMENTS_CATEGORY } from './categories.js'
import { atomFeed } from './feeds.js'
import {
  CategoryPageQuery,
  FeedParams,
  READING_LISTS,
  ReadingInput,
  ReadingListQuery,
  ReplyInput,
  ReplyPageParams,
  ReplyPageQuery,
  SEARCH_PERIODS,
  SEARCH_SORTS,
  SEARCH_TYPES,
  SlugParams,
  ThreadModerationInput,
  ThreadPageQuery,
  TOP_PERIODS,
} from './schemas.js'
import { imageFromForm } from '../uploads/routes.js'
import type { Category } from './categories.js'
import type { PostView } from './service.js'
import { viewerKey } from './thread-views.js'
import { pollJson } from '../polls/routes.js'
import { NOTIFICATION_LEVELS } from '../notifications/schemas.js'

/** User agents of crawlers and link previews, whose visits are not views. */
const ROBOT = /bot|crawl|spider|slurp|facebookexternalhit|preview/i

const SEARCH_TYPE_LABELS = { all: 'All', posts: 'Posts', ideas: 'Ideas', members: 'Members' } as const
const SEARCH_SORT_LABELS = { relevance: 'Relevance', newest: 'Newest', likes: 'Most liked' } as const
const SEARCH_PERIOD_LABELS = { day: 'Last day', week: 'Last week', month: 'Last month', year: 'Last year' } as const

const LIST_LABELS = { latest: 'Latest', top: 'Top', new: 'New', unread: 'Unread' } as const
const PERIOD_LABELS = { day: 'Today', week: 'This week', month: 'This month', year: 'This year', all: 'All time' } as const

/** Front page, categories, threads, replies, likes, edits, search and feeds — pages and API. */
export async function discussionRoutes(app: FastifyInstance): Promise<void> {
  const { categories, discussions, search, config, threadViews, notificationLevels } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()
  const postLimit = { preHandler: rateLimit(app, 'post', config.rateLimits.post, 60_000) }
  const viewerOf = (req: FastifyRequest) => {
    // A thread page settles its session with its own statement; reading the viewer before that would read a guest.
    if (req.sessionRef) throw new Error('the session of this page is not settled yet')
    return categories.viewer(req.user)
  }

  // A category's old address (renamed, or deleted with its threads moved) answers 301 to
  // where it leads now, when the viewer may see that; otherwise the 404 stands.
  async function categoryOrMoved(req: FastifyRequest, reply: FastifyReply, slug: string, to: (slug: string) => string) {
    const viewer = await viewerOf(req)
    try {
      return await categories.bySlug(viewer, slug)
    } catch (err) {
      if (!(err instanceof NotFound)) throw err
      const moved = await categories.movedTo(viewer, slug)
      if (!moved) throw err
      const query = req.url.indexOf('?')
      await reply.redirect(to(moved) + (query >= 0 ? req.url.slice(query) : ''), 301)
      return null
    }
  }

  // ── pages ───────────────────────────────────────────────────────────────────
  const guestCache = { config: { guestCache: true } }

  r.get('/', { ...guestCache, schema: { querystring: ReadingListQuery } }, async (req, reply) => {
    const viewer = await viewerOf(req)
    const [all, page] = await Promise.all([categories.visible(viewer), discussions.readingList(viewer, req.query)])
    // Idea comment threads live on their ideas' pages (the reading lists leave them out too):
    // listed here they would look like a forum category nobody can start a thread in.
    const visible = all.filter((c) => c.slug !== IDEA_COMMENTS_CATEGORY)
    const [stats, upcomingEvents] = await Promise.all([discussions.categoryStats(visible.map((c) => c.id)), app.hearth.meetups.upcoming(req.user, 3)])
    const withStats = visible.map((c) => ({ ...c, threads: stats.get(c.id)?.threads ?? 0, last_post_at: stats.get(c.id)?.last_post_at ?? null }))
    return reply.view('discussions/home', {
      title: 'Home',
      categories: withStats.filter((c) => c.parent_id === null).map((c) => ({ ...c, children: withStats.filter((s) => s.parent_id === c.id) })),
      ...page,
      tabs: READING_LISTS.map((list) => ({ list, label: LIST_LABELS[list], current: list === page.list, href: list === 'latest' ? '/' : `/?list=${list}` })),
      periods: page.list === 'top' ? TOP_PERIODS.map((period) => ({ period, label: PERIOD_LABELS[period], current: period === page.period })) : [],
      notFirstPage: !!req.query.cursor,
      moreHref: page.nextCursor ? `/?list=${page.list}${page.list === 'top' ? `&period=${page.period}` : ''}&cursor=${page.nextCursor}` : null,
      isLatest: page.list === 'latest',
      upcomingEvents,
    })
  })

  r.get('/c/:slug', { ...guestCache, schema: { params: SlugParams, querystring: CategoryPageQuery } }, async (req, reply) => {
    const viewer = await viewerOf(req)
    const category = await categoryOrMoved(req, reply, req.params.slug, (slug) => `/c/${slug}`)
    if (!category) return reply
    const { cursor } = req.query
    const page = await discussions.listThreads(category, cursor, req.user?.id)
    const subcategories = (await categories.visible(viewer)).filter((c) => c.parent_id === category.id)
    return reply.view('discussions/category', {
      title: category.name,
      category,
      subcategories,
      ...page,
      notFirstPage: !!cursor,
      canStart: categories.canStart(viewer, category),
      signedOut: !req.user,
      notificationLevel: req.user ? { level: await notificationLevels.forCategory(viewer, category.id), from: 'own' } : null,
      levelOptions: NOTIFICATION_LEVELS,
      levelAction: `/c/${category.slug}/notification-level`,
      levelSaved: req.query.level === 'saved',
    })
  })

  const newThreadPage = async (req: FastifyRequest, slug: string) => {
    const viewer = await viewerOf(req)
    const category = await categories.bySlug(viewer, slug)
    requireUser(req)
    return { viewer, category, page: { title: `New thread in ${category.name}`, category } }
  }

  r.get('/c/:slug/new', { schema: { params: SlugParams } }, async (req, reply) => {
    if (!(await categoryOrMoved(req, reply, req.params.slug, (slug) => `/c/${slug}/new`))) return reply
    const { page } = await newThreadPage(req, req.params.slug)
    return reply.view('discussions/new-thread', { ...page, values: {} })
  })

  // Forms that carry a post may carry an image (the file field, without JavaScript): it is
  // stored first and its markdown appended, so a preview or a refused post keeps it.
  const withImage = { ...postLimit, config: { uploads: true } }

  r.post('/c/:slug/new', { ...withImage, schema: { params: SlugParams, body: FormBody } }, async (req, reply) => {
    const { viewer, category, page } = await newThreadPage(req, req.params.slug)
    const { form, errors, status } = await imageFromForm(app, req, req.body)
    if (errors) return reply.code(status ?? 400).view('discussions/new-thread', { ...page, values: form, errors })
    if (form.preview) return reply.view('discussions/new-thread', { ...page, values: form, previewHtml: discussions.preview(form.body), previewed: true })
    return handleForm(reply, 'discussions/new-thread', form, async () => {
      const thread = await discussions.createThread(viewer, { ...form, categoryId: category.id }, requestMeta(req))
      // A held thread waits for approval; its author sees it there, marked as awaiting review.
      return reply.redirect(thread.held ? thread.held.url : thread.url, 303)
    }, page)
  })

  async function renderThread(req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    const { id } = parse(IdParams, req.params)
    const query = parse(ThreadPageQuery, req.query)
    // A post by number (`?n=`: a "#12" link, "where you left off"): its page, at its anchor.
    if (query.n !== undefined && status === 200) {
      await app.settleSession(req, reply)
      const viewer = await viewerOf(req)
      return reply.redirect(await discussions.postUrl(viewer, await discussions.postIdByNumber(viewer, id, query.n)))
    }
    // A member's session is looked up by the page's own statement (sessionInPage): one round trip.
    const page = await discussions.threadPage(app.pendingViewer(req, reply) ?? (await viewerOf(req)), id, { after: query.after, rootPostId: query.post, cont: query.cont })
    const viewer = page.viewer
    return reply.code(status).view('discussions/thread', {
      title: page.thread.title,
      ...page,
      moveTargets: page.canModerate ? (await categories.visible(viewer)).filter((c) => categories.canModerate(viewer, c.id)) : [],
      values: {},
      flagged: query.flagged,
      // The viewer's own replies here that wait for approval: shown to them alone, marked as such.
      // Known with the page: a member with nothing held in this thread costs no query here.
      pendingMine: page.heldHere ? await app.hearth.spam.mine(viewer, id) : [],
      levelOptions: NOTIFICATION_LEVELS,
      levelAction: `/t/${page.thread.id}/notification-level`,
      levelSaved: query.level === 'saved',
      ...extra,
    })
  }

  // A view is counted after the page is sent, also when the guest cache sent it; robots are not counted.
  const countView = async (req: FastifyRequest, reply: FastifyReply) => {
    if (reply.statusCode !== 200 || ROBOT.test(req.headers['user-agent'] ?? '')) return
    const id = Number((req.params as { id?: string }).id)
    if (Number.isSafeInteger(id) && id > 0) threadViews.record(id, viewerKey(req.user?.id, req.ip))
  }
  const threadPage = { ...guestCache, config: { ...guestCache.config, sessionInPage: true }, onResponse: countView, schema: { params: IdParams.extend({ slug: z.string().optional() }), querystring: ThreadPageQuery } }
  r.get('/t/:id', threadPage, async (req, reply) => renderThread(req, reply))
  r.get('/t/:id/:slug', threadPage, async (req, reply) => renderThread(req, reply))

  r.post('/t/:id/replies', { ...withImage, schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params
    const viewer = await viewerOf(req)
    requireUser(req)
    const { form, errors: imageErrors } = await imageFromForm(app, req, req.body)
    if (form.preview && !imageErrors) {
      // The same form again, with the rendered post above the text; nothing is saved.
      const previewHtml = discussions.preview(form.body)
      if (form.parentId) {
        const { post, thread } = await discussions.readablePost(viewer, Number(form.parentId) || 0, id)
        return reply.view('discussions/reply', { title: `Reply to ${thread.title}`, thread, parent: post, values: form, previewHtml, previewed: true })
      }
      return renderThread(req, reply, { values: form, previewHtml, previewed: true })
    }
    try {
      if (imageErrors) throw new Invalid(imageErrors)
      const post = await discussions.reply(viewer, id, form, requestMeta(req))
      if (post.held) return reply.redirect(post.held.url, 303)
      // A comment form elsewhere (an idea's page) returns there.
      const back = safeNext(form.returnTo, '')
      return reply.redirect(back ? `${back}#p${post.id}` : await discussions.postUrl(viewer, post.id!), 303)
    } catch (err) {
      const fields = fieldErrors(err)
      if (!fields) throw err
      // A parent that is not an id (`parentId=abc`) was one of the refused fields: the thread page shows them.
      const parentId = ReplyInput.pick({ parentId: true }).safeParse(form).data?.parentId
      if (parentId) {
        // The parent is shown again only if the viewer may still read it (not deleted meanwhile).
        const { post, thread } = await discussions.readablePost(viewer, parentId, id)
        return reply.code(400).view('discussions/reply', { title: `Reply to ${thread.title}`, thread, parent: post, values: form, errors: fields })
      }
      return renderThread(req, reply, { values: form, errors: fields }, 400)
    }
  })

  r.get('/t/:id/reply/:postId', { schema: { params: ReplyPageParams, querystring: ReplyPageQuery } }, async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    const target = await discussions.replyTarget(viewer, req.params.id, req.params.postId, req.query.quote === '1')
    return reply.view('discussions/reply', { title: `Reply to ${target.thread.title}`, thread: target.thread, parent: target.parent, values: { body: target.body } })
  })

  r.post('/t/:id/moderate', { schema: { params: IdParams, body: ThreadModerationInput } }, async (req, reply) => {
    requireUser(req)
    const { id } = req.params
    const input = req.body
    const viewer = await viewerOf(req)
    const patch =
      input.action === 'move' ? { categoryId: input.categoryId, reason: input.reason }
      : input.action === 'pin' || input.action === 'unpin' ? { pinned: input.action === 'pin', reason: input.reason }
      : { locked: input.action === 'lock', reason: input.reason }
    const thread = await discussions.moderateThread(viewer, id, patch)
    return reply.redirect(thread.url, 303)
  })

  r.get('/p/:id', { schema: { params: IdParams } }, async (req, reply) => {
    const viewer = await viewerOf(req)
    return reply.redirect(await discussions.postUrl(viewer, req.params.id))
  })

  r.get('/p/:id/edit', { schema: { params: IdParams } }, async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    const { post, thread } = await discussions.readablePost(viewer, req.params.id)
    return reply.view('discussions/edit', { title: 'Edit post', post, thread, values: { body: post.body_md, title: thread.title } })
  })

  r.post('/p/:id/edit', { ...withImage, schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    const { id } = req.params
    const { post, thread } = await discussions.readablePost(viewer, id)
    const { form, errors, status } = await imageFromForm(app, req, req.body)
    if (errors) return reply.code(status ?? 400).view('discussions/edit', { title: 'Edit post', post, thread, values: form, errors })
    if (form.preview) return reply.view('discussions/edit', { title: 'Edit post', post, thread, values: form, previewHtml: discussions.preview(form.body), previewed: true })
    return handleForm(reply, 'discussions/edit', form, async () => {
      const edited = await discussions.edit(viewer, id, form)
      return reply.redirect(edited.url, 303)
    }, { title: 'Edit post', post, thread })
  })

  r.post('/p/:id/delete', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    const { id } = req.params
    const { post, thread } = await discussions.visiblePost(viewer, id)
    await discussions.delete(viewer, id, req.body.reason ?? '')
    if (post.depth === 0) {
      const category = await categories.byId(viewer, thread.category_id)
      return reply.redirect(`/c/${category.slug}`, 303)
    }
    return reply.redirect(await discussions.postUrl(viewer, id), 303)
  })

  r.post('/p/:id/like', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    const { id } = req.params
    await discussions.setLike(viewer, id, req.body.like !== '0')
    return reply.redirect(await discussions.postUrl(viewer, id), 303)
  })

  // One post's HTML as the thread page shows it, without the page around it: the composer
  // inserts a reply it just posted (static/js/composer.js).
  r.get('/p/:id/fragment', { schema: { params: IdParams } }, async (req, reply) => {
    const found = await discussions.postView(await viewerOf(req), req.params.id)
    reply.header('cache-control', 'private, no-store')
    return reply.view('discussions/post-fragment', { fragment: true, ...found })
  })

  r.get('/p/:id/revisions', { schema: { params: IdParams } }, async (req, reply) => {
    const viewer = await viewerOf(req)
    const history = await discussions.revisions(viewer, req.params.id)
    return reply.view('discussions/revisions', { title: 'Edit history', ...history })
  })

  app.get('/search', guestCache, async (req, reply) => {
    const viewer = await viewerOf(req)
    const found = await handleSearch(() => search.search(viewer, req.query), req.query)
    const q = found.query as Partial<Record<string, string | number>>
    // Links keep every filter: the kind tabs, "more results".
    const href = (changes: Record<string, string | number | undefined>) => {
      const params = new URLSearchParams()
      for (const key of ['q', 'type', 'author', 'category', 'after', 'before', 'period', 'sort', 'page']) {
        const value = key in changes ? changes[key] : q[key]
        if (value !== undefined && value !== '' && !(key === 'type' && value === 'all') && !(key === 'sort' && value === 'relevance') && !(key === 'page' && value === 1)) params.set(key, String(value))
      }
      return `/search?${params.toString()}`
    }
    const page = Number(q.page ?? 1)
    const more = q.type === 'ideas' ? found.ideasMore : q.type === 'members' ? found.membersMore : found.hasMore
    return reply.view('discussions/search', {
      title: q.q ? `Search: ${q.q}` : 'Search',
      categories: await categories.visible(viewer),
      ...found,
      types: SEARCH_TYPES.map((type) => ({ type, label: SEARCH_TYPE_LABELS[type], current: (q.type ?? 'all') === type, href: href({ type, page: undefined }) })),
      sorts: SEARCH_SORTS.map((sort) => ({ sort, label: SEARCH_SORT_LABELS[sort], current: (q.sort ?? 'relevance') === sort })),
      periods: SEARCH_PERIODS.map((period) => ({ period, label: SEARCH_PERIOD_LABELS[period], current: q.period === period })),
      showPosts: (q.type ?? 'all') === 'all' || q.type === 'posts',
      showIdeas: found.ideas.length > 0 || q.type === 'ideas',
      showMembers: found.members.length > 0 || q.type === 'members',
      allIdeasHref: href({ type: 'ideas', page: undefined }),
      allMembersHref: href({ type: 'members', page: undefined }),
      nextHref: more ? href({ page: page + 1 }) : null,
      prevHref: page > 1 ? href({ page: page - 1 }) : null,
      clearHref: q.q ? `/search?q=${encodeURIComponent(String(q.q))}` : '/search',
      nothing: !!q.q && !('errors' in found) && found.results.length === 0 && found.ideas.length === 0 && found.members.length === 0,
    })
  })

  async function handleSearch(run: () => ReturnType<typeof search.search>, raw: unknown) {
    try {
      return await run()
    } catch (err) {
      const fields = fieldErrors(err)
      if (!fields) throw err
      // The form comes back as it was typed, with the field's message.
      const typed = Object.fromEntries(Object.entries((raw ?? {}) as Record<string, unknown>).filter(([, v]) => typeof v === 'string')) as Record<string, string>
      return { query: typed, results: [], hasMore: false, ideas: [], ideasMore: false, members: [], membersMore: false, filtered: false, errors: fields }
    }
  }

  // ── feeds: public content only, whoever asks ─────────────────────────────────
  const guest = { user: null, moderates: new Set<number>() }
  async function sendFeed(reply: FastifyReply, categoryIds: number[], title: string, path: string, selfPath: string) {
    const threads = await discussions.feedThreads(categoryIds)
    return reply.type('application/atom+xml; charset=utf-8').send(
      atomFeed({
        id: `${config.baseUrl}${path}`,
        title: `${await app.hearth.community.name()}: ${title}`,
        url: `${config.baseUrl}${path}`,
        selfUrl: `${config.baseUrl}${selfPath}`,
        entries: threads.map((t) => ({
          id: `${config.baseUrl}/t/${t.id}`,
          title: t.title,
          url: `${config.baseUrl}${t.url}`,
          author: t.author,
          published: t.created_at,
          updated: t.edited_at ?? t.created_at,
          summaryMarkdown: t.body_md,
        })),
      }),
    )
  }

  app.get('/feeds/latest.atom', guestCache, async (_req, reply) =>
    sendFeed(reply, await categories.visibleIds(guest), 'latest threads', '/', '/feeds/latest.atom'),
  )

  r.get('/feeds/c/:file', { ...guestCache, schema: { params: FeedParams } }, async (req, reply) => {
    const { file } = req.params
    if (!file.endsWith('.atom')) throw new NotFound()
    const found = await categoryOrMoved(req, reply, file.slice(0, -'.atom'.length), (slug) => `/feeds/c/${slug}.atom`)
    if (!found) return reply
    const category = await categories.bySlug(guest, found.slug)
    return sendFeed(reply, [category.id], category.name, `/c/${category.slug}`, `/feeds/c/${category.slug}.atom`)
  })

  // ── JSON API ──────────────────────────────────────────────────────────────────
  app.get('/api/v1/categories', async (req) => {
    const viewer = await viewerOf(req)
    return { categories: (await categories.visible(viewer)).map(categoryJson) }
  })

  app.post('/api/v1/categories', async (req, reply) => {
    const user = await requireAdmin(req)
    return reply.code(201).send({ category: categoryJson(await categories.create(user.id, req.body)) })
  })

  r.patch('/api/v1/categories/:id', { schema: { params: IdParams } }, async (req) => {
    const user = await requireAdmin(req)
    const category = await categories.update(user.id, req.params.id, req.body)
    app.guestCacheClear?.()
    return { category: categoryJson(category) }
  })

  r.delete('/api/v1/categories/:id', { schema: { params: IdParams } }, async (req) => {
    const user = await requireAdmin(req)
    const { moved, into } = await categories.remove(user.id, req.params.id, req.body)
    app.guestCacheClear?.()
    return { moved, into: categoryJson(into) }
  })

  r.get('/api/v1/categories/:slug/threads', { schema: { params: SlugParams, querystring: CategoryPageQuery } }, async (req, reply) => {
    const category = await categoryOrMoved(req, reply, req.params.slug, (slug) => `/api/v1/categories/${slug}/threads`)
    if (!category) return reply
    const page = await discussions.listThreads(category, req.query.cursor)
    return { category: categoryJson(category), threads: page.threads.map(threadJson), nextCursor: page.nextCursor }
  })

  r.get('/api/v1/threads', { schema: { querystring: ReadingListQuery } }, async (req) => {
    const page = await discussions.readingList(await viewerOf(req), req.query)
    return {
      list: page.list,
      period: page.list === 'top' ? page.period : undefined,
      threads: page.threads.map((t) => ({ ...threadJson(t), category: { name: t.category_name, slug: t.category_slug }, createdAt: t.created_at.toISOString(), ...(page.list === 'top' ? { score: t.score } : {}) })),
      nextCursor: page.nextCursor,
    }
  })

  app.post('/api/v1/threads', postLimit, async (req, reply) => {
    requireUser(req)
    const thread = await discussions.createThread(await viewerOf(req), req.body, requestMeta(req))
    // Held for approval: accepted, not yet published (202), with where the author can see it.
    if (thread.held) return reply.code(202).send({ status: 'held', heldId: thread.held.id, url: thread.held.url })
    return reply.code(201).send({ id: thread.id, title: thread.title, url: thread.url, postId: thread.postId, categoryId: thread.category_id })
  })

  r.get('/api/v1/threads/:id', { schema: { params: IdParams, querystring: ThreadPageQuery } }, async (req) => {
    const query = req.query
    const page = await discussions.threadPage(await viewerOf(req), req.params.id, { after: query.after, rootPostId: query.post, cont: query.cont })
    return {
      thread: {
        id: page.thread.id, title: page.thread.title, url: page.thread.url, categoryId: page.category.id, pinned: page.thread.pinned, locked: page.thread.locked,
        replyCount: page.thread.reply_count, viewCount: page.thread.view_count, postCount: page.thread.last_post_number,
        participantCount: page.thread.participant_count,
        participants: page.thread.participants.map((p) => ({ username: p.username, displayName: p.display_name, posts: p.post_count })),
      },
      resume: page.resume ? { url: page.resume.url, unread: page.resume.unread } : null,
      posts: page.posts.map(postJson),
      nextAfter: page.nextAfter,
      nextCont: page.nextCont,
    }
  })

  r.patch('/api/v1/threads/:id', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    const thread = await discussions.moderateThread(await viewerOf(req), req.params.id, req.body)
    return { thread: { id: thread.id, pinned: thread.pinned, locked: thread.locked, categoryId: thread.category_id, url: thread.url } }
  })

  r.post('/api/v1/threads/:id/posts', { ...postLimit, schema: { params: IdParams } }, async (req, reply) => {
    requireUser(req)
    const post = await discussions.reply(await viewerOf(req), req.params.id, req.body, requestMeta(req))
    if (post.held) return reply.code(202).send({ status: 'held', heldId: post.held.id, url: post.held.url })
    return reply.code(201).send({ id: post.id, threadId: post.threadId, parentId: post.parentId, url: post.url })
  })

  r.post('/api/v1/threads/:id/reading', { schema: { params: IdParams, body: ReadingInput } }, async (req, reply) => {
    requireUser(req)
    await discussions.recordReadingTime(await viewerOf(req), req.params.id, req.body.seconds)
    return reply.code(204).send()
  })

  r.patch('/api/v1/posts/:id', { ...postLimit, schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return discussions.edit(await viewerOf(req), req.params.id, req.body)
  })

  r.delete('/api/v1/posts/:id', { schema: { params: IdParams } }, async (req, reply) => {
    requireUser(req)
    await discussions.delete(await viewerOf(req), req.params.id)
    return reply.code(204).send()
  })

  r.put('/api/v1/posts/:id/like', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return discussions.setLike(await viewerOf(req), req.params.id, true)
  })

  r.delete('/api/v1/posts/:id/like', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return discussions.setLike(await viewerOf(req), req.params.id, false)
  })

  // The Markdown that quotes a post (`> @name wrote:` and the post, line by line), for the inline composer's Quote.
  r.get('/api/v1/posts/:id/quote', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    const target = await discussions.replyTarget(await viewerOf(req), undefined, req.params.id, true)
    return { body: target.body }
  })

  r.get('/api/v1/posts/:id/revisions', { schema: { params: IdParams } }, async (req) => {
    const history = await discussions.revisions(await viewerOf(req), req.params.id)
    return {
      current: { body: history.post.body_md, editedAt: history.post.edited_at, ...(history.post.depth === 0 ? { title: history.thread.title } : {}) },
      // Each earlier version (newest first): its text and, on an opening post, its title; who replaced it, when and why.
      revisions: history.revisions.map((r) => ({ number: r.number, body: r.body_md, title: r.title, editor: r.editor, reason: r.reason, createdAt: r.created_at })),
    }
  })

  app.get('/api/v1/search', async (req) => {
    const found = await search.search(await viewerOf(req), req.query)
    return { results: found.results, hasMore: found.hasMore, ideas: found.ideas, ideasMore: found.ideasMore, members: found.members.map(({ initials: _i, hue: _h, ...m }) => m), membersMore: found.membersMore }
  })
}

function categoryJson(c: Category) {
  return {
    id: c.id, name: c.name, slug: c.slug, description: c.description, parentId: c.parent_id, visibility: c.visibility,
    minTrustLevel: c.min_trust_level, whoCanStart: c.who_can_start, minTrustToStart: c.min_trust_to_start, color: c.color, position: c.position,
  }
}

function threadJson(t: { id: number; title: string; url: string; pinned: boolean; locked: boolean; reply_count: number; view_count: number; last_post_at: Date; author_username: string; last_poster_username: string | null; unread: number | null; resumeUrl: string }) {
  return {
    id: t.id, title: t.title, url: t.url, pinned: t.pinned, locked: t.locked, replyCount: t.reply_count, viewCount: t.view_count,
    lastPostAt: t.last_post_at.toISOString(), author: t.author_username, lastPoster: t.last_poster_username,
    // For a member who has read the thread: how many posts are new, and the link to the first of them.
    ...(t.unread !== null ? { unread: t.unread, resumeUrl: t.resumeUrl } : {}),
  }
}

function postJson(p: PostView): Record<string, unknown> {
  return {
    id: p.id,
    number: p.post_number,
    parentId: p.parent_id,
    author: p.author_username,
    html: p.body_html,
    deleted: p.deleted,
    hidden: p.hidden,
    likeCount: p.like_count,
    liked: p.liked,
    createdAt: p.created_at.toISOString(),
    editedAt: p.edited_at?.toISOString() ?? null,
    revisions: p.revision_count,
    replies: p.children.map(postJson),
    continues: p.continues,
    // Polls written in the post (features/polls), as GET /api/v1/polls/:id gives them.
    ...(p.polls.length > 0 ? { polls: p.polls.map(pollJson) } : {}),
  }
}

/** Where a request came from, for the spam checker. */
function requestMeta(req: FastifyRequest) {
  return { ip: req.ip, userAgent: req.headers['user-agent'] ?? null }
}
