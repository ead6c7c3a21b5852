import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { Invalid, parse } from '../../core/errors.js'
import { can, refusal, viewerOf } from '../../core/guard.js'
import { type Form, FormBody, handleForm, IdParams, queryText, requireAdmin, requireMember, requireUser, safeNext } from '../../core/http.js'
import { rateLimit } from '../../core/rate-limits.js'
import { changelogFeed } from './feed.js'
import { BoardQuery, IDEA_STATUSES, IdeaPageQuery, NewIdeaInput, SimilarQuery, STATUS_LABELS, VoteLimits } from './schemas.js'
import { imageFromForm } from '../uploads/routes.js'

const MINUTE = 60 * 1000
const VoteLimitsBody = z.object({ limits: VoteLimits })
const SettingsQuery = z.object({ saved: queryText })

/** The idea board, idea pages, roadmap, changelog (and its feed), and the ideas API. */
export async function ideaRoutes(app: FastifyInstance): Promise<void> {
  const { ideas, beta, config, settings } = app.hearth
  const proposeLimit = { preHandler: rateLimit(app, 'post', config.rateLimits.post, MINUTE) }
  const r = app.withTypeProvider<ZodTypeProvider>()

  function boardLinks(query: BoardQuery) {
    const link = (changes: Record<string, string | undefined>) => {
      const params = new URLSearchParams()
      const merged = { sort: query.sort, status: query.status, tag: query.tag, ...changes }
      for (const [k, v] of Object.entries(merged)) if (v && !(k === 'sort' && v === 'top')) params.set(k, v)
      const qs = params.toString()
      return qs ? `/ideas?${qs}` : '/ideas'
    }
    return {
      sorts: (['top', 'trending', 'new'] as const).map((s) => ({ value: s, label: s[0]!.toUpperCase() + s.slice(1), url: link({ sort: s }), current: s === query.sort })),
      statuses: [
        { value: '', label: 'All', url: link({ status: undefined }), current: !query.status },
        ...IDEA_STATUSES.map((s) => ({ value: s, label: STATUS_LABELS[s], url: link({ status: s }), current: s === query.status })),
      ],
      clearTag: link({ tag: undefined }),
      next: (cursor: string) => link({ cursor }),
    }
  }

  // Why this member may not vote right now (suspended, silenced, unconfirmed address), or
  // null: the vote buttons give way to this reason (the guard refuses the vote anyway).
  async function voteBlock(req: FastifyRequest): Promise<string | null> {
    if (!req.user) return null
    return refusal(viewerOf(req.user), 'vote', undefined, { settings: await settings.all() })?.message ?? null
  }

  // Where a vote or follow form sends the member back to.
  function back(form: Form, id: number): string {
    return safeNext(form.next, `/ideas/${id}`)
  }

  // ── pages ───────────────────────────────────────────────────────────────────
  // Guests share short-lived copies of the public board pages (see core/guest-cache.ts).
  const guestCache = { config: { guestCache: true } }

  r.get('/ideas', { ...guestCache, schema: { querystring: BoardQuery } }, async (req, reply) => {
    const query = req.query
    const page = await ideas.board(query, req.user?.id)
    const links = boardLinks(query)
    return reply.view('ideas/board', {
      voteBlock: await voteBlock(req),
      title: 'Ideas',
      ...page,
      query,
      links,
      nextUrl: page.nextCursor ? links.next(page.nextCursor) : null,
      here: req.url,
    })
  })

  const newPage = { title: 'Propose an idea' }
  app.get('/ideas/new', { preHandler: requireMember }, async (_req, reply) => {
    return reply.view('ideas/new', { ...newPage, values: {} })
  })

  // Without JavaScript the form first comes here: if similar ideas exist it shows them
  // (vote instead?) with a "post anyway" button; otherwise, or when confirmed, it saves.
  r.post('/ideas', { ...proposeLimit, config: { uploads: true }, schema: { body: FormBody } }, async (req, reply) => {
    const user = requireUser(req)
    const { form, errors, status } = await imageFromForm(app, req, req.body)
    if (errors) return reply.code(status ?? 400).view('ideas/new', { ...newPage, values: form, errors })
    return handleForm(reply, 'ideas/new', form, async () => {
      if (form.confirm !== '1') {
        const input = parse(NewIdeaInput, form)
        // Titles say what an idea is; descriptions share too many everyday words to compare.
        const similar = await ideas.similar(input.title)
        if (similar.length > 0) return reply.view('ideas/new', { ...newPage, values: form, similar, checked: true })
      }
      const idea = await ideas.propose(user, form)
      return reply.redirect(`${idea.url}?proposed=1`, 303)
    }, newPage)
  })

  r.get('/ideas/:id', { ...guestCache, schema: { params: IdParams } }, async (req, reply) => {
    const { id } = req.params
    const found = await ideas.get(id, req.user?.id)
    return reply.view('ideas/show', await ideaPage(req, found.idea))
  })

  type IdeaView = Awaited<ReturnType<typeof ideas.get>>['idea']

  // May this member edit the idea (its author while open or under review, staff always)?
  async function mayEdit(req: FastifyRequest, idea: IdeaView): Promise<boolean> {
    if (!req.user) return false
    const subject = { idea: { author_id: idea.authorId, status: idea.status, merged_into_id: idea.mergedInto?.id ?? null } }
    return can(viewerOf(req.user), 'editIdea', subject, { settings: await settings.all() })
  }

  async function ideaPage(req: FastifyRequest, idea: IdeaView, extra: Record<string, unknown> = {}) {
    // Also re-rendered after a staff form's POST, whose query is not checked: bad notices are just not shown.
    const q = IdeaPageQuery.safeParse(req.query).data ?? {}
    const mergedFrom = Number(q.merged_from)
    const comments = idea.threadId
      ? await app.hearth.discussions.threadPage(await app.hearth.categories.viewer(req.user), idea.threadId)
      : null
    return {
      title: idea.title,
      idea,
      // The comment thread's opening post only points back here; its replies are the comments.
      comments: comments?.posts[0]?.children ?? [],
      thread: comments?.thread,
      canReply: comments?.canReply ?? false,
      replyBlock: comments?.replyBlock ?? null,
      canModerate: comments?.canModerate ?? false,
      betas: await beta.forIdea(idea.id),
      // Polls linked to this idea (features/polls) and the survey it came from (features/surveys).
      polls: await app.hearth.polls.forIdea(await app.hearth.categories.viewer(req.user), idea.id),
      fromSurvey: await app.hearth.surveys.sourceOfIdea(idea.id),
      statuses: IDEA_STATUSES.map((s) => ({ value: s, label: STATUS_LABELS[s], current: s === idea.status })),
      mergedNotice: Number.isInteger(mergedFrom) && mergedFrom > 0 && idea.mergedFrom.some((m) => m.id === mergedFrom) ? mergedFrom : null,
      proposed: q.proposed === '1',
      saved: q.saved === '1',
      voteBlock: await voteBlock(req),
      canEdit: await mayEdit(req, idea),
      here: `/ideas/${idea.id}`,
      values: {},
      ...extra,
    }
  }

  // Staff forms on the idea page re-render it with the field's message.
  async function staffForm(req: FastifyRequest, reply: FastifyReply, id: number, form: Form, action: (id: number) => Promise<string>) {
    const user = requireUser(req)
    const found = await ideas.get(id, user.id)
    return handleForm(reply, 'ideas/show', form, async () => reply.redirect(await action(id), 303), await ideaPage(req, found.idea))
  }

  const staffFormSchema = { schema: { params: IdParams, body: FormBody } }
  r.post('/ideas/:id/status', staffFormSchema, async (req, reply) =>
    staffForm(req, reply, req.params.id, req.body, async (id) => {
      await ideas.changeStatus(requireUser(req), id, req.body)
      return `/ideas/${id}#history`
    }),
  )

  r.post('/ideas/:id/merge', staffFormSchema, async (req, reply) =>
    staffForm(req, reply, req.params.id, req.body, async (id) => {
      const result = await ideas.merge(requireUser(req), id, req.body)
      return `/ideas/${result.intoId}?merged_from=${id}`
    }),
  )

  // Editing: the form shows the idea's current text; a bad field comes back with its message.
  const editPage = (idea: IdeaView) => ({ title: `Edit: ${idea.title}`, idea, staffEdit: false })
  r.get('/ideas/:id/edit', { schema: { params: IdParams } }, async (req, reply) => {
    const user = requireUser(req)
    const { idea } = await ideas.get(req.params.id, user.id)
    if (!(await mayEdit(req, idea))) {
      // Ask the service's guard for the reason, so the page says exactly why not.
      const why = refusal(viewerOf(user), 'editIdea', { idea: { author_id: idea.authorId, status: idea.status, merged_into_id: idea.mergedInto?.id ?? null } }, { settings: await settings.all() })
      return reply.code(why?.status ?? 403).view('ideas/show', await ideaPage(req, idea, { error: why?.message ?? 'You cannot edit this idea' }))
    }
    return reply.view('ideas/edit', {
      ...editPage(idea),
      staffEdit: idea.authorId !== user.id,
      values: { title: idea.title, body: idea.bodyMd, tags: idea.tags.join(', ') },
    })
  })

  r.post('/ideas/:id/edit', { ...proposeLimit, schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const user = requireUser(req)
    const { id } = req.params
    const { idea } = await ideas.get(id, user.id)
    return handleForm(reply, 'ideas/edit', req.body, async () => {
      const result = await ideas.edit(user, id, req.body)
      return reply.redirect(result.changed ? `/ideas/${id}?saved=1` : `/ideas/${id}`, 303)
    }, { ...editPage(idea), staffEdit: idea.authorId !== user.id })
  })

  r.get('/ideas/:id/history', { ...guestCache, schema: { params: IdParams } }, async (req, reply) => {
    const history = await ideas.revisions(req.params.id)
    return reply.view('ideas/history', { title: `Edit history: ${history.idea.title}`, ...history })
  })

  for (const [path, act] of [
    ['vote', (u, id) => ideas.vote(u, id)],
    ['unvote', (u, id) => ideas.unvote(u, id)],
    ['subscribe', (u, id) => ideas.subscribe(u, id)],
    ['unsubscribe', (u, id) => ideas.unsubscribe(u, id)],
  ] as const satisfies readonly (readonly [string, (u: NonNullable<FastifyRequest['user']>, id: number) => Promise<{ ideaId: number }>])[]) {
    r.post(`/ideas/:id/${path}`, { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
      const { id } = req.params
      if (!req.user) return reply.redirect(`/login?next=${encodeURIComponent(`/ideas/${id}`)}`, 303)
      const result = await act(req.user, id)
      // A merged idea's vote landed on its target: go there, not back to the old page.
      return reply.redirect(result.ideaId === id ? back(req.body, id) : `/ideas/${result.ideaId}?merged_from=${id}`, 303)
    })
  }

  // Open-vote limits per trust level (admins; the page does not exist for anyone else).
  const limitsPage = (limits: VoteLimits) => ({
    title: 'Idea voting settings',
    levels: [0, 1, 2, 3, 4].map((level) => ({ level, value: limits?.[String(level)] ?? '' })),
  })

  r.get('/ideas/settings', { schema: { querystring: SettingsQuery } }, async (req, reply) => {
    await requireAdmin(req)
    return reply.view('ideas/settings', { ...limitsPage(await ideas.voteLimits()), saved: req.query.saved === '1' })
  })

  r.post('/ideas/settings', { schema: { body: FormBody } }, async (req, reply) => {
    const admin = await requireAdmin(req)
    const form = req.body
    const page = limitsPage(await ideas.voteLimits())
    return handleForm(reply, 'ideas/settings', form, async () => {
      const entries = [0, 1, 2, 3, 4]
        .map((level) => [String(level), form[`tl${level}`]?.trim() ?? ''] as const)
        .filter(([, v]) => v !== '')
        .map(([level, v]) => [level, /^\d+$/.test(v) ? Number(v) : Number.NaN] as const)
      const bad = entries.find(([, v]) => !Number.isInteger(v))
      if (bad) throw Invalid.field(`tl${bad[0]}`, 'Use a whole number, or leave it empty for no limit')
      await ideas.setVoteLimits(admin, entries.length ? Object.fromEntries(entries) : null)
      return reply.redirect('/ideas/settings?saved=1', 303)
    }, { ...page, levels: page.levels.map((l) => ({ ...l, value: form[`tl${l.level}`] ?? '' })) })
  })

  app.get('/roadmap', guestCache, async (req, reply) => reply.view('ideas/roadmap', { title: 'Roadmap', ...(await ideas.roadmap()), voteBlock: await voteBlock(req) }))

  app.get('/changelog', guestCache, async (_req, reply) => reply.view('ideas/changelog', { title: 'Changelog', entries: await ideas.changelog() }))

  app.get('/feeds/changelog.atom', guestCache, async (_req, reply) => {
    const entries = await ideas.changelog()
    return reply
      .type('application/atom+xml; charset=utf-8')
      .send(changelogFeed(config.baseUrl, await app.hearth.community.name(), entries))
  })

  // ── JSON API ──────────────────────────────────────────────────────────────────
  r.get('/api/v1/ideas', { schema: { querystring: BoardQuery } }, async (req) => {
    const page = await ideas.board(req.query, req.user?.id)
    return { items: page.items, nextCursor: page.nextCursor }
  })

  // `typing=1` (the live check under the title field) also matches the last word as a prefix.
  r.get('/api/v1/ideas/similar', { schema: { querystring: SimilarQuery } }, async (req) => {
    const { q, typing } = req.query
    return { items: await ideas.similar(q, undefined, { typing: typing === '1' }) }
  })

  app.post('/api/v1/ideas', proposeLimit, async (req, reply) => {
    const idea = await ideas.propose(requireUser(req), req.body)
    return reply.code(201).send(idea)
  })

  r.put('/api/v1/ideas/vote-limits', { schema: { body: VoteLimitsBody } }, async (req) => {
    const { limits } = req.body
    return { limits: await ideas.setVoteLimits(requireUser(req), limits) }
  })

  r.get('/api/v1/ideas/:id', { schema: { params: IdParams } }, async (req, reply) => {
    const { id } = req.params
    const found = await ideas.get(id, req.user?.id)
    const { bodyMd: _md, authorId: _author, ...idea } = found.idea
    return {
      ...idea,
      history: idea.history.map((h) => ({
        from: h.from_status,
        to: h.to_status,
        note: h.note_md,
        noteHtml: h.note_html,
        by: h.actor_username,
        at: h.created_at,
      })),
      voters: idea.voters.map((v) => v.username),
    }
  })

  const byId = { schema: { params: IdParams } }
  r.put('/api/v1/ideas/:id/vote', byId, async (req) => ideas.vote(requireUser(req), req.params.id))
  r.delete('/api/v1/ideas/:id/vote', byId, async (req) => ideas.unvote(requireUser(req), req.params.id))
  r.put('/api/v1/ideas/:id/subscription', byId, async (req) => ideas.subscribe(requireUser(req), req.params.id))
  r.delete('/api/v1/ideas/:id/subscription', byId, async (req) => ideas.unsubscribe(requireUser(req), req.params.id))
  r.post('/api/v1/ideas/:id/status', byId, async (req) => ideas.changeStatus(requireUser(req), req.params.id, req.body))
  r.post('/api/v1/ideas/:id/merge', byId, async (req) => ideas.merge(requireUser(req), req.params.id, req.body))
  r.patch('/api/v1/ideas/:id', byId, async (req) => ideas.edit(requireUser(req), req.params.id, req.body))
  r.get('/api/v1/ideas/:id/revisions', byId, async (req) => {
    const history = await ideas.revisions(req.params.id)
    return {
      idea: history.idea,
      revisions: history.edits.map((e) => ({ number: e.number, editor: e.editor, at: e.at, before: e.before, changed: { title: !!e.title, body: !!e.body, tags: !!e.tags } })),
    }
  })
}
