import { type Expression, type SqlBool, sql } from 'kysely'
import { z } from 'zod'
import type { Db } from '../../core/db.js'
import type { StageName } from '../../core/db-types.js'
import { Invalid, NotFound, parse } from '../../core/errors.js'
import { ensure, type Viewer } from '../../core/guard.js'
import { logStaffAction } from '../moderation/log.js'
import type { NotificationService } from '../notifications/service.js'
import { toCsv } from '../beta/csv.js'
import { STAGE_NAMES, stageLabel } from './kinds.js'

/** What a segment selects: members by stage, drift, help given, silence, age and trust. */
export const SegmentFilter = z.object({
  stages: z.array(z.enum(STAGE_NAMES as [StageName, ...StageName[]])).max(6).default([]),
  drifting: z.enum(['any', 'yes', 'no']).default('any'),
  minHelped: z.number().int().min(0).max(100_000).default(0),
  /** Last active at least / at most this many days ago. */
  silentMinDays: z.number().int().min(0).max(3650).optional(),
  silentMaxDays: z.number().int().min(0).max(3650).optional(),
  joinedWithinDays: z.number().int().min(1).max(3650).optional(),
  /** Started a thread nobody else has answered yet. */
  unanswered: z.boolean().default(false),
  /** Not a moderator of anything yet. */
  notModerators: z.boolean().default(false),
})
export type SegmentFilter = z.output<typeof SegmentFilter>

/** The segments every community has, before saving any of its own. */
export const BUILT_IN_SEGMENTS: readonly { key: string; name: string; description: string; filter: SegmentFilter }[] = [
  { key: 'champions', name: 'Champions', description: 'The most active members, who help many others.', filter: SegmentFilter.parse({ stages: ['champion'] }) },
  {
    key: 'drifting-champions',
    name: 'Drifting champions',
    description: 'Champions silent for 14 to 60 days: worth a personal note.',
    filter: SegmentFilter.parse({ stages: ['champion'], silentMinDays: 14, silentMaxDays: 60 }),
  },
  {
    key: 'newcomers-unanswered',
    name: 'Newcomers with no reply yet',
    description: 'New members whose thread nobody has answered: welcome them.',
    filter: SegmentFilter.parse({ stages: ['newcomer', 'explorer', 'participant'], joinedWithinDays: 30, unanswered: true }),
  },
  {
    key: 'helpful-not-moderators',
    name: 'Helpful members who are not moderators',
    description: 'Replies liked by at least 3 members in the window, and no moderator role yet.',
    filter: SegmentFilter.parse({ stages: ['participant', 'contributor', 'champion'], minHelped: 3, notModerators: true }),
  },
]

export interface SegmentMember {
  id: number
  username: string
  email: string
  stage: StageName
  stageLabel: string
  drifting: boolean
  score: number
  helped: number
  joinedAt: Date
  lastActive: Date | null
}

const PAGE = 200
// Messages go out in slices, each in its own transaction, so a large segment never holds one giant one.
const MESSAGE_SLICE = 1_000

/**
 * Member segments: saved filters over the nightly stages and the activity log, and what an
 * owner can do with one (message it, invite it to a beta program, export it as CSV).
 */
export class SegmentService {
  constructor(
    private readonly db: Db,
    private readonly notifications: NotificationService,
  ) {}

  /** Built-in and saved segments, each with its member count. */
  async list(viewer: Viewer) {
    ensure(viewer, 'administer', undefined)
    const saved = await this.db.selectFrom('segments').select(['id', 'name', 'filter']).orderBy('id').execute()
    const all = [
      ...BUILT_IN_SEGMENTS.map((s) => ({ key: s.key, name: s.name, description: s.description, filter: s.filter, saved: false })),
      ...saved.map((s) => ({ key: String(s.id), name: s.name, description: describe(parse(SegmentFilter, s.filter)), filter: parse(SegmentFilter, s.filter), saved: true })),
    ]
    return Promise.all(all.map(async (s) => ({ ...s, members: await this.count(s.filter) })))
  }

  /** One segment by its key (a built-in name or a saved id); 404 when there is none. */
  async get(viewer: Viewer, key: string) {
    ensure(viewer, 'administer', undefined)
    const builtIn = BUILT_IN_SEGMENTS.find((s) => s.key === key)
    if (builtIn) return { key, name: builtIn.name, description: builtIn.description, filter: builtIn.filter, saved: false }
    if (!/^\d{1,15}$/.test(key)) throw new NotFound('No such segment')
    const row = await this.db.selectFrom('segments').select(['id', 'name', 'filter']).where('id', '=', Number(key)).executeTakeFirst()
    if (!row) throw new NotFound('No such segment')
    const filter = parse(SegmentFilter, row.filter)
    return { key, name: row.name, description: describe(filter), filter, saved: true }
  }

  /** Saves a segment from the admin form's fields. */
  async save(viewer: Viewer, form: Record<string, string | string[]>): Promise<number> {
    ensure(viewer, 'administer', undefined)
    const name = String(form.name ?? '').trim()
    if (!name) throw new Invalid({ name: 'Name the segment' })
    if (name.length > 80) throw new Invalid({ name: 'Keep the name under 80 characters' })
    const filter = filterFromForm(form)
    const row = await this.db
      .insertInto('segments')
      .values({ name, filter: JSON.stringify(filter), created_by: viewer.user!.id })
      .returning('id')
      .executeTakeFirstOrThrow()
    return row.id
  }

  async remove(viewer: Viewer, id: number): Promise<void> {
    ensure(viewer, 'administer', undefined)
    await this.db.deleteFrom('segments').where('id', '=', id).execute()
  }

  /** The segment's members, most engaged first (a page of them, or all for an export). */
  async members(filter: SegmentFilter, options: { all?: boolean } = {}): Promise<SegmentMember[]> {
    const rows = await this.query(filter)
      .select([
        'u.id',
        'u.username',
        'u.email',
        'ms.stage',
        'ms.drifting',
        'ms.score',
        'ms.helped',
        'u.created_at',
        sql<Date | null>`(select max(day) from member_days md where md.user_id = u.id)`.as('last_active'),
      ])
      .orderBy('ms.score', 'desc')
      .orderBy('u.id')
      .$if(!options.all, (q) => q.limit(PAGE))
      .execute()
    return rows.map((r) => ({
      id: r.id,
      username: r.username,
      email: r.email,
      stage: r.stage,
      stageLabel: stageLabel(r.stage),
      drifting: r.drifting,
      score: Math.round(r.score),
      helped: r.helped,
      joinedAt: r.created_at,
      lastActive: r.last_active,
    }))
  }

  /** Ids of a segment's members (by its key) after `afterId`, in id order: a batch for surveys' invitations. */
  async memberIdsAfter(key: string, afterId: number, limit: number): Promise<number[]> {
    const builtIn = BUILT_IN_SEGMENTS.find((s) => s.key === key)
    let filter = builtIn?.filter
    if (!filter && /^\d{1,15}$/.test(key)) {
      const row = await this.db.selectFrom('segments').select('filter').where('id', '=', Number(key)).executeTakeFirst()
      if (row) filter = parse(SegmentFilter, row.filter)
    }
    if (!filter) return []
    const rows = await this.query(filter).select('u.id').where('u.id', '>', afterId).orderBy('u.id').limit(limit).execute()
    return rows.map((r) => Number(r.id))
  }

  async count(filter: SegmentFilter): Promise<number> {
    const row = await this.query(filter).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()
    return row.n
  }

  /** Notifies every member of the segment (and mails them, as their mail settings allow); logged. */
  async message(viewer: Viewer, key: string, raw: { text?: string; url?: string }): Promise<number> {
    const segment = await this.get(viewer, key)
    const text = String(raw.text ?? '').trim()
    if (!text) throw new Invalid({ text: 'Write the message' })
    if (text.length > 500) throw new Invalid({ text: 'Keep the message under 500 characters' })
    const url = String(raw.url ?? '').trim() || '/'
    if (!/^\/(?!\/)[^\s]*$/.test(url) || url.length > 300) throw new Invalid({ url: 'Link to a page of this community, starting with /' })
    return this.send(viewer, segment, 'segment.message', (userId) => ({ userId, kind: 'community.message', text, url, actorId: viewer.user!.id }))
  }

  /** Invites every member of the segment to a beta program by notification; logged. */
  async inviteToBeta(viewer: Viewer, key: string, programId: number): Promise<number> {
    const segment = await this.get(viewer, key)
    const program = await this.db.selectFrom('beta_programs').select(['id', 'title']).where('id', '=', programId).executeTakeFirst()
    if (!program) throw new Invalid({ programId: 'Choose a beta program' })
    return this.send(viewer, segment, 'segment.beta_invite', (userId) => ({
      userId,
      kind: 'beta.invited',
      text: `You are invited to try “${program.title}” before everyone else.`,
      url: `/beta/${program.id}`,
      actorId: viewer.user!.id,
      payload: { programId: program.id },
    }), { programId: program.id, program: program.title })
  }

  /** Beta programs a segment can be invited to: those still taking sign-ups. */
  async openPrograms(): Promise<{ id: number; title: string }[]> {
    return this.db
      .selectFrom('beta_programs')
      .select(['id', 'title'])
      .where((eb) => eb.or([eb('closes_at', 'is', null), eb('closes_at', '>', new Date())]))
      .orderBy('id', 'desc')
      .limit(50)
      .execute()
  }

  private async send(
    viewer: Viewer,
    segment: { key: string; name: string; filter: SegmentFilter },
    action: 'segment.message' | 'segment.beta_invite',
    item: (userId: number) => Parameters<NotificationService['create']>[1][number],
    details: Record<string, unknown> = {},
  ): Promise<number> {
    const ids = (await this.query(segment.filter).select('u.id').orderBy('u.id').execute()).map((r) => r.id)
    for (let i = 0; i < ids.length; i += MESSAGE_SLICE) {
      const slice = ids.slice(i, i + MESSAGE_SLICE)
      await this.db.transaction().execute((trx) => this.notifications.create(trx, slice.map(item)))
    }
    await logStaffAction(this.db, {
      actorId: viewer.user!.id,
      action,
      target: { type: 'settings', id: segment.key },
      details: { segment: segment.name, members: ids.length, ...details },
    })
    return ids.length
  }

  // Members matching the filter; suspended members are never in a segment.
  private query(f: SegmentFilter) {
    return this.db
      .selectFrom('users as u')
      .innerJoin('member_stages as ms', 'ms.user_id', 'u.id')
      .where((eb) => {
        const conditions: Expression<SqlBool>[] = [sql<SqlBool>`(u.suspended_until is null or u.suspended_until < now())`]
        if (f.stages.length) conditions.push(eb('ms.stage', 'in', f.stages))
        if (f.drifting !== 'any') conditions.push(eb('ms.drifting', '=', f.drifting === 'yes'))
        if (f.minHelped > 0) conditions.push(eb('ms.helped', '>=', f.minHelped))
        const lastActive = sql`(select max(day) from member_days md where md.user_id = u.id)`
        if (f.silentMinDays !== undefined) conditions.push(sql<SqlBool>`coalesce(${lastActive} <= current_date - ${f.silentMinDays}::int, true)`)
        if (f.silentMaxDays !== undefined) conditions.push(sql<SqlBool>`${lastActive} >= current_date - ${f.silentMaxDays}::int`)
        if (f.joinedWithinDays !== undefined) conditions.push(sql<SqlBool>`u.created_at >= now() - make_interval(days => ${f.joinedWithinDays}::int)`)
        if (f.unanswered)
          conditions.push(sql<SqlBool>`exists (
            select 1 from threads t where t.author_id = u.id and t.deleted_at is null
              and not exists (select 1 from posts p where p.thread_id = t.id and p.depth > 0 and p.author_id <> u.id and p.deleted_at is null))`)
        if (f.notModerators)
          conditions.push(sql<SqlBool>`u.role = 'member' and not exists (select 1 from category_moderators cm where cm.user_id = u.id)`)
        return eb.and(conditions)
      })
  }
}

/** Parses the admin form's segment fields (checkboxes and optional numbers). */
export function filterFromForm(form: Record<string, string | string[]>): SegmentFilter {
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v])
  const number = (name: string) => {
    const v = String(form[name] ?? '').trim()
    if (v === '') return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) throw new Invalid({ [name]: 'Enter a whole number of 0 or more' })
    return n
  }
  const result = SegmentFilter.safeParse({
    stages: list(form.stages),
    drifting: form.drifting || 'any',
    minHelped: number('minHelped') ?? 0,
    silentMinDays: number('silentMinDays'),
    silentMaxDays: number('silentMaxDays'),
    joinedWithinDays: number('joinedWithinDays') || undefined,
    unanswered: form.unanswered === 'on',
    notModerators: form.notModerators === 'on',
  })
  if (!result.success) {
    const issue = result.error.issues[0]!
    throw new Invalid({ [String(issue.path[0] ?? 'name')]: issue.message })
  }
  return result.data
}

/** A filter in words, for saved segments' descriptions. */
export function describe(f: SegmentFilter): string {
  const parts: string[] = []
  parts.push(f.stages.length ? f.stages.map(stageLabel).join(' or ') : 'Any stage')
  if (f.drifting === 'yes') parts.push('drifting')
  if (f.drifting === 'no') parts.push('not drifting')
  if (f.minHelped) parts.push(`helped at least ${f.minHelped} members`)
  if (f.silentMinDays !== undefined || f.silentMaxDays !== undefined) parts.push(`silent ${f.silentMinDays ?? 0}–${f.silentMaxDays ?? '∞'} days`)
  if (f.joinedWithinDays) parts.push(`joined in the last ${f.joinedWithinDays} days`)
  if (f.unanswered) parts.push('with an unanswered thread')
  if (f.notModerators) parts.push('not moderators')
  return parts.join(', ')
}

/** A CSV of the segment's members (the beta programs' CSV rules: RFC 4180, formulas neutralised). */
export function segmentCsv(members: SegmentMember[]): string {
  const head = ['username', 'email', 'stage', 'drifting', 'score', 'members_helped', 'joined_at', 'last_active']
  const day = (d: Date | null) => (d ? new Date(d).toISOString().slice(0, 10) : '')
  return toCsv([head, ...members.map((m) => [m.username, m.email, m.stage, String(m.drifting), String(m.score), String(m.helped), day(m.joinedAt), day(m.lastActive)])])
}
