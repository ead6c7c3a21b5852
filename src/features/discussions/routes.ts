import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { fieldErrors, NotFound, parse } from '../../core/errors.js'
import { handleForm, requireUser, safeNext } from '../../core/http.js'
import { rateLimit } from '../../core/rate-limits.js'
import { atomFeed } from './feeds.js'
import { IdParams, ReadingInput, SlugParams, ThreadModerationInput, ThreadPageQuery } from './schemas.js'
import type { PostView } from './service.js'

type Form = Record<string, string | undefined>

/** Front page, categories, threads, replies, likes, edits, search and feeds — pages and API. */
export async function discussionRoutes(app: FastifyInstance): Promise<void> {
  const { categories, discussions, search, config } = app.hearth
  const postLimit = { preHandler: rateLimit(app, 'post', config.rateLimits.post, 60_000) }
  const viewerOf = (req: FastifyRequest) => categories.viewer(req.user)

  // ── pages ───────────────────────────────────────────────────────────────────
  const guestCache = { config: { guestCache: true } }

  app.get('/', guestCache, async (req, reply) => {
    const viewer = await viewerOf(req)
    const [visible, latest] = await Promise.all([categories.visible(viewer), discussions.latest(viewer, 25)])
    const stats = await discussions.categoryStats(visible.map((c) => c.id))
    const withStats = visible.map((c) => ({ ...c, threads: stats.get(c.id)?.threads ?? 0, last_post_at: stats.get(c.id)?.last_post_at ?? null }))
    return reply.view('discussions/home', {
      title: 'Home',
      categories: withStats.filter((c) => c.parent_id === null).map((c) => ({ ...c, children: withStats.filter((s) => s.parent_id === c.id) })),
      latest,
    })
  })

  app.get('/c/:slug', guestCache, async (req, reply) => {
    const viewer = await viewerOf(req)
    const category = await categories.bySlug(viewer, parse(SlugParams, req.params).slug)
    const cursor = (req.query as Form).cursor
    const page = await discussions.listThreads(category, cursor)
    const subcategories = (await categories.visible(viewer)).filter((c) => c.parent_id === category.id)
    return reply.view('discussions/category', {
      title: category.name,
      category,
      subcategories,
      ...page,
      notFirstPage: !!cursor,
      canStart: categories.canStart(viewer, category),
      signedOut: !req.user,
    })
  })

  const newThreadPage = async (req: FastifyRequest) => {
    const viewer = await viewerOf(req)
    const category = await categories.bySlug(viewer, parse(SlugParams, req.params).slug)
    requireUser(req)
    return { viewer, category, page: { title: `New thread in ${category.name}`, category } }
  }

  app.get('/c/:slug/new', async (req, reply) => {
    const { page } = await newThreadPage(req)
    return reply.view('discussions/new-thread', { ...page, values: {} })
  })

  app.post('/c/:slug/new', postLimit, async (req, reply) => {
    const { viewer, category, page } = await newThreadPage(req)
    const form = req.body as Form
    return handleForm(reply, 'discussions/new-thread', form, async () => {
      const thread = await discussions.createThread(viewer, { ...form, categoryId: category.id })
      return reply.redirect(thread.url, 303)
    }, page)
  })

  async function renderThread(req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    const { id } = parse(IdParams, req.params)
    const query = parse(ThreadPageQuery, req.query)
    const viewer = await viewerOf(req)
    const page = await discussions.threadPage(viewer, id, { after: query.after, rootPostId: query.post, cont: query.cont })
    return reply.code(status).view('discussions/thread', {
      title: page.thread.title,
      ...page,
      moveTargets: page.canModerate ? (await categories.visible(viewer)).filter((c) => categories.canModerate(viewer, c.id)) : [],
      values: {},
      flagged: (req.query as Form).flagged,
      ...extra,
    })
  }

  app.get('/t/:id', guestCache, async (req, reply) => renderThread(req, reply))
  app.get('/t/:id/:slug', guestCache, async (req, reply) => renderThread(req, reply))

  app.post('/t/:id/replies', postLimit, async (req, reply) => {
    const { id } = parse(IdParams, req.params)
    const form = req.body as Form
    const viewer = await viewerOf(req)
    requireUser(req)
    try {
      const post = await discussions.reply(viewer, id, form)
      // A comment form elsewhere (an idea's page) returns there.
      const back = safeNext(form.returnTo, '')
      return reply.redirect(back ? `${back}#p${post.id}` : await discussions.postUrl(viewer, post.id), 303)
    } catch (err) {
      const fields = fieldErrors(err)
      if (!fields) throw err
      if (form.parentId) {
        const parentId = Number(form.parentId)
        // The parent is shown again only if the viewer may still read it (not deleted meanwhile).
        const { post, thread } = await discussions.readablePost(viewer, parentId, id)
        return reply.code(400).view('discussions/reply', { title: `Reply to ${thread.title}`, thread, parent: post, values: form, errors: fields })
      }
      return renderThread(req, reply, { values: form, errors: fields }, 400)
    }
  })

  app.get('/t/:id/reply/:postId', async (req, reply) => {
    requireUser(req)
    const { postId } = req.params as { postId: string }
    const viewer = await viewerOf(req)
    const { post, thread } = await discussions.readablePost(viewer, parse(IdParams, { id: postId }).id, parse(IdParams, req.params).id)
    const { username } = await app.hearth.db.selectFrom('users').select('username').where('id', '=', post.author_id).executeTakeFirstOrThrow()
    const quote = (req.query as Form).quote === '1' ? `> @${username} wrote:\n${post.body_md.split('\n').map((l) => `> ${l}`).join('\n')}\n\n` : ''
    return reply.view('discussions/reply', { title: `Reply to ${thread.title}`, thread, parent: { ...post, author_username: username }, values: { body: quote } })
  })

  app.post('/t/:id/moderate', async (req, reply) => {
    requireUser(req)
    const { id } = parse(IdParams, req.params)
    const input = parse(ThreadModerationInput, req.body)
    const viewer = await viewerOf(req)
    const patch =
      input.action === 'move' ? { categoryId: input.categoryId, reason: input.reason }
      : input.action === 'pin' || input.action === 'unpin' ? { pinned: input.action === 'pin', reason: input.reason }
      : { locked: input.action === 'lock', reason: input.reason }
    const thread = await discussions.moderateThread(viewer, id, patch)
    return reply.redirect(thread.url, 303)
  })

  app.get('/p/:id', async (req, reply) => {
    const viewer = await viewerOf(req)
    return reply.redirect(await discussions.postUrl(viewer, parse(IdParams, req.params).id))
  })

  app.get('/p/:id/edit', async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    const { post, thread } = await discussions.readablePost(viewer, parse(IdParams, req.params).id)
    return reply.view('discussions/edit', { title: 'Edit post', post, thread, values: { body: post.body_md, title: thread.title } })
  })

  app.post('/p/:id/edit', postLimit, async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    const { id } = parse(IdParams, req.params)
    const form = req.body as Form
    const { post, thread } = await discussions.readablePost(viewer, id)
    return handleForm(reply, 'discussions/edit', form, async () => {
      const edited = await discussions.edit(viewer, id, form)
      return reply.redirect(edited.url, 303)
    }, { title: 'Edit post', post, thread })
  })

  app.post('/p/:id/delete', async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    const { id } = parse(IdParams, req.params)
    const { post, thread } = await discussions.visiblePost(viewer, id)
    await discussions.delete(viewer, id, (req.body as Form).reason ?? '')
    if (post.depth === 0) {
      const category = await categories.byId(viewer, thread.category_id)
      return reply.redirect(`/c/${category.slug}`, 303)
    }
    return reply.redirect(await discussions.postUrl(viewer, id), 303)
  })

  app.post('/p/:id/like', async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    const { id } = parse(IdParams, req.params)
    await discussions.setLike(viewer, id, (req.body as Form).like !== '0')
    return reply.redirect(await discussions.postUrl(viewer, id), 303)
  })

  app.get('/p/:id/revisions', async (req, reply) => {
    const viewer = await viewerOf(req)
    const history = await discussions.revisions(viewer, parse(IdParams, req.params).id)
    return reply.view('discussions/revisions', { title: 'Edit history', ...history })
  })

  app.get('/search', guestCache, async (req, reply) => {
    const viewer = await viewerOf(req)
    const found = await handleSearch(() => search.search(viewer, req.query))
    return reply.view('discussions/search', { title: 'Search', categories: await categories.visible(viewer), ...found })
  })

  async function handleSearch(run: () => ReturnType<typeof search.search>) {
    try {
      return await run()
    } catch (err) {
      const fields = fieldErrors(err)
      if (!fields) throw err
      return { query: {}, results: [], hasMore: false, errors: fields }
    }
  }

  // ── feeds: public content only, whoever asks ─────────────────────────────────
  const guest = { user: null, moderates: new Set<number>() }
  async function sendFeed(reply: FastifyReply, categoryIds: number[], title: string, path: string, selfPath: string) {
    const threads = await discussions.feedThreads(categoryIds)
    return reply.type('application/atom+xml; charset=utf-8').send(
      atomFeed({
        id: `${config.baseUrl}${path}`,
        title: `${config.communityName}: ${title}`,
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

  app.get('/feeds/c/:file', guestCache, async (req, reply) => {
    const file = (req.params as { file: string }).file
    if (!file.endsWith('.atom')) throw new NotFound()
    const category = await categories.bySlug(guest, file.slice(0, -'.atom'.length))
    return sendFeed(reply, [category.id], category.name, `/c/${category.slug}`, `/feeds/c/${category.slug}.atom`)
  })

  // ── JSON API ──────────────────────────────────────────────────────────────────
  app.get('/api/v1/categories', async (req) => {
    const viewer = await viewerOf(req)
    return { categories: (await categories.visible(viewer)).map(categoryJson) }
  })

  app.post('/api/v1/categories', async (req, reply) => {
    const user = requireUser(req)
    if (user.role !== 'admin') throw new NotFound()
    return reply.code(201).send({ category: categoryJson(await categories.create(user.id, req.body)) })
  })

  app.get('/api/v1/categories/:slug/threads', async (req) => {
    const viewer = await viewerOf(req)
    const category = await categories.bySlug(viewer, parse(SlugParams, req.params).slug)
    const page = await discussions.listThreads(category, (req.query as Form).cursor)
    return { category: categoryJson(category), threads: page.threads.map(threadJson), nextCursor: page.nextCursor }
  })

  app.post('/api/v1/threads', postLimit, async (req, reply) => {
    requireUser(req)
    const thread = await discussions.createThread(await viewerOf(req), req.body)
    return reply.code(201).send({ id: thread.id, title: thread.title, url: thread.url, postId: thread.postId, categoryId: thread.category_id })
  })

  app.get('/api/v1/threads/:id', async (req) => {
    const query = parse(ThreadPageQuery, req.query)
    const page = await discussions.threadPage(await viewerOf(req), parse(IdParams, req.params).id, { after: query.after, rootPostId: query.post, cont: query.cont })
    return {
      thread: { id: page.thread.id, title: page.thread.title, url: page.thread.url, categoryId: page.category.id, pinned: page.thread.pinned, locked: page.thread.locked, replyCount: page.thread.reply_count },
      posts: page.posts.map(postJson),
      nextAfter: page.nextAfter,
      nextCont: page.nextCont,
    }
  })

  app.patch('/api/v1/threads/:id', async (req) => {
    requireUser(req)
    const thread = await discussions.moderateThread(await viewerOf(req), parse(IdParams, req.params).id, req.body)
    return { thread: { id: thread.id, pinned: thread.pinned, locked: thread.locked, categoryId: thread.category_id, url: thread.url } }
  })

  app.post('/api/v1/threads/:id/posts', postLimit, async (req, reply) => {
    requireUser(req)
    const post = await discussions.reply(await viewerOf(req), parse(IdParams, req.params).id, req.body)
    return reply.code(201).send({ id: post.id, threadId: post.threadId, url: post.url })
  })

  app.post('/api/v1/threads/:id/reading', async (req, reply) => {
    requireUser(req)
    const { seconds } = parse(ReadingInput, req.body)
    await discussions.recordReadingTime(await viewerOf(req), parse(IdParams, req.params).id, seconds)
    return reply.code(204).send()
  })

  app.patch('/api/v1/posts/:id', postLimit, async (req) => {
    requireUser(req)
    return discussions.edit(await viewerOf(req), parse(IdParams, req.params).id, req.body)
  })

  app.delete('/api/v1/posts/:id', async (req, reply) => {
    requireUser(req)
    await discussions.delete(await viewerOf(req), parse(IdParams, req.params).id)
    return reply.code(204).send()
  })

  app.put('/api/v1/posts/:id/like', async (req) => {
    requireUser(req)
    return discussions.setLike(await viewerOf(req), parse(IdParams, req.params).id, true)
  })

  app.delete('/api/v1/posts/:id/like', async (req) => {
    requireUser(req)
    return discussions.setLike(await viewerOf(req), parse(IdParams, req.params).id, false)
  })

  app.get('/api/v1/posts/:id/revisions', async (req) => {
    const history = await discussions.revisions(await viewerOf(req), parse(IdParams, req.params).id)
    return {
      current: { body: history.post.body_md, editedAt: history.post.edited_at },
      revisions: history.revisions.map((r) => ({ number: r.number, body: r.body_md, editor: r.editor, createdAt: r.created_at })),
    }
  })

  app.get('/api/v1/search', async (req) => {
    const found = await search.search(await viewerOf(req), req.query)
    return { results: found.results, hasMore: found.hasMore }
  })
}

function categoryJson(c: { id: number; name: string; slug: string; description: string; parent_id: number | null; visibility: string; min_trust_level: number; who_can_start: string }) {
  return { id: c.id, name: c.name, slug: c.slug, description: c.description, parentId: c.parent_id, visibility: c.visibility, minTrustLevel: c.min_trust_level, whoCanStart: c.who_can_start }
}

function threadJson(t: { id: number; title: string; url: string; pinned: boolean; locked: boolean; reply_count: number; last_post_at: Date; author_username: string; last_poster_username: string | null }) {
  return { id: t.id, title: t.title, url: t.url, pinned: t.pinned, locked: t.locked, replyCount: t.reply_count, lastPostAt: t.last_post_at.toISOString(), author: t.author_username, lastPoster: t.last_poster_username }
}

function postJson(p: PostView): Record<string, unknown> {
  return {
    id: p.id,
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
  }
}
