import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { NotFound } from '../../core/errors.js'
import { FormBody, handleForm, IdParams, queryText, requireUser } from '../../core/http.js'
import { FLAG_NOTE_MAX, LogQuery } from './schemas.js'

const QueueQuery = z.object({ resolved: queryText })
const InvitationsQuery = z.object({ answered: queryText })
const AnswerForm = z.object({ answer: z.enum(['accept', 'decline'], { error: 'Accept or decline' }) })
const REASONS = [
  { value: 'spam', label: 'Spam: advertising or scams' },
  { value: 'inappropriate', label: 'Inappropriate: rude, offensive or harmful' },
  { value: 'off_topic', label: 'Off-topic: does not belong in this thread' },
  { value: 'other', label: 'Something else (say what in the note)' },
]

/** Flagging, the review queue (/mod), the public moderation log (/mod/log) and moderator invitations — pages and API. */
export async function moderationRoutes(app: FastifyInstance): Promise<void> {
  const { categories, discussions, moderation, trust } = app.hearth
  const viewerOf = (req: FastifyRequest) => categories.viewer(req.user)
  const r = app.withTypeProvider<ZodTypeProvider>()

  // ── flagging ─────────────────────────────────────────────────────────────────
  const flagPage = async (req: FastifyRequest, postId: number) => {
    const viewer = await viewerOf(req)
    const { post, thread } = await discussions.visiblePost(viewer, postId)
    if (post.deleted_at) throw new NotFound('No such post')
    return { title: 'Flag a post', post, thread, reasons: REASONS, noteMax: FLAG_NOTE_MAX }
  }

  r.get('/p/:id/flag', { schema: { params: IdParams } }, async (req, reply) => {
    requireUser(req)
    return reply.view('moderation/flag', { ...(await flagPage(req, req.params.id)), values: {} })
  })

  r.post('/p/:id/flag', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    requireUser(req)
    const form = req.body
    const page = await flagPage(req, req.params.id)
    return handleForm(reply, 'moderation/flag', form, async () => {
      const flagged = await moderation.flag(await viewerOf(req), page.post.id, form)
      return reply.redirect(`${flagged.threadUrl.replace(/#.*$/, '')}?flagged=${page.post.id}#p${page.post.id}`, 303)
    }, page)
  })

  r.post('/api/v1/posts/:id/flags', { schema: { params: IdParams } }, async (req, reply) => {
    requireUser(req)
    const flagged = await moderation.flag(await viewerOf(req), req.params.id, req.body)
    return reply.code(201).send({ id: flagged.id, score: flagged.score, postScore: flagged.postScore, hidden: flagged.hidden })
  })

  // ── review queue ─────────────────────────────────────────────────────────────
  const queuePage = async (req: FastifyRequest) => {
    const viewer = await viewerOf(req)
    const items = await moderation.queue(viewer)
    const names = (await categories.visible(viewer)).filter((c) => categories.canModerate(viewer, c.id)).map((c) => c.name)
    // Re-rendered after a POST too, whose query is not checked: a bad notice is just not shown.
    const approvals = await app.hearth.spam.waiting(viewer)
    const applications = await app.hearth.spam.applicationsWaiting(viewer)
    return { title: 'Review queue', items, moderates: names, resolved: QueueQuery.safeParse(req.query).data?.resolved, approvals, applications }
  }

  r.get('/mod', { schema: { querystring: QueueQuery } }, async (req, reply) => {
    requireUser(req)
    return reply.view('moderation/queue', await queuePage(req))
  })

  r.post('/mod/flags/:id/resolve', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    requireUser(req)
    const { id } = req.params
    const form = req.body
    const viewer = await viewerOf(req)
    if (!moderation.isModerator(viewer)) throw new NotFound()
    return handleForm(reply, 'moderation/queue', { ...form, flagId: id }, async () => {
      const done = await moderation.resolve(viewer, id, form)
      return reply.redirect(`/mod?resolved=${done.action}`, 303)
    }, await queuePage(req))
  })

  app.get('/api/v1/mod/flags', async (req) => {
    requireUser(req)
    const items = await moderation.queue(await viewerOf(req))
    return {
      items: items.map((i) => ({
        postId: i.postId, score: i.score, hidden: i.hidden, reviewRequested: i.reviewRequested, excerpt: i.excerpt, author: i.author,
        thread: i.threadTitle, url: i.url, categoryId: i.categoryId,
        flags: i.flags.map((f) => ({ id: f.id, reason: f.reason, note: f.note, score: f.score, flagger: f.flagger, createdAt: f.createdAt.toISOString() })),
      })),
    }
  })

  r.post('/api/v1/mod/flags/:id/resolve', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return moderation.resolve(await viewerOf(req), req.params.id, req.body)
  })

  // ── public log ───────────────────────────────────────────────────────────────
  r.get('/mod/log', { schema: { querystring: LogQuery } }, async (req, reply) => {
    requireUser(req)
    const { before } = req.query
    return reply.view('moderation/log', { title: 'Moderation log', ...(await moderation.log(await viewerOf(req), before)) })
  })

  // ── invitations to moderate ──────────────────────────────────────────────────
  r.get('/mod/invitations', { schema: { querystring: InvitationsQuery } }, async (req, reply) => {
    const user = requireUser(req)
    return reply.view('moderation/invitations', { title: 'Invitations to moderate', invitations: await trust.invitations(user.id), answered: req.query.answered })
  })

  r.post('/mod/invitations/:id', { schema: { params: IdParams, body: AnswerForm } }, async (req, reply) => {
    const user = requireUser(req)
    const { id } = req.params
    const { answer } = req.body
    await trust.answerInvitation(user, id, answer === 'accept')
    return reply.redirect(`/mod/invitations?answered=${answer}`, 303)
  })
}
