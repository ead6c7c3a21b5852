import { createHmac } from 'node:crypto'
import { sql } from 'kysely'
import type { SessionUser } from '../../core/auth/sessions.js'
import type { Db } from '../../core/db.js'
import { Conflict, Invalid, NotFound, parse } from '../../core/errors.js'
import { ensure, type GuardUser, isStaff, type Viewer } from '../../core/guard.js'
import { renderMarkdown } from '../../core/markdown.js'
import type { Outbox } from '../../core/outbox.js'
import type { JobQueue } from '../../core/queue.js'
import type { CommunitySettings } from '../../core/settings.js'
import { barChart, lineChart } from '../activity/charts.js'
import { stageLabel } from '../activity/kinds.js'
import type { SegmentService } from '../activity/segments.js'
import { toCsv } from '../beta/csv.js'
import type { IdeaService } from '../ideas/service.js'
import { logStaffAction } from '../moderation/log.js'
import type { NotificationService } from '../notifications/service.js'
import { type NpsResult, nps } from './nps.js'
import { FollowupInput, NewSurveyInput, type Question, QUESTION_LABELS, Target } from './schemas.js'

/** Members invited per batch job; each batch is one transaction. */
export const INVITE_BATCH = 500
/** In an anonymous survey, breakdown groups smaller than this are not shown (they could single someone out). */
export const MIN_GROUP = 5

type Member = GuardUser & Pick<SessionUser, 'username'>

interface SurveyRow {
  id: number
  series_id: number | null
  wave: number
  title: string
  intro_html: string
  questions: unknown
  anonymous: boolean
  target: unknown
  opens_at: Date
  closes_at: Date
  invited_at: Date | null
  created_at: Date
}

const surveyColumns = ['id', 'series_id', 'wave', 'title', 'intro_html', 'questions', 'anonymous', 'target', 'opens_at', 'closes_at', 'invited_at', 'created_at'] as const

function state(s: { opens_at: Date; closes_at: Date }, now = new Date()): 'scheduled' | 'open' | 'closed' {
  return now < s.opens_at ? 'scheduled' : now >= s.closes_at ? 'closed' : 'open'
}

/** A date column as YYYY-MM-DD (answers keep only their day). */
const day = (d: Date | string) => (d instanceof Date ? d.toISOString().slice(0, 10) : String(d).slice(0, 10))

const pct = (n: number, of: number) => (of > 0 ? Math.round((n * 1000) / of) / 10 : 0)

/**
 * Surveys: staff build them from questions (choices, scales, free text, NPS, CSAT), send them
 * to a target (everyone, a category's members, a trust level, a segment) for a period,
 * invite by notification (which mails as members' settings allow) in batches, and read the
 * results as charts with tables and CSV. Each member is surveyed at most once per
 * `survey_min_interval_days`, checked when inviting and when answering.
 *
 * Anonymous answers: `survey_responses` rows have no member id (a check constraint holds
 * it), carry only the day of answering and a random id, and the "has answered" ledger
 * `survey_responders` holds an HMAC of (survey, member) under the instance secret instead of
 * the member: the server can tell whether this member answered, nobody reading the tables
 * can tell who did, and nothing joins a ledger row to a response.
 */
export class SurveyService {
  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox,
    private readonly settings: CommunitySettings,
    private readonly notifications: NotificationService,
    private readonly segments: SegmentService,
    private readonly ideas: IdeaService,
    private readonly secret: string,
    private readonly queue: JobQueue | null,
  ) {}

  /** The ledger key of (survey, member): an HMAC only this instance can compute. */
  responderKey(surveyId: number, userId: number): string {
    return createHmac('sha256', this.secret).update(`survey-responder:${surveyId}:${userId}`).digest('base64url')
  }

  private questions(row: { questions: unknown }): Question[] {
    return (row.questions as Question[]) ?? []
  }

  private async load(id: number): Promise<SurveyRow> {
    const row = await this.db.selectFrom('surveys').select(surveyColumns).where('id', '=', id).executeTakeFirst()
    if (!row) throw new NotFound('No such survey')
    return { ...row, id: Number(row.id), series_id: row.series_id === null ? null : Number(row.series_id) }
  }

  /** Creates a survey (staff), logged; when it is open already, its invitations start now. */
  async create(viewer: Viewer, raw: unknown): Promise<{ id: number; url: string }> {
    ensure(viewer, 'manageSurveys', undefined)
    const input = parse(NewSurveyInput, raw)
    const target = parse(Target, input.target)
    if (target.kind === 'category') {
      const c = await this.db.selectFrom('categories').select('id').where('id', '=', target.categoryId).executeTakeFirst()
      if (!c) throw Invalid.field('target', 'Choose a category')
    }
    if (target.kind === 'segment') await this.segments.get(viewer, target.segment).catch(() => {
      throw Invalid.field('target', 'Choose a segment')
    })
    let series: { series_id: number; wave: number } | null = null
    if (input.waveOf) {
      const prior = await this.db.selectFrom('surveys').select(['id', 'series_id']).where('id', '=', input.waveOf).executeTakeFirst()
      if (!prior) throw Invalid.field('waveOf', 'No such survey to repeat')
      const seriesId = Number(prior.series_id ?? prior.id)
      const { last } = await this.db.selectFrom('surveys').select((eb) => eb.fn.max('wave').as('last')).where((eb) => eb.or([eb('id', '=', seriesId), eb('series_id', '=', seriesId)])).executeTakeFirstOrThrow()
      series = { series_id: seriesId, wave: Number(last ?? 1) + 1 }
    }
    const id = await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('surveys')
        .values({
          title: input.title, intro_md: input.intro, intro_html: renderMarkdown(input.intro).html, questions: JSON.stringify(input.questions),
          anonymous: input.anonymous, target: JSON.stringify(target), opens_at: input.opensAt ?? new Date(), closes_at: input.closesAt,
          created_by: viewer.user!.id, series_id: series?.series_id ?? null, wave: series?.wave ?? 1,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      // The first wave of a series is its own series.
      if (!series) await trx.updateTable('surveys').set({ series_id: row.id }).where('id', '=', row.id).execute()
      await logStaffAction(trx, { actorId: viewer.user!.id, action: 'survey.create', target: { type: 'settings', id: `survey:${row.id}` }, details: { title: input.title, anonymous: input.anonymous, target } })
      return Number(row.id)
    })
    await this.scheduleInvitations(id, input.opensAt ?? new Date())
    return { id, url: `/surveys/${id}` }
  }

  /**
   * Queues the first invitation batch for when the survey opens (a delayed job). Without
   * Redis (embedded mode) a survey that opens now is sent in this request, batch by batch;
   * one that opens later is sent by "Send invitations" on its results page.
   */
  private async scheduleInvitations(id: number, opensAt: Date): Promise<void> {
    if (!this.queue) {
      if (opensAt.getTime() > Date.now()) return
      for (let after: number | null = 0; after !== null; ) after = (await this.inviteBatch(id, after)).next
      return
    }
    await this.queue.enqueue('surveys.invite', { surveyId: id, afterUserId: 0 }, { jobId: `surveys.invite:${id}:0`, delay: Math.max(0, opensAt.getTime() - Date.now()) })
  }

  /** Members the target names, after `afterId`, in id order: one batch. */
  private async targetBatch(target: Target, afterId: number, limit: number): Promise<{ id: number; username: string }[]> {
    let q = this.db
      .selectFrom('users as u')
      .select(['u.id', 'u.username'])
      .where('u.id', '>', afterId)
      .where('u.deleted_at', 'is', null)
      .where(sql<boolean>`(u.suspended_until is null or u.suspended_until < now())`)
    if (target.kind === 'trust') q = q.where('u.trust_level', '>=', target.trustLevel)
    if (target.kind === 'category') {
      // A category's members: who posted in it, or watches it.
      q = q.where(sql<boolean>`(exists (select 1 from posts p join threads t on t.id = p.thread_id where p.author_id = u.id and t.category_id = ${target.categoryId} and p.deleted_at is null)
        or exists (select 1 from category_notification_levels l where l.user_id = u.id and l.category_id = ${target.categoryId} and l.level = 'watching'))`)
    }
    if (target.kind === 'segment') {
      const ids = await this.segments.memberIdsAfter(target.segment, afterId, limit)
      q = q.where('u.id', 'in', ids.length ? ids : [0])
    }
    const rows = await q.orderBy('u.id').limit(limit).execute()
    return rows.map((r) => ({ id: Number(r.id), username: r.username }))
  }

  /** The surveys whose answering window touches the last `days` days (the frequency cap looks at these). */
  private async recentSurveyIds(days: number, except: number): Promise<number[]> {
    const rows = await this.db.selectFrom('surveys').select('id').where('id', '<>', except)
      .where('closes_at', '>=', sql<Date>`now() - make_interval(days => ${days}::int)`).where('opens_at', '<=', sql<Date>`now()`).execute()
    return rows.map((r) => Number(r.id))
  }

  /**
   * Which of these members were surveyed in the last `days` days by another survey: invited
   * to it, or answered it (the ledger, by keyed hash).
   */
  private async surveyedRecently(userIds: number[], surveyId: number, days: number): Promise<Set<number>> {
    if (days <= 0 || userIds.length === 0) return new Set()
    const invited = await this.db.selectFrom('survey_invitations').select('user_id').where('user_id', 'in', userIds).where('survey_id', '<>', surveyId)
      .where('created_at', '>=', sql<Date>`now() - make_interval(days => ${days}::int)`).execute()
    const out = new Set(invited.map((r) => Number(r.user_id)))
    const recent = await this.recentSurveyIds(days, surveyId)
    if (recent.length > 0) {
      const keyOf = new Map<string, number>()
      for (const u of userIds) for (const s of recent) keyOf.set(this.responderKey(s, u), u)
      const answered = await this.db.selectFrom('survey_responders').select('responder_key').where('responder_key', 'in', [...keyOf.keys()])
        .where('answered_on', '>=', sql<Date>`current_date - ${days}::int`).execute()
      for (const a of answered) out.add(keyOf.get(a.responder_key)!)
    }
    return out
  }

  /**
   * One batch of invitations (the `surveys.invite` job): the next INVITE_BATCH members of
   * the target after `afterUserId`, minus those surveyed within the interval, get an
   * invitation row and a notification in one transaction; returns where the next batch starts
   * (null when done). Safe to run twice: invitations are unique per member.
   */
  async inviteBatch(surveyId: number, afterUserId: number): Promise<{ invited: number; next: number | null }> {
    const survey = await this.db.selectFrom('surveys').select(surveyColumns).where('id', '=', surveyId).executeTakeFirst()
    if (!survey || state(survey) !== 'open') return { invited: 0, next: null }
    const s = await this.settings.all()
    const batch = await this.targetBatch(parse(Target, survey.target), afterUserId, INVITE_BATCH)
    if (batch.length === 0) {
      await this.db.updateTable('surveys').set({ invited_at: new Date() }).where('id', '=', surveyId).execute()
      return { invited: 0, next: null }
    }
    const capped = await this.surveyedRecently(batch.map((m) => m.id), surveyId, s.survey_min_interval_days)
    const chosen = batch.filter((m) => !capped.has(m.id))
    const invited = await this.db.transaction().execute(async (trx) => {
      if (chosen.length === 0) return 0
      const rows = await trx.insertInto('survey_invitations').values(chosen.map((m) => ({ survey_id: surveyId, user_id: m.id })))
        .onConflict((oc) => oc.doNothing()).returning('user_id').execute()
      const fresh = rows.map((r) => Number(r.user_id))
      await this.notifications.create(trx, fresh.map((userId) => ({
        userId, kind: 'survey.invited', url: `/surveys/${surveyId}`, text: `You are invited to answer “${survey.title}” (a few minutes; open until ${survey.closes_at.toISOString().slice(0, 10)}).`,
        payload: { surveyId },
      })))
      return fresh.length
    })
    const next = batch.length < INVITE_BATCH ? null : batch[batch.length - 1]!.id
    if (next === null) await this.db.updateTable('surveys').set({ invited_at: new Date() }).where('id', '=', surveyId).execute()
    return { invited, next }
  }

  /** Whether this member may answer now, and if not why (the answer page says so). */
  private async eligibility(user: Member, survey: SurveyRow): Promise<string | null> {
    const st = state(survey)
    if (st === 'scheduled') return `This survey opens on ${survey.opens_at.toISOString().slice(0, 10)}.`
    if (st === 'closed') return 'This survey has closed. Thank you for your interest.'
    const answered = await this.db.selectFrom('survey_responders').select('survey_id').where('survey_id', '=', survey.id).where('responder_key', '=', this.responderKey(survey.id, user.id)).executeTakeFirst()
    if (answered) return 'You have answered this survey. Thank you!'
    const invited = await this.db.selectFrom('survey_invitations').select('user_id').where('survey_id', '=', survey.id).where('user_id', '=', user.id).executeTakeFirst()
    if (!invited) {
      const inTarget = (await this.targetBatch(parse(Target, survey.target), user.id - 1, 1))[0]?.id === user.id
      if (!inTarget) return 'This survey is for another group of members.'
    }
    const s = await this.settings.all()
    // The frequency cap, when answering: another survey answered within the interval.
    const recent = await this.recentSurveyIds(s.survey_min_interval_days, survey.id)
    if (s.survey_min_interval_days > 0 && recent.length > 0) {
      const hit = await this.db.selectFrom('survey_responders').select('survey_id').where('responder_key', 'in', recent.map((id) => this.responderKey(id, user.id)))
        .where('answered_on', '>=', sql<Date>`current_date - ${s.survey_min_interval_days}::int`).executeTakeFirst()
      if (hit) return `You answered another survey recently; we ask each member at most once every ${s.survey_min_interval_days} days.`
    }
    return null
  }

  /** The answer page: the survey, its questions, and whether this member may answer. */
  async forAnswering(viewer: Viewer, id: number) {
    ensure(viewer, 'answerSurvey', undefined)
    const survey = await this.load(id)
    const staff = isStaff(viewer)
    const block = await this.eligibility(viewer.user as Member, survey)
    // Staff may look at any survey (a preview); others see only one they are asked to answer.
    if (block === 'This survey is for another group of members.' && !staff) throw new NotFound('No such survey')
    return { survey: this.summary(survey), questions: this.questions(survey), block, preview: staff && block !== null }
  }

  private summary(s: SurveyRow) {
    return {
      id: s.id, title: s.title, introHtml: s.intro_html, anonymous: s.anonymous, opensAt: s.opens_at, closesAt: s.closes_at,
      state: state(s), wave: s.wave, seriesId: s.series_id, url: `/surveys/${s.id}`, target: s.target as Target,
    }
  }

  /** Checks one answer set against the questions: values by question id. */
  private answersFrom(questions: Question[], raw: unknown): Record<string, unknown> {
    const body = (raw && typeof raw === 'object' ? ((raw as { answers?: unknown }).answers ?? raw) : {}) as Record<string, unknown>
    const out: Record<string, unknown> = {}
    const errors: Record<string, string> = {}
    for (const [i, q] of questions.entries()) {
      const v = body[q.id]
      const empty = v === undefined || v === '' || (Array.isArray(v) && v.length === 0)
      if (empty) {
        if (q.required) errors[q.id] = `Question ${i + 1} needs an answer`
        continue
      }
      if (q.kind === 'text') {
        const text = String(Array.isArray(v) ? v[0] : v).trim()
        if (text.length > 5_000) errors[q.id] = 'At most 5,000 characters'
        else if (text) out[q.id] = text
      } else if (q.kind === 'single' || q.kind === 'multiple') {
        const picked = (Array.isArray(v) ? v : [v]).map(String)
        if (picked.some((p) => !q.choices.includes(p))) errors[q.id] = 'Choose among the listed answers'
        else if (q.kind === 'single' && picked.length !== 1) errors[q.id] = 'Choose one answer'
        else out[q.id] = q.kind === 'single' ? picked[0] : [...new Set(picked)]
      } else {
        const [lo, hi] = q.kind === 'nps' ? [0, 10] : q.kind === 'csat' ? [1, 5] : [q.min, q.max]
        const n = Number(Array.isArray(v) ? v[0] : v)
        if (!Number.isInteger(n) || n < lo || n > hi) errors[q.id] = `Choose a number from ${lo} to ${hi}`
        else out[q.id] = n
      }
    }
    if (Object.keys(errors).length > 0) throw new Invalid(errors)
    return out
  }

  /**
   * Records a member's answers: the ledger row (keyed hash), then the response. An
   * anonymous response stores no member and emits no event; an attributed one feeds the
   * activity log, and an attributed NPS detractor (0–6) becomes a follow-up item for staff.
   */
  async answer(viewer: Viewer, id: number, raw: unknown): Promise<{ promoter: boolean; nps: number | null }> {
    ensure(viewer, 'answerSurvey', undefined)
    const user = viewer.user as Member
    const survey = await this.load(id)
    const block = await this.eligibility(user, survey)
    if (block) {
      if (block === 'This survey is for another group of members.') throw new NotFound('No such survey')
      throw new Conflict(block)
    }
    const questions = this.questions(survey)
    const answers = this.answersFrom(questions, raw)
    const npsQuestion = questions.find((q) => q.kind === 'nps')
    const score = npsQuestion && typeof answers[npsQuestion.id] === 'number' ? (answers[npsQuestion.id] as number) : null
    const stage = await this.db.selectFrom('member_stages').select('stage').where('user_id', '=', user.id).executeTakeFirst()
    // The ledger row is claimed in a transaction of its own, before the response's: were they
    // written together, both rows would carry the same transaction id (xmin), a join between
    // an anonymous answer and its keyed ledger row. Its primary key refuses a second answer,
    // even racing; if the response then fails, the claim is given back.
    const key = this.responderKey(id, user.id)
    const claimed = await this.db.insertInto('survey_responders').values({ survey_id: id, responder_key: key }).onConflict((oc) => oc.doNothing()).returning('survey_id').execute()
    if (claimed.length === 0) throw new Conflict('You have answered this survey. Thank you!')
    try {
      await this.db.transaction().execute(async (trx) => {
        const response = await trx.insertInto('survey_responses').values({
          survey_id: id, user_id: survey.anonymous ? null : user.id, anonymous: survey.anonymous, trust_level: user.trust_level,
          stage: stage?.stage ?? null, answers: JSON.stringify(answers),
        }).returning('id').executeTakeFirstOrThrow()
        if (!survey.anonymous) {
          if (score !== null && score <= 6) {
            await trx.insertInto('survey_followups').values({ survey_id: id, response_id: response.id, user_id: user.id, score }).execute()
          }
          await this.outbox.emit(trx, 'survey.answered', { surveyId: id, userId: user.id })
        }
      })
    } catch (err) {
      await this.db.deleteFrom('survey_responders').where('survey_id', '=', id).where('responder_key', '=', key).execute()
      throw err
    }
    return { promoter: score !== null && score >= 9, nps: score }
  }

  /** Open surveys this member is invited to and has not answered (the API's "mine", the /surveys page). */
  async mine(viewer: Viewer) {
    ensure(viewer, 'answerSurvey', undefined)
    const userId = viewer.user!.id
    const rows = await this.db.selectFrom('surveys as s').innerJoin('survey_invitations as i', 'i.survey_id', 's.id')
      .select(['s.id', 's.title', 's.closes_at', 's.opens_at']).where('i.user_id', '=', userId)
      .where('s.opens_at', '<=', new Date()).where('s.closes_at', '>', new Date()).orderBy('s.closes_at').execute()
    const out = []
    for (const r of rows) {
      const done = await this.db.selectFrom('survey_responders').select('survey_id').where('survey_id', '=', r.id).where('responder_key', '=', this.responderKey(Number(r.id), userId)).executeTakeFirst()
      out.push({ id: Number(r.id), title: r.title, closesAt: r.closes_at, answered: !!done, url: `/surveys/${r.id}` })
    }
    return out
  }

  /** Every survey with its answer count (staff). */
  async list(viewer: Viewer) {
    ensure(viewer, 'manageSurveys', undefined)
    const rows = await this.db.selectFrom('surveys as s').select(surveyColumns.map((c) => `s.${c}` as const))
      .select(sql<number>`(select count(*) from survey_responses r where r.survey_id = s.id)::int`.as('responses'))
      .select(sql<number>`(select count(*) from survey_invitations i where i.survey_id = s.id)::int`.as('invited'))
      .orderBy('s.id', 'desc').limit(200).execute()
    return rows.map((r) => ({ ...this.summary({ ...r, id: Number(r.id), series_id: r.series_id === null ? null : Number(r.series_id) }), responses: r.responses, invited: r.invited }))
  }

  /**
   * The results (staff): per question a chart and a table; NPS with its interval, broken down
   * by trust level and lifecycle stage (groups under MIN_GROUP hidden when anonymous), and the
   * NPS of each wave of the series; free-text answers (with their author when attributed).
   */
  async results(viewer: Viewer, id: number) {
    ensure(viewer, 'manageSurveys', undefined)
    const survey = await this.load(id)
    const questions = this.questions(survey)
    const responses = await this.db.selectFrom('survey_responses as r').leftJoin('users as u', 'u.id', 'r.user_id')
      .select(['r.id', 'r.answers', 'r.trust_level', 'r.stage', 'r.answered_on', 'u.username']).where('r.survey_id', '=', id).orderBy('r.answered_on').orderBy('r.id').execute()
    const invited = Number((await this.db.selectFrom('survey_invitations').select((eb) => eb.fn.countAll<number>().as('n')).where('survey_id', '=', id).executeTakeFirstOrThrow()).n)
    const followups = new Map((await this.db.selectFrom('survey_followups').select(['response_id', 'status', 'idea_id']).where('survey_id', '=', id).execute()).map((f) => [f.response_id, f]))
    const ideasFrom = await this.db.selectFrom('ideas').select(['id', 'title']).where('survey_id', '=', id).execute()
    const groupOk = (n: number) => !survey.anonymous || n >= MIN_GROUP
    const items = questions.map((q, index) => {
      const values = responses.map((r) => ({ r, v: (r.answers as Record<string, unknown>)[q.id] })).filter((x) => x.v !== undefined)
      const base = { id: q.id, position: index + 1, label: q.label, kind: q.kind, kindLabel: QUESTION_LABELS[q.kind], answered: values.length }
      if (q.kind === 'text') {
        return { ...base, text: true, answers: values.map(({ r, v }) => ({ responseId: r.id, text: String(v), author: survey.anonymous ? null : r.username, on: day(r.answered_on) })) }
      }
      if (q.kind === 'single' || q.kind === 'multiple') {
        const rows = q.choices.map((c) => {
          const n = values.filter(({ v }) => (Array.isArray(v) ? v.includes(c) : v === c)).length
          return { label: c, value: n, percent: pct(n, values.length) }
        })
        return { ...base, table: rows, chart: barChart(rows.map((r) => ({ label: r.label.slice(0, 18), value: r.value })), q.label) }
      }
      const [lo, hi] = q.kind === 'nps' ? [0, 10] : q.kind === 'csat' ? [1, 5] : [q.min, q.max]
      const numbers = values.map(({ v }) => Number(v))
      const rows = Array.from({ length: hi - lo + 1 }, (_, i) => {
        const n = numbers.filter((x) => x === lo + i).length
        return { label: String(lo + i), value: n, percent: pct(n, numbers.length), key: q.kind === 'nps' ? (lo + i >= 9 ? 'promoter' : lo + i >= 7 ? 'passive' : 'detractor') : 'bar' }
      })
      const mean = numbers.length ? (numbers.reduce((a, b) => a + b, 0) / numbers.length).toFixed(2) : null
      const out: Record<string, unknown> = { ...base, table: rows, chart: barChart(rows, q.label), mean }
      if (q.kind === 'csat') {
        const satisfied = numbers.filter((x) => x >= 4).length
        out.csat = { satisfied, percent: pct(satisfied, numbers.length) }
      }
      if (q.kind === 'nps') {
        out.nps = nps(numbers)
        const by = (key: (r: (typeof responses)[number]) => string, label: (k: string) => string) => {
          const groups = new Map<string, number[]>()
          for (const { r, v } of values) groups.set(key(r), [...(groups.get(key(r)) ?? []), Number(v)])
          return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([k, xs]) => (groupOk(xs.length) ? { group: label(k), ...nps(xs), hidden: false } : { group: label(k), n: xs.length, hidden: true }))
        }
        out.byTrust = by((r) => String(r.trust_level), (k) => `Trust level ${k}`)
        out.byStage = by((r) => r.stage ?? 'unknown', (k) => (k === 'unknown' ? 'Not yet computed' : stageLabel(k)))
        out.followups = values.filter(({ v }) => Number(v) <= 6).map(({ r }) => followups.get(r.id)).filter(Boolean).length
      }
      return out
    })
    const waves = await this.waves(survey)
    return { survey: this.summary(survey), invited, responses: responses.length, items, waves, ideas: ideasFrom, followupsOpen: [...followups.values()].filter((f) => f.status === 'open').length }
  }

  /**
   * Closes a survey now (staff), before its end date or before it opened: no more answers,
   * no more invitations; what was answered stays. Logged. Closing a closed survey changes nothing.
   */
  async close(viewer: Viewer, id: number): Promise<boolean> {
    ensure(viewer, 'manageSurveys', undefined)
    await this.load(id)
    return this.db.transaction().execute(async (trx) => {
      const closed = await trx
        .updateTable('surveys')
        // A survey that had not opened yet keeps a period of a moment before now (closes_at > opens_at).
        .set({ closes_at: sql<Date>`now()`, opens_at: sql<Date>`least(opens_at, now() - interval '1 second')` })
        .where('id', '=', id)
        .where('closes_at', '>', sql<Date>`now()`)
        .returning('title')
        .executeTakeFirst()
      if (!closed) return false
      await logStaffAction(trx, { actorId: viewer.user!.id, action: 'survey.close', target: { type: 'settings', id: `survey:${id}` }, details: { title: closed.title } })
      return true
    })
  }

  /** NPS per wave of the survey's series (the first NPS question of each wave), with a chart. */
  private async waves(survey: SurveyRow) {
    const seriesId = survey.series_id ?? survey.id
    const rows = await this.db.selectFrom('surveys').select(['id', 'wave', 'title', 'questions', 'opens_at']).where((eb) => eb.or([eb('id', '=', seriesId), eb('series_id', '=', seriesId)])).orderBy('wave').execute()
    const out: { id: number; wave: number; title: string; opensAt: Date; nps: NpsResult }[] = []
    for (const w of rows) {
      const q = (w.questions as Question[]).find((x) => x.kind === 'nps')
      if (!q) continue
      const answers = await this.db.selectFrom('survey_responses').select(sql<number>`(answers->>${q.id})::int`.as('v')).where('survey_id', '=', w.id).where(sql<boolean>`answers ? ${q.id}`).execute()
      out.push({ id: Number(w.id), wave: w.wave, title: w.title, opensAt: w.opens_at, nps: nps(answers.map((a) => Number(a.v))) })
    }
    const chart = out.length > 1
      ? lineChart(out.map((w) => `Wave ${w.wave}`), [
        { name: 'NPS', key: 'nps', values: out.map((w) => Math.max(0, (w.nps.score ?? 0) + 100)) },
      ], 'NPS per wave (shifted by +100 so the axis starts at 0)')
      : ''
    return { items: out, chart }
  }

  /** The results as CSV (staff): one row per response; attributed surveys name the member. */
  async csv(viewer: Viewer, id: number): Promise<{ filename: string; body: string }> {
    ensure(viewer, 'manageSurveys', undefined)
    const survey = await this.load(id)
    const questions = this.questions(survey)
    const responses = await this.db.selectFrom('survey_responses as r').leftJoin('users as u', 'u.id', 'r.user_id')
      .select(['r.answers', 'r.trust_level', 'r.stage', 'r.answered_on', 'u.username']).where('r.survey_id', '=', id).orderBy('r.answered_on').orderBy('r.id').execute()
    const header = ['answered_on', 'trust_level', 'stage', ...(survey.anonymous ? [] : ['member']), ...questions.map((q) => q.label)]
    const rows = responses.map((r) => {
      const a = r.answers as Record<string, unknown>
      return [
        day(r.answered_on), String(r.trust_level), r.stage ?? '',
        ...(survey.anonymous ? [] : [r.username ?? '']),
        ...questions.map((q) => (Array.isArray(a[q.id]) ? (a[q.id] as string[]).join('; ') : a[q.id] === undefined ? '' : String(a[q.id]))),
      ]
    })
    return { filename: `survey-${id}.csv`, body: toCsv([header, ...rows]) }
  }

  /** Follow-up items of attributed detractors (staff): open first. */
  async followupList(viewer: Viewer) {
    ensure(viewer, 'manageSurveys', undefined)
    const rows = await this.db.selectFrom('survey_followups as f').innerJoin('surveys as s', 's.id', 'f.survey_id').leftJoin('users as u', 'u.id', 'f.user_id')
      .innerJoin('survey_responses as r', 'r.id', 'f.response_id')
      .select(['f.id', 'f.survey_id', 'f.score', 'f.status', 'f.note', 'f.created_at', 'f.updated_at', 's.title', 'u.username', 'r.answers', 's.questions'])
      .orderBy(sql`f.status = 'open'`, 'desc').orderBy('f.created_at', 'desc').limit(200).execute()
    return rows.map((r) => {
      const qs = r.questions as Question[]
      const texts = qs.filter((q) => q.kind === 'text').map((q) => (r.answers as Record<string, unknown>)[q.id]).filter(Boolean).map(String)
      return { id: Number(r.id), surveyId: Number(r.survey_id), survey: r.title, score: r.score, status: r.status, note: r.note, member: r.username, comments: texts, createdAt: r.created_at, updatedAt: r.updated_at }
    })
  }

  /** Marks a follow-up contacted or resolved (staff), logged. */
  async setFollowup(viewer: Viewer, id: number, raw: unknown) {
    ensure(viewer, 'manageSurveys', undefined)
    const input = parse(FollowupInput, raw)
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.updateTable('survey_followups').set({ status: input.status, note: input.note, updated_by: viewer.user!.id, updated_at: new Date() })
        .where('id', '=', id).returning(['survey_id', 'user_id']).executeTakeFirst()
      if (!row) throw new NotFound('No such follow-up')
      await logStaffAction(trx, { actorId: viewer.user!.id, action: 'survey.followup', target: { type: 'settings', id: `followup:${id}` }, reason: input.note, details: { status: input.status, surveyId: Number(row.survey_id), memberId: row.user_id } })
    })
    return { id, status: input.status }
  }

  /**
   * Turns one free-text answer into an idea on the board (staff, one action): the staff
   * member proposes it with the answer quoted and a link back to the survey; logged.
   */
  async ideaFromAnswer(viewer: Viewer, surveyId: number, responseId: string, questionId: string, actor: Member): Promise<{ ideaId: number; url: string }> {
    ensure(viewer, 'manageSurveys', undefined)
    const survey = await this.load(surveyId)
    if (!/^[0-9a-f-]{36}$/.test(responseId)) throw new NotFound('No such answer')
    const response = await this.db.selectFrom('survey_responses').select(['answers']).where('id', '=', responseId).where('survey_id', '=', surveyId).executeTakeFirst()
    const text = response ? (response.answers as Record<string, unknown>)[questionId] : undefined
    const question = this.questions(survey).find((q) => q.id === questionId && q.kind === 'text')
    if (!response || !question || typeof text !== 'string') throw new NotFound('No such answer')
    const firstLine = text.split('\n')[0]!.trim()
    const title = (firstLine.length >= 10 ? firstLine : `From “${survey.title}”: ${firstLine}`).slice(0, 140)
    const body = `${text.split('\n').map((l) => `> ${l}`).join('\n')}\n\nFrom an answer to the survey [${survey.title.replace(/[[\]]/g, '')}](/surveys/${surveyId}/results) (“${question.label}”).`
    const idea = await this.ideas.propose(actor, { title: title.length >= 10 ? title : `${title} (survey)`, body })
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('ideas').set({ survey_id: surveyId }).where('id', '=', idea.id).execute()
      await trx.updateTable('survey_followups').set({ idea_id: idea.id }).where('response_id', '=', responseId).execute()
      await logStaffAction(trx, { actorId: viewer.user!.id, action: 'survey.idea', target: { type: 'idea', id: idea.id }, details: { surveyId } })
    })
    return { ideaId: idea.id, url: `/ideas/${idea.id}` }
  }

  /** The survey an idea was made from, for the idea's page. */
  async sourceOfIdea(ideaId: number): Promise<{ id: number; title: string } | null> {
    const row = await this.db.selectFrom('ideas as i').innerJoin('surveys as s', 's.id', 'i.survey_id').select(['s.id', 's.title']).where('i.id', '=', ideaId).executeTakeFirst()
    return row ? { id: Number(row.id), title: row.title } : null
  }

  /** Runs one invitation batch and queues the next (the job handler). */
  async runInviteJob(surveyId: number, afterUserId: number): Promise<{ invited: number; next: number | null }> {
    const done = await this.inviteBatch(surveyId, afterUserId)
    if (done.next !== null && this.queue) {
      await this.queue.enqueue('surveys.invite', { surveyId, afterUserId: done.next }, { jobId: `surveys.invite:${surveyId}:${done.next}` })
    }
    return done
  }

  /** Starts a survey's invitations by hand (or without Redis, in the request): staff. */
  async inviteNow(viewer: Viewer, id: number): Promise<number> {
    ensure(viewer, 'manageSurveys', undefined)
    await this.load(id)
    if (this.queue) {
      await this.queue.enqueue('surveys.invite', { surveyId: id, afterUserId: 0 }, { jobId: `surveys.invite:${id}:0:${Date.now()}` })
      return 0
    }
    let after: number | null = 0
    let total = 0
    while (after !== null) {
      const r = await this.inviteBatch(id, after)
      total += r.invited
      after = r.next
    }
    return total
  }

}
