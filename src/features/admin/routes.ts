import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { NotFound, parse } from '../../core/errors.js'
import { FormBody, handleForm, IdParams, idField, queryText, requireAdmin } from '../../core/http.js'
import type { JobName } from '../../core/queue.js'
import { IDEA_COMMENTS_CATEGORY } from '../discussions/categories.js'
import { settingsSections } from '../registry.js'

const SettingsForm = z.object({
  edit_window_minutes: z.coerce.number({ error: 'Enter a number of minutes' }).int('Enter whole minutes').min(0, 'Use 0 for no limit').max(525_600, 'At most a year'),
  min_title_length: z.coerce.number().int().min(1, 'At least 1').max(100, 'At most 100'),
  max_title_length: z.coerce.number().int().min(10, 'At least 10').max(300, 'At most 300'),
  max_post_length: z.coerce.number().int().min(100, 'At least 100').max(200_000, 'At most 200,000'),
  // A checkbox is absent when unticked.
  require_verified_email_to_post: z.preprocess((v) => v === 'on' || v === 'true', z.boolean()),
})
const MoveForm = z.object({ direction: z.enum(['up', 'down']) })
const MemberQuery = z.object({ member: z.string().trim().max(40).optional() })
// Only the shape is checked before the admin check, so others still get 404 whatever they send.
const AdminQuery = z.object({ member: z.string().optional(), saved: queryText, queued: queryText, ran: queryText, reset: queryText, welcome: queryText, moved: queryText, into: queryText })
const JobParams = z.object({ job: z.string() })
const ModeratorParams = IdParams.extend({ userId: idField() })
const JOBS: Record<string, { name: JobName; label: string }> = {
  trust: { name: 'trust.recompute', label: 'Trust recompute' },
  promotion: { name: 'moderators.promote', label: 'Moderator promotion' },
}
const ModeratorForm = z.object({ username: z.string({ error: 'Enter a username' }).trim().min(1, 'Enter a username'), reason: z.string().trim().max(500).default('') })

/** Owner settings: categories and their order, category moderators, community settings. Admins only; others get 404. */
export async function adminRoutes(app: FastifyInstance): Promise<void> {
  const { categories, settings, moderation, community } = app.hearth
  const r = app.withTypeProvider<ZodTypeProvider>()

  async function adminPage(extra: Record<string, unknown> = {}) {
    const [all, moderators, values, restrictions, communityValues, checklist] = await Promise.all([
      categories.all(), categories.moderators(), settings.all(), moderation.restrictions(), community.formValues(), community.checklist(),
    ])
    return {
      communityValues,
      checklist,
      settingsSections: settingsSections.map((section) => ({
        ...section,
        fields: section.fields.map((f) => ({
          ...f,
          value: values[f.name],
          inputType: f.input ?? 'number',
          textarea: f.input === 'textarea',
          options: f.options?.map((o) => ({ ...o, selected: o.value === String(values[f.name]) })),
        })),
      })),
      jobsAvailable: app.hearth.queue !== null,
      jobsInProcess: app.hearth.queue === null && app.hearth.inProcessJobs !== null,
      mailOn: app.hearth.queue !== null,
      title: 'Admin',
      categories: all.map((c) => ({ ...c, moderators: moderators.filter((m) => m.category_id === c.id) })),
      parents: all.filter((c) => c.parent_id === null),
      settings: values,
      restrictions,
      values: { visibility: 'public', whoCanStart: 'members' },
      ...extra,
    }
  }

  r.get('/admin', { schema: { querystring: AdminQuery } }, async (req, reply) => {
    const user = await requireAdmin(req)
    const { member } = parse(MemberQuery, req.query)
    const standing = member ? await moderation.memberStanding(user, member) : null
    return reply.view('admin/index', await adminPage({
      saved: req.query.saved,
      queued: req.query.queued,
      ran: req.query.ran,
      member: standing,
      memberMissing: member && !standing ? member : null,
      resetMailed: req.query.reset === 'mailed',
      welcome: req.query.welcome === '1',
      deleted: req.query.saved === 'category-deleted' ? { moved: req.query.moved, into: req.query.into } : null,
    }))
  })

  // ── the community's identity and pages, and the first-run checklist ──────────
  r.post('/admin/community', { schema: { body: FormBody } }, async (req, reply) => {
    const user = await requireAdmin(req)
    const form = req.body
    return handleForm(reply, 'admin/index', form, async () => {
      await community.update(user, form)
      app.guestCacheClear?.()
      return reply.redirect('/admin?saved=community#community', 303)
    }, await adminPage({ communityValues: form }))
  })

  r.post('/admin/checklist/dismiss', async (req, reply) => {
    const user = await requireAdmin(req)
    await community.dismissChecklist(user)
    return reply.redirect('/admin?saved=checklist', 303)
  })

  // ── one category: edit it, or delete it moving its threads ───────────────────
  async function categoryPage(id: number, extra: Record<string, unknown> = {}) {
    const all = await categories.all()
    const category = all.find((c) => c.id === id)
    if (!category) throw new NotFound('No such category')
    const hasChildren = all.some((c) => c.parent_id === id)
    const siblings = all.filter((c) => c.parent_id === category.parent_id)
    return {
      title: `Edit ${category.name}`,
      category,
      parents: all.filter((c) => c.parent_id === null && c.id !== id),
      moveTargets: all.filter((c) => c.id !== id),
      hasChildren,
      isIdeaComments: category.slug === IDEA_COMMENTS_CATEGORY,
      positionLabel: `Position among its ${siblings.length} ${category.parent_id === null ? 'top-level categories' : 'sibling sub-categories'} (1 is first)`,
      values: {
        name: category.name, slug: category.slug, description: category.description, parentId: category.parent_id === null ? '' : String(category.parent_id),
        visibility: category.visibility, minTrustLevel: category.min_trust_level, whoCanStart: category.who_can_start,
        minTrustToStart: category.min_trust_to_start, color: category.color ?? '', position: siblings.indexOf(category) + 1,
      },
      ...extra,
    }
  }

  r.get('/admin/categories/:id', { schema: { params: IdParams } }, async (req, reply) => {
    await requireAdmin(req)
    return reply.view('admin/category', await categoryPage(req.params.id))
  })

  r.post('/admin/categories/:id', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const user = await requireAdmin(req)
    const form = req.body
    const page = await categoryPage(req.params.id)
    return handleForm(reply, 'admin/category', form, async () => {
      await categories.update(user.id, req.params.id, form)
      community.changed()
      app.guestCacheClear?.()
      return reply.redirect('/admin?saved=category#categories', 303)
    }, page)
  })

  r.post('/admin/categories/:id/delete', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const user = await requireAdmin(req)
    const form = req.body
    const page = await categoryPage(req.params.id)
    return handleForm(reply, 'admin/category', { ...page.values, moveTo: form.moveTo }, async () => {
      const { moved, into } = await categories.remove(user.id, req.params.id, form)
      community.changed()
      app.guestCacheClear?.()
      return reply.redirect(`/admin?saved=category-deleted&moved=${moved}&into=${encodeURIComponent(into.name)}#categories`, 303)
    }, page)
  })

  r.post('/admin/members', { schema: { body: FormBody } }, async (req, reply) => {
    const user = await requireAdmin(req)
    const form = req.body
    return handleForm(reply, 'admin/index', form, async () => {
      const changed = await moderation.updateMember(user, form)
      return reply.redirect(`/admin?saved=member&member=${encodeURIComponent(changed.username)}#members`, 303)
    }, await adminPage({ member: form }))
  })

  // Each feature's section of community settings saves through its own form schema.
  for (const section of settingsSections) {
    r.post(`/admin/${section.id}-settings`, { schema: { body: FormBody } }, async (req, reply) => {
      await requireAdmin(req)
      const form = req.body
      return handleForm(reply, 'admin/index', form, async () => {
        await settings.update(parse(section.form, form))
        return reply.redirect(`/admin?saved=${section.id}#${section.id}`, 303)
      }, await adminPage())
    })
  }

  r.post('/admin/run/:job', { schema: { params: JobParams } }, async (req, reply) => {
    await requireAdmin(req)
    const job = Object.hasOwn(JOBS, req.params.job) ? JOBS[req.params.job] : undefined
    if (!job) throw new NotFound()
    const queue = app.hearth.queue
    const local = app.hearth.inProcessJobs
    if (!queue && local) {
      // No Redis: this process runs the job itself, and the owner sees its result at once.
      await local.runNow(job.name)
      return reply.redirect(`/admin?ran=${encodeURIComponent(job.label)}#jobs`, 303)
    }
    if (!queue) {
      return reply.code(503).view('admin/index', await adminPage({ error: `${job.label} cannot run: background jobs are off because no REDIS_URL is configured.` }))
    }
    if (!queue.available) {
      return reply.code(503).view('admin/index', await adminPage({ error: `${job.label} cannot run now: Redis is not answering. Try again once it is back.` }))
    }
    await queue.enqueue(job.name, {})
    return reply.redirect(`/admin?queued=${encodeURIComponent(job.label)}#jobs`, 303)
  })

  r.post('/admin/categories', { schema: { body: FormBody } }, async (req, reply) => {
    const user = await requireAdmin(req)
    const form = req.body
    return handleForm(reply, 'admin/index', form, async () => {
      await categories.create(user.id, form)
      community.changed()
      app.guestCacheClear?.()
      return reply.redirect('/admin?saved=category#categories', 303)
    }, await adminPage())
  })

  r.post('/admin/categories/:id/move', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    await requireAdmin(req)
    await categories.move(req.params.id, parse(MoveForm, req.body).direction)
    app.guestCacheClear?.()
    return reply.redirect('/admin#categories', 303)
  })

  r.post('/admin/categories/:id/moderators', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const user = await requireAdmin(req)
    const { id } = req.params
    const form = req.body
    return handleForm(reply, 'admin/index', { ...form, moderatorFor: id }, async () => {
      const input = parse(ModeratorForm, form)
      await moderation.appointModerator(user, id, input.username, input.reason)
      return reply.redirect('/admin?saved=moderator#categories', 303)
    }, await adminPage())
  })

  r.post('/admin/categories/:id/moderators/:userId/remove', { schema: { params: ModeratorParams } }, async (req, reply) => {
    const user = await requireAdmin(req)
    const { id, userId } = req.params
    await categories.removeModerator(user.id, id, userId)
    return reply.redirect('/admin?saved=moderator-removed#categories', 303)
  })

  r.post('/admin/settings', { schema: { body: FormBody } }, async (req, reply) => {
    await requireAdmin(req)
    const form = req.body
    return handleForm(reply, 'admin/index', form, async () => {
      await settings.update(parse(SettingsForm, form))
      return reply.redirect('/admin?saved=settings#settings', 303)
    }, await adminPage())
  })

  // ── suspensions and silences: owners see the active ones and lift them ─────────
  r.post('/admin/members/:id/lift', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const user = await requireAdmin(req)
    const form = req.body
    return handleForm(reply, 'admin/index', form, async () => {
      await moderation.lift(user, req.params.id, form)
      return reply.redirect('/admin?saved=lifted#restrictions', 303)
    }, await adminPage())
  })

  // ── helping a member back in: a reset link by mail, or (mail off) one to pass on ─
  r.post('/admin/members/:id/password-reset', { schema: { params: IdParams } }, async (req, reply) => {
    const user = await requireAdmin(req)
    const mailOn = app.hearth.queue !== null
    const done = await app.hearth.accounts.adminPasswordReset(user, req.params.id, mailOn)
    if (!done.token) return reply.redirect(`/admin?reset=mailed&member=${encodeURIComponent(done.username)}#password-reset`, 303)
    // Shown once and never stored: only its digest is kept.
    reply.header('Cache-Control', 'no-store')
    const standing = await moderation.memberStanding(user, done.username)
    return reply.view('admin/index', await adminPage({
      member: standing,
      resetLink: { username: done.username, url: `${app.hearth.config.baseUrl}/password-reset/${done.token}` },
    }))
  })

  r.get('/api/v1/admin/restrictions', { preHandler: requireAdmin }, async () => ({ items: await moderation.restrictions() }))

  r.post('/api/v1/admin/members/:id/lift', { schema: { params: IdParams } }, async (req) => {
    const user = await requireAdmin(req)
    return moderation.lift(user, req.params.id, req.body)
  })
}
