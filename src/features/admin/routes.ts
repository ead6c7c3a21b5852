import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { SessionUser } from '../../core/auth/sessions.js'
import { NotFound, parse } from '../../core/errors.js'
import { handleForm, requireUser } from '../../core/http.js'
import type { JobName } from '../../core/queue.js'
import { MODERATION_SETTING_KEYS, TRUST_SETTING_KEYS } from '../../core/settings.js'
import { IdParams } from '../discussions/schemas.js'

const SettingsForm = z.object({
  edit_window_minutes: z.coerce.number({ error: 'Enter a number of minutes' }).int('Enter whole minutes').min(0, 'Use 0 for no limit').max(525_600, 'At most a year'),
  min_title_length: z.coerce.number().int().min(1, 'At least 1').max(100, 'At most 100'),
  max_title_length: z.coerce.number().int().min(10, 'At least 10').max(300, 'At most 300'),
  max_post_length: z.coerce.number().int().min(100, 'At least 100').max(200_000, 'At most 200,000'),
  // A checkbox is absent when unticked.
  require_verified_email_to_post: z.preprocess((v) => v === 'on' || v === 'true', z.boolean()),
  guidelines: z.string().trim().min(1, 'Write the guidelines new members are mailed').max(20_000, 'Keep the guidelines under 20,000 characters'),
})
const MoveForm = z.object({ direction: z.enum(['up', 'down']) })
const number = z.coerce.number({ error: 'Enter a number' })
const TrustSettingsForm = z.object(Object.fromEntries(TRUST_SETTING_KEYS.map((k) => [k, number.int('Enter a whole number')])))
const ModerationSettingsForm = z.object({
  flag_hide_threshold: number.min(1, 'At least 1').max(100, 'At most 100'),
  moderators_per_category: number.int('Enter a whole number'),
  promotion_mode: z.enum(['automatic', 'invitation'], { error: 'Choose automatic or invitation' }),
  promotion_min_activity: number.int('Enter a whole number'),
  promotion_min_accuracy_percent: number.int('Enter a whole number'),
  moderator_grace_days: number.int('Enter a whole number'),
})
const MemberQuery = z.object({ member: z.string().trim().max(40).optional() })
const JOBS: Record<string, { name: JobName; label: string }> = {
  trust: { name: 'trust.recompute', label: 'Trust recompute' },
  promotion: { name: 'moderators.promote', label: 'Moderator promotion' },
}
const SETTING_LABELS: Record<string, string> = {
  tl0_max_links_per_post: 'TL0: most links per post',
  tl0_max_mentions_per_post: 'TL0: most mentions per post',
  tl0_max_posts_per_day: 'TL0: most posts per day',
  tl1_topics_entered: 'TL1: topics entered',
  tl1_posts_read: 'TL1: posts read',
  tl1_reading_minutes: 'TL1: minutes reading',
  tl2_topics_entered: 'TL2: topics entered',
  tl2_posts_read: 'TL2: posts read',
  tl2_reading_minutes: 'TL2: minutes reading',
  tl2_days_visited: 'TL2: days visited',
  tl2_likes_given: 'TL2: likes given',
  tl2_likes_received: 'TL2: likes received',
  tl2_replies: 'TL2: replies posted',
  tl3_window_days: 'TL3: rolling window (days)',
  tl3_days_visited: 'TL3: days visited in the window',
  tl3_topics_replied: 'TL3: topics replied to',
  tl3_topics_read_percent: 'TL3: % of recent topics read',
  tl3_posts_read_percent: 'TL3: % of recent posts read',
  tl3_likes_received: 'TL3: likes received',
  tl3_distinct_likers: 'TL3: from at least this many members',
  tl3_likes_given: 'TL3: likes given',
  tl3_max_flagged_posts: 'TL3: at most this many posts flagged (agreed)',
  tl3_grace_days: 'TL3: grace before losing it (days)',
  flag_hide_threshold: 'Flag score that hides a post',
  moderators_per_category: 'Moderators per category (appointed + promoted)',
  promotion_min_activity: 'Minimum activity score to be promoted',
  promotion_min_accuracy_percent: 'Minimum flag accuracy to be promoted (%)',
  moderator_grace_days: 'Grace before a promoted moderator is demoted (days)',
}
const ModeratorForm = z.object({ username: z.string({ error: 'Enter a username' }).trim().min(1, 'Enter a username'), reason: z.string().trim().max(500).default('') })

/** Owner settings: categories and their order, category moderators, community settings. Admins only; others get 404. */
export async function adminRoutes(app: FastifyInstance): Promise<void> {
  const { categories, settings, moderation } = app.hearth

  function requireAdmin(req: FastifyRequest): SessionUser {
    const user = requireUser(req)
    if (user.role !== 'admin') throw new NotFound()
    return user
  }

  async function adminPage(extra: Record<string, unknown> = {}) {
    const [all, moderators, values] = await Promise.all([categories.all(), categories.moderators(), settings.all()])
    const fields = (keys: readonly string[]) => keys.filter((k) => k !== 'promotion_mode').map((k) => ({ name: k, label: SETTING_LABELS[k] ?? k, value: (values as Record<string, unknown>)[k] }))
    return {
      trustFields: fields(TRUST_SETTING_KEYS),
      moderationFields: fields(MODERATION_SETTING_KEYS),
      jobsAvailable: app.hearth.queue !== null,
      title: 'Admin',
      categories: all.map((c) => ({ ...c, moderators: moderators.filter((m) => m.category_id === c.id) })),
      parents: all.filter((c) => c.parent_id === null),
      settings: values,
      values: { visibility: 'public', whoCanStart: 'members' },
      ...extra,
    }
  }

  app.get('/admin', async (req, reply) => {
    requireAdmin(req)
    const { member } = parse(MemberQuery, req.query)
    const standing = member ? await moderation.memberStanding(member) : null
    return reply.view('admin/index', await adminPage({
      saved: (req.query as Record<string, string>).saved,
      queued: (req.query as Record<string, string>).queued,
      member: standing,
      memberMissing: member && !standing ? member : null,
    }))
  })

  app.post('/admin/members', async (req, reply) => {
    const user = requireAdmin(req)
    const form = req.body as Record<string, string>
    return handleForm(reply, 'admin/index', form, async () => {
      const changed = await moderation.updateMember(user.id, form)
      return reply.redirect(`/admin?saved=member&member=${encodeURIComponent(changed.username)}#members`, 303)
    }, await adminPage({ member: form }))
  })

  app.post('/admin/trust-settings', async (req, reply) => {
    requireAdmin(req)
    const form = req.body as Record<string, string>
    return handleForm(reply, 'admin/index', form, async () => {
      await settings.update(parse(TrustSettingsForm, form) as never)
      return reply.redirect('/admin?saved=trust#trust', 303)
    }, await adminPage())
  })

  app.post('/admin/moderation-settings', async (req, reply) => {
    requireAdmin(req)
    const form = req.body as Record<string, string>
    return handleForm(reply, 'admin/index', form, async () => {
      await settings.update(parse(ModerationSettingsForm, form))
      return reply.redirect('/admin?saved=moderation#moderation', 303)
    }, await adminPage())
  })

  app.post('/admin/run/:job', async (req, reply) => {
    requireAdmin(req)
    const job = JOBS[(req.params as { job: string }).job]
    if (!job) throw new NotFound()
    const queue = app.hearth.queue
    if (!queue) {
      return reply.code(503).view('admin/index', await adminPage({ error: `${job.label} cannot run: background jobs are off because no REDIS_URL is configured.` }))
    }
    if (!queue.available) {
      return reply.code(503).view('admin/index', await adminPage({ error: `${job.label} cannot run now: Redis is not answering. Try again once it is back.` }))
    }
    await queue.enqueue(job.name, {})
    return reply.redirect(`/admin?queued=${encodeURIComponent(job.label)}#jobs`, 303)
  })

  app.post('/admin/categories', async (req, reply) => {
    const user = requireAdmin(req)
    const form = req.body as Record<string, string>
    return handleForm(reply, 'admin/index', form, async () => {
      await categories.create(user.id, form)
      return reply.redirect('/admin?saved=category#categories', 303)
    }, await adminPage())
  })

  app.post('/admin/categories/:id/move', async (req, reply) => {
    requireAdmin(req)
    await categories.move(parse(IdParams, req.params).id, parse(MoveForm, req.body).direction)
    return reply.redirect('/admin#categories', 303)
  })

  app.post('/admin/categories/:id/moderators', async (req, reply) => {
    const user = requireAdmin(req)
    const { id } = parse(IdParams, req.params)
    const form = req.body as Record<string, string>
    return handleForm(reply, 'admin/index', { ...form, moderatorFor: id }, async () => {
      const input = parse(ModeratorForm, form)
      await categories.appointModerator(user.id, id, input.username, input.reason)
      return reply.redirect('/admin?saved=moderator#categories', 303)
    }, await adminPage())
  })

  app.post('/admin/categories/:id/moderators/:userId/remove', async (req, reply) => {
    const user = requireAdmin(req)
    const { id } = parse(IdParams, req.params)
    const { id: userId } = parse(IdParams, { id: (req.params as { userId: string }).userId })
    await categories.removeModerator(user.id, id, userId)
    return reply.redirect('/admin?saved=moderator-removed#categories', 303)
  })

  app.post('/admin/settings', async (req, reply) => {
    requireAdmin(req)
    const form = req.body as Record<string, string>
    return handleForm(reply, 'admin/index', form, async () => {
      await settings.update(parse(SettingsForm, form))
      return reply.redirect('/admin?saved=settings#settings', 303)
    }, await adminPage())
  })
}
