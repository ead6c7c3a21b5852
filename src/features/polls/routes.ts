import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { fieldErrors } from '../../core/errors.js'
import { IdParams, MultiFormBody, requireUser } from '../../core/http.js'
import { rateLimit } from '../../core/rate-limits.js'
import type { PollView } from './service.js'

/** Votes one member may cast (or change, or take back) per minute, pages and API together. */
const VOTES_PER_MINUTE = 60

/** Polls in posts: the vote, unvote and close forms, the poll's fragment for live updates, and the API. */
export async function pollRoutes(app: FastifyInstance): Promise<void> {
  const { polls, categories, discussions } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()
  const viewerOf = (req: FastifyRequest) => categories.viewer(req.user)
  const voteLimit = { preHandler: rateLimit(app, 'poll-vote', VOTES_PER_MINUTE, 60_000) }
  // Back to the post, at the poll: the page shows the new results (or the form, after a take-back).
  const back = async (req: FastifyRequest, poll: PollView) => `${(await discussions.postUrl(await viewerOf(req), poll.postId)).replace(/#.*$/, '')}#poll-${poll.id}`

  // ── forms (work without JavaScript) ────────────────────────────────────────
  r.post('/polls/:id/vote', { ...voteLimit, schema: { params: IdParams, body: MultiFormBody } }, async (req, reply) => {
    requireUser(req)
    const viewer = await viewerOf(req)
    try {
      const poll = await polls.vote(viewer, req.params.id, req.body)
      return reply.redirect(await back(req, poll), 303)
    } catch (err) {
      // A ballot that does not fit the poll comes back on the poll's own page with the message.
      const fields = fieldErrors(err)
      if (!fields) throw err
      const poll = await polls.get(viewer, req.params.id)
      return reply.code(400).view('polls/show', { title: poll.title || 'Poll', poll, error: Object.values(fields)[0], threadUrl: await back(req, poll) })
    }
  })

  r.post('/polls/:id/unvote', { ...voteLimit, schema: { params: IdParams, body: MultiFormBody } }, async (req, reply) => {
    requireUser(req)
    const poll = await polls.unvote(await viewerOf(req), req.params.id)
    return reply.redirect(await back(req, poll), 303)
  })

  r.post('/polls/:id/close', { schema: { params: IdParams, body: MultiFormBody } }, async (req, reply) => {
    requireUser(req)
    const poll = await polls.close(await viewerOf(req), req.params.id)
    return reply.redirect(await back(req, poll), 303)
  })

  // The poll on a page of its own (a link from mail or the idea page; the ballot's error page).
  r.get('/polls/:id', { schema: { params: IdParams } }, async (req, reply) => {
    const poll = await polls.get(await viewerOf(req), req.params.id)
    return reply.view('polls/show', { title: poll.title || 'Poll', poll, threadUrl: await back(req, poll) })
  })

  // The poll's HTML alone, for the thread page's script to swap in after a vote or a live change.
  r.get('/polls/:id/fragment', { schema: { params: IdParams } }, async (req, reply) => {
    const poll = await polls.get(await viewerOf(req), req.params.id)
    reply.header('cache-control', 'private, no-store')
    return reply.view('polls/fragment', { fragment: true, poll })
  })

  // ── API ────────────────────────────────────────────────────────────────────
  r.get('/api/v1/polls/:id', { schema: { params: IdParams } }, async (req) => pollJson(await polls.get(await viewerOf(req), req.params.id)))

  r.post('/api/v1/polls/:id/votes', { ...voteLimit, schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return pollJson(await polls.vote(await viewerOf(req), req.params.id, req.body))
  })

  r.delete('/api/v1/polls/:id/votes', { ...voteLimit, schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return pollJson(await polls.unvote(await viewerOf(req), req.params.id))
  })

  r.post('/api/v1/polls/:id/close', { schema: { params: IdParams } }, async (req) => {
    requireUser(req)
    return pollJson(await polls.close(await viewerOf(req), req.params.id))
  })
}

/** A poll as the API gives it: results only when this caller may see them. */
export function pollJson(p: PollView) {
  return {
    id: p.id,
    postId: p.postId,
    threadId: p.threadId,
    title: p.title,
    kind: p.kind,
    min: p.min,
    max: p.max,
    public: p.public,
    closed: p.closed,
    closesAt: p.closesAt?.toISOString() ?? null,
    voters: p.voters,
    voted: p.voted,
    canVote: p.canVote,
    resultsVisible: p.resultsVisible,
    options: p.options.map((o) => ({
      id: o.id,
      label: o.label,
      chosen: o.chosen,
      ...(o.rank !== null ? { rank: o.rank } : {}),
      ...(p.resultsVisible ? { votes: o.votes, percent: o.percent, ...(p.public ? { voters: o.names } : {}) } : {}),
    })),
    ...(p.resultsVisible && p.ranked
      ? { winner: p.winner, rounds: p.rounds.map((r) => ({ round: r.round, exhausted: r.exhausted, counts: r.rows.map((x) => ({ label: x.label, votes: x.votes })), eliminated: r.eliminated })) }
      : {}),
    ...(p.resultsVisible && p.numeric ? { average: p.average === null ? null : Number(p.average) } : {}),
    ideaId: p.ideaId,
  }
}
