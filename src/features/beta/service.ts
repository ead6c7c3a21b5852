import { sql } from 'kysely'
import { z } from 'zod'
import type { SessionUser } from '../../core/auth/sessions.js'
import { can, ensure, type GuardUser, isAdmin, viewerOf } from '../../core/guard.js'
import type { CommunitySettings } from '../../core/settings.js'
import type { Db, Trx } from '../../core/db.js'
import type { BetaSignupStatus } from '../../core/db-types.js'
import { Conflict, Forbidden, Invalid, NotFound, parse } from '../../core/errors.js'
import type { Outbox } from '../../core/outbox.js'
import { renderMarkdown } from '../../core/markdown.js'
import { logStaffAction } from '../moderation/log.js'
import type { NewNotification, NotificationRow, NotificationService } from '../notifications/service.js'
import type { IdeaService } from '../ideas/service.js'
import { toCsv } from './csv.js'
import { answersSchema, ClosingInput, NewProgramInput, Question, ReviewInput, SIGNUP_LABELS, SignupBody } from './schemas.js'

type Viewer = (GuardUser & Pick<SessionUser, 'username'>) | null

/** A member's place in a program, as pages and the API show it. */
export interface SignupState {
  status: BetaSignupStatus
  statusLabel: string
  position?: number
}

const Questions = z.array(Question)
const dateFormat = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })

function when(date: Date): string {
  return `${dateFormat.format(date)} UTC`
}

function state(row: { status: BetaSignupStatus; waitlist_position: number | null }): SignupState {
  return {
    status: row.status,
    statusLabel: SIGNUP_LABELS[row.status],
    ...(row.waitlist_position ? { position: row.waitlist_position } : {}),
  }
}

const programColumns = [
  'beta_programs.id',
  'beta_programs.title',
  'beta_programs.description_md',
  'beta_programs.description_html',
  'beta_programs.idea_id',
  'beta_programs.opens_at',
  'beta_programs.closes_at',
  'beta_programs.capacity',
  'beta_programs.min_trust_level',
  'beta_programs.members_only',
  'beta_programs.questions',
  'beta_programs.review_mode',
  'beta_programs.seats_taken',
  'beta_programs.waitlist_length',
  'beta_programs.created_at',
  'beta_programs.closed_at',
] as const

type ProgramRow = {
  id: number
  title: string
  description_md: string
  description_html: string
  idea_id: number | null
  opens_at: Date
  closes_at: Date | null
  capacity: number
  min_trust_level: number
  members_only: boolean
  questions: unknown
  review_mode: 'auto' | 'manual'
  seats_taken: number
  waitlist_length: number
  created_at: Date
  closed_at: Date | null
}

/**
 * Beta-test programs: admins create them, members sign up. Capacity is enforced by
 * locking the program row in every sign-up, withdrawal and review (and a check
 * constraint besides), so a seat is never given twice; the waitlist stays gapless.
 */
export class BetaService {
  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox,
    private readonly notifications: NotificationService,
    private readonly ideas: IdeaService,
    private readonly settings: CommunitySettings,
  ) {}

  /** Creates a program (admins only). */
  async create(actor: NonNullable<Viewer>, raw: unknown) {
    if (!isAdmin(viewerOf(actor))) throw new Forbidden('Only admins create beta programs')
    const input = parse(NewProgramInput, raw)
    if (input.ideaId) await this.ideas.assertLinkable(input.ideaId)
    const row = await this.db
      .insertInto('beta_programs')
      .values({
        title: input.title,
        description_md: input.description,
        description_html: renderMarkdown(input.description).html,
        idea_id: input.ideaId ?? null,
        opens_at: input.opensAt,
        closes_at: input.closesAt ?? null,
        capacity: input.capacity,
        min_trust_level: input.minTrustLevel,
        members_only: input.membersOnly,
        review_mode: input.reviewMode,
        questions: JSON.stringify(input.questions),
        created_by: actor.id,
      })
      .returning(programColumns)
      .executeTakeFirstOrThrow()
    return this.view(row, null)
  }

  /**
   * Edits a program (admins), logged. Questions change only where existing answers stay
   * meaningful (see checkQuestionEdits). Capacity never drops below the seats already held,
   * so no confirmed tester loses a seat; raising it gives the new seats to the waitlist in
   * order, in the same transaction, and tells each promoted member.
   */
  async update(actor: NonNullable<Viewer>, id: number, raw: unknown) {
    ensure(viewerOf(actor), 'administer', undefined)
    const current = await this.load(id, actor)
    // A partial update: what is not sent (or sent empty, like a cleared "opens" field) stays as it is.
    const given = Object.fromEntries(Object.entries(raw && typeof raw === 'object' ? raw : {}).filter(([k, v]) => v !== undefined && !(k === 'opensAt' && v === '')))
    const input = parse(NewProgramInput, {
      title: current.title,
      description: current.description_md,
      ideaId: current.idea_id,
      opensAt: current.opens_at,
      closesAt: current.closes_at,
      capacity: current.capacity,
      minTrustLevel: current.min_trust_level,
      membersOnly: current.members_only,
      reviewMode: current.review_mode,
      questions: current.questions,
      ...given,
    })
    if (input.ideaId) await this.ideas.assertLinkable(input.ideaId)
    const promoted = await this.db.transaction().execute(async (trx) => {
      const program = await trx.selectFrom('beta_programs').select(programColumns).where('id', '=', id).forUpdate().executeTakeFirst()
      if (!program) throw new NotFound('No such beta program')
      if (input.capacity < program.seats_taken) {
        throw Invalid.field(
          'capacity',
          `${program.seats_taken} ${program.seats_taken === 1 ? 'tester already holds a seat' : 'testers already hold seats'}: capacity cannot go below that. Decline sign-ups first if you must.`,
        )
      }
      const before = Questions.parse(program.questions)
      checkQuestionEdits(before, input.questions, await this.answered(trx, id))
      await trx
        .updateTable('beta_programs')
        .set({
          title: input.title,
          description_md: input.description,
          description_html: renderMarkdown(input.description).html,
          idea_id: input.ideaId ?? null,
          opens_at: input.opensAt,
          closes_at: input.closesAt ?? null,
          capacity: input.capacity,
          min_trust_level: input.minTrustLevel,
          members_only: input.membersOnly,
          review_mode: input.reviewMode,
          questions: JSON.stringify(input.questions),
        })
        .where('id', '=', id)
        .execute()
      const free = input.capacity - program.seats_taken
      const rows = free > 0 && program.waitlist_length > 0 ? await this.promote(trx, { ...program, review_mode: input.reviewMode, title: input.title }, free) : []
      const time = (d: Date | null | undefined) => d?.getTime() ?? null
      const changed = Object.entries({
        title: program.title !== input.title,
        description: program.description_md !== input.description,
        idea: program.idea_id !== (input.ideaId ?? null),
        dates: time(program.opens_at) !== time(input.opensAt) || time(program.closes_at) !== time(input.closesAt),
        capacity: program.capacity !== input.capacity,
        trust: program.min_trust_level !== input.minTrustLevel,
        visibility: program.members_only !== input.membersOnly,
        review: program.review_mode !== input.reviewMode,
        questions: JSON.stringify(before) !== JSON.stringify(input.questions),
      })
        .filter(([, differs]) => differs)
        .map(([field]) => field)
      await logStaffAction(trx, {
        actorId: actor.id,
        action: 'beta.edit',
        target: { type: 'beta_program', id },
        details: { changed, ...(program.capacity !== input.capacity ? { capacity: { from: program.capacity, to: input.capacity } } : {}), promoted: rows.length },
      })
      await this.seatsChanged(trx, id, await this.seatsLeft(trx, id))
      return rows.length
    })
    return { ...(await this.get(id, actor)), promoted }
  }

  /**
   * Closes a program's sign-ups by hand (admins), or reopens them; logged. Sign-ups already
   * made stay as they are, and a freed seat still goes to the waitlist. Reopening also
   * clears a scheduled close that has passed, so the program really takes sign-ups again.
   */
  async setClosed(actor: NonNullable<Viewer>, id: number, closed: boolean, raw: unknown = {}) {
    ensure(viewerOf(actor), 'administer', undefined)
    const input = parse(ClosingInput, raw ?? {})
    await this.db.transaction().execute(async (trx) => {
      const program = await trx.selectFrom('beta_programs').select(['id', 'closed_at', 'closes_at']).where('id', '=', id).forUpdate().executeTakeFirst()
      if (!program) throw new NotFound('No such beta program')
      const now = new Date()
      const isClosed = program.closed_at !== null || (program.closes_at !== null && program.closes_at <= now)
      if (isClosed === closed) return
      await trx
        .updateTable('beta_programs')
        .set(closed ? { closed_at: sql<Date>`now()` as unknown as Date } : { closed_at: null, ...(program.closes_at && program.closes_at <= now ? { closes_at: null } : {}) })
        .where('id', '=', id)
        .execute()
      await logStaffAction(trx, { actorId: actor.id, action: closed ? 'beta.close' : 'beta.reopen', target: { type: 'beta_program', id }, reason: input.reason })
    })
    return this.get(id, actor)
  }

  /** Which questions (and which choices of them) existing sign-ups have answered. */
  private async answered(trx: Trx, id: number): Promise<Map<string, Set<string>>> {
    const { rows } = await sql<{ key: string; value: string | null }>`
      select distinct e.key, v.value
      from beta_signups s
      cross join jsonb_each(s.answers) e
      left join lateral jsonb_array_elements_text(case jsonb_typeof(e.value) when 'array' then e.value else jsonb_build_array(e.value) end) v(value) on true
      where s.program_id = ${id}`.execute(trx)
    const used = new Map<string, Set<string>>()
    for (const r of rows) {
      const set = used.get(r.key) ?? new Set<string>()
      if (r.value !== null) set.add(r.value)
      used.set(r.key, set)
    }
    return used
  }

  /**
   * Gives up to `seats` seats to the first members on the waitlist, in order, and moves
   * everyone behind them up (under the program lock; positions are checked at commit).
   */
  private async promote(trx: Trx, program: { id: number; title: string; review_mode: 'auto' | 'manual' }, seats: number): Promise<NotificationRow[]> {
    const next = await trx
      .selectFrom('beta_signups')
      .select(['id', 'user_id'])
      .where('program_id', '=', program.id)
      .where('status', '=', 'waitlisted')
      .orderBy('waitlist_position')
      .limit(seats)
      .execute()
    if (next.length === 0) return []
    const promotedTo = program.review_mode === 'manual' ? 'pending' : 'accepted'
    await trx
      .updateTable('beta_signups')
      .set({ status: promotedTo, waitlist_position: null, updated_at: sql<Date>`now()` as unknown as Date })
      .where('id', 'in', next.map((n) => n.id))
      .execute()
    await trx
      .updateTable('beta_signups')
      .set({ waitlist_position: sql<number>`waitlist_position - ${next.length}` })
      .where('program_id', '=', program.id)
      .where('status', '=', 'waitlisted')
      .execute()
    await trx
      .updateTable('beta_programs')
      .set({ seats_taken: sql<number>`seats_taken + ${next.length}`, waitlist_length: sql<number>`waitlist_length - ${next.length}` })
      .where('id', '=', program.id)
      .execute()
    return this.notifications.create(trx, next.map((n) => promotionNotice(program, n.user_id, promotedTo)))
  }

  /** Programs the viewer may see, newest first, each with the viewer's own state. */
  async list(viewer: Viewer) {
    let q = this.db.selectFrom('beta_programs').select(programColumns).orderBy('beta_programs.id', 'desc').limit(100)
    if (!can(viewerOf(viewer), 'readBeta', { members_only: true })) q = q.where('beta_programs.members_only', '=', false)
    const rows = await q.execute()
    const mine = viewer
      ? await this.db
          .selectFrom('beta_signups')
          .select(['program_id', 'status', 'waitlist_position'])
          .where('user_id', '=', viewer.id)
          .where('program_id', 'in', rows.length ? rows.map((r) => r.id) : [0])
          .execute()
      : []
    return rows.map((r) => this.view(r, mine.find((m) => m.program_id === r.id) ?? null))
  }

  /** One program with the viewer's state; members-only programs are 404 to guests. */
  async get(id: number, viewer: Viewer) {
    const row = await this.load(id, viewer)
    const mine = viewer
      ? await this.db
          .selectFrom('beta_signups')
          .select(['status', 'waitlist_position'])
          .where('program_id', '=', id)
          .where('user_id', '=', viewer.id)
          .executeTakeFirst()
      : undefined
    const idea = row.idea_id
      ? await this.db.selectFrom('ideas').select(['id', 'title']).where('id', '=', row.idea_id).executeTakeFirst()
      : undefined
    return { ...this.view(row, mine ?? null), idea: idea ?? null }
  }

  /** The programs linked to an idea, for its page. */
  async forIdea(ideaId: number) {
    const rows = await this.db.selectFrom('beta_programs').select(programColumns).where('idea_id', '=', ideaId).orderBy('id', 'desc').execute()
    return rows.map((r) => this.view(r, null))
  }

  /**
   * Signs a member up. Idempotent: asking again returns the same state. While seats
   * remain the sign-up is accepted (or pending review); after that it is waitlisted with
   * the next position. All of it under the program row's lock.
   */
  async signUp(user: NonNullable<Viewer>, id: number, raw: unknown): Promise<SignupState & { created: boolean }> {
    const program = await this.load(id, user)
    ensure(viewerOf(user), 'betaSignUp', program, { settings: await this.settings.all() })
    const existing = await this.db
      .selectFrom('beta_signups')
      .select(['status', 'waitlist_position'])
      .where('program_id', '=', id)
      .where('user_id', '=', user.id)
      .executeTakeFirst()
    if (existing && existing.status !== 'withdrawn') return { ...state(existing), created: false }
    this.assertOpen(program)
    const questions = Questions.parse(program.questions)
    const { answers } = parse(z.object({ answers: answersSchema(questions) }), { answers: parse(SignupBody, raw).answers })

    const result = await this.db.transaction().execute(async (trx) => {
      const locked = await this.lock(trx, id)
      const again = await trx
        .selectFrom('beta_signups')
        .select(['id', 'status', 'waitlist_position'])
        .where('program_id', '=', id)
        .where('user_id', '=', user.id)
        .executeTakeFirst()
      if (again && again.status !== 'withdrawn') return { row: again, created: false, seatsLeft: locked.capacity - locked.seats_taken }
      const seat = locked.seats_taken < locked.capacity
      const status: BetaSignupStatus = seat ? (locked.review_mode === 'manual' ? 'pending' : 'accepted') : 'waitlisted'
      const position = seat ? null : locked.waitlist_length + 1
      const values = { status, waitlist_position: position, answers: JSON.stringify(answers), updated_at: sql<Date>`now()` as unknown as Date }
      const row = again
        ? await trx.updateTable('beta_signups').set(values).where('id', '=', again.id).returning(['id', 'status', 'waitlist_position']).executeTakeFirstOrThrow()
        : await trx
            .insertInto('beta_signups')
            .values({ program_id: id, user_id: user.id, ...values })
            .returning(['id', 'status', 'waitlist_position'])
            .executeTakeFirstOrThrow()
      const counts = await trx
        .updateTable('beta_programs')
        .set(seat ? { seats_taken: sql<number>`seats_taken + 1` } : { waitlist_length: sql<number>`waitlist_length + 1` })
        .where('id', '=', id)
        .returning(['capacity', 'seats_taken'])
        .executeTakeFirstOrThrow()
      await this.seatsChanged(trx, id, counts.capacity - counts.seats_taken)
      return { row, created: true }
    })
    return { ...state(result.row), created: result.created }
  }

  /**
   * Withdraws a member's sign-up (idempotent). A freed seat goes to the first on the
   * waitlist, who is notified; everyone behind moves up one place.
   */
  async withdraw(user: NonNullable<Viewer>, id: number): Promise<SignupState> {
    await this.load(id, user)
    ensure(viewerOf(user), 'retract', undefined)
    const { result } = await this.db.transaction().execute(async (trx) => {
      const program = await this.lock(trx, id)
      const mine = await trx
        .selectFrom('beta_signups')
        .select(['id', 'status', 'waitlist_position'])
        .where('program_id', '=', id)
        .where('user_id', '=', user.id)
        .executeTakeFirst()
      if (!mine) throw new NotFound('You have not signed up for this beta')
      if (mine.status === 'withdrawn' || mine.status === 'declined') return { result: state(mine), rows: [] }
      const rows = await this.leave(trx, program, mine, 'withdrawn')
      await this.seatsChanged(trx, id, await this.seatsLeft(trx, id))
      return { result: state({ status: 'withdrawn', waitlist_position: null }), rows }
    })
    return result
  }

  /** Accepts a pending sign-up or declines any active one (admins); logged, and the member is told. */
  async review(actor: NonNullable<Viewer>, id: number, userId: number, raw: unknown): Promise<SignupState> {
    ensure(viewerOf(actor), 'administer', undefined)
    const input = parse(ReviewInput, raw)
    const { result } = await this.db.transaction().execute(async (trx) => {
      const program = await this.lock(trx, id)
      const signup = await trx
        .selectFrom('beta_signups')
        .select(['id', 'status', 'waitlist_position'])
        .where('program_id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst()
      if (!signup) throw new NotFound('That member has not signed up for this beta')
      let rows: NotificationRow[]
      if (input.decision === 'accept') {
        if (signup.status !== 'pending') throw new Conflict(`Only pending sign-ups can be accepted; this one is ${SIGNUP_LABELS[signup.status].toLowerCase()}`)
        await trx.updateTable('beta_signups').set({ status: 'accepted', updated_at: sql<Date>`now()` as unknown as Date }).where('id', '=', signup.id).execute()
        rows = await this.notifications.create(trx, [
          { userId, kind: 'beta.accepted', actorId: actor.id, url: `/beta/${id}`, text: `You are in: your sign-up for the "${program.title}" beta was accepted.`, payload: { programId: id } },
        ])
      } else {
        if (signup.status === 'declined' || signup.status === 'withdrawn') {
          throw new Conflict(`This sign-up is already ${SIGNUP_LABELS[signup.status].toLowerCase()}`)
        }
        rows = await this.leave(trx, program, signup, 'declined')
        rows.push(
          ...(await this.notifications.create(trx, [
            { userId, kind: 'beta.declined', actorId: actor.id, url: `/beta/${id}`, text: `Your sign-up for the "${program.title}" beta was declined.${input.note ? ` ${input.note}` : ''}`, payload: { programId: id } },
          ])),
        )
      }
      await logStaffAction(trx, {
        actorId: actor.id,
        action: input.decision === 'accept' ? 'beta.accept' : 'beta.decline',
        target: { type: 'beta_signup', id: signup.id },
        reason: input.note,
        details: { programId: id, userId, from: signup.status },
      })
      const after = await trx.selectFrom('beta_signups').select(['status', 'waitlist_position']).where('id', '=', signup.id).executeTakeFirstOrThrow()
      await this.seatsChanged(trx, id, await this.seatsLeft(trx, id))
      return { result: state(after), rows }
    })
    return result
  }

  /** Tells the program's live page how many seats are left, in the transaction that moved them. */
  private seatsChanged(trx: Trx, programId: number, seatsLeft: number): Promise<void> {
    return this.outbox.emit(trx, 'beta.seats', { programId, seatsLeft }, { channels: [`beta:${programId}`] })
  }

  /** Every sign-up of a program with member and answers, for the admin's review page. */
  async signups(actor: NonNullable<Viewer>, id: number) {
    ensure(viewerOf(actor), 'administer', undefined)
    const program = await this.load(id, actor)
    const rows = await this.db
      .selectFrom('beta_signups')
      .innerJoin('users', 'users.id', 'beta_signups.user_id')
      .select([
        'beta_signups.user_id',
        'users.username',
        'users.email',
        'users.trust_level',
        'beta_signups.status',
        'beta_signups.waitlist_position',
        'beta_signups.answers',
        'beta_signups.created_at',
      ])
      .where('beta_signups.program_id', '=', id)
      .orderBy(sql`case beta_signups.status when 'pending' then 0 when 'accepted' then 1 when 'waitlisted' then 2 else 3 end`)
      .orderBy('beta_signups.waitlist_position')
      .orderBy('beta_signups.id')
      .execute()
    const questions = Questions.parse(program.questions)
    return {
      program: this.view(program, null),
      questions,
      signups: rows.map((r) => ({
        ...r,
        statusLabel: SIGNUP_LABELS[r.status],
        answerList: questions.map((q) => ({ label: q.label, value: formatAnswer(r.answers[q.id]) })),
      })),
    }
  }

  /** The participants as CSV (admins): cells escaped, formulas neutralised. */
  async participantsCsv(actor: NonNullable<Viewer>, id: number): Promise<{ filename: string; csv: string }> {
    const { program, questions, signups } = await this.signups(actor, id)
    const header = ['username', 'email', 'status', 'waitlist position', 'signed up at', ...questions.map((q) => q.label)]
    const body = signups.map((s) => [
      s.username,
      s.email,
      s.status,
      s.waitlist_position === null ? '' : String(s.waitlist_position),
      s.created_at.toISOString(),
      ...questions.map((q) => formatAnswer(s.answers[q.id])),
    ])
    return { filename: `beta-${program.id}-participants.csv`, csv: toCsv([header, ...body]) }
  }

  /** Loads a program the viewer may see; members-only programs do not exist for guests. */
  private async load(id: number, viewer: Viewer): Promise<ProgramRow> {
    const row = await this.db.selectFrom('beta_programs').select(programColumns).where('id', '=', id).executeTakeFirst()
    if (!row) throw new NotFound('No such beta program')
    ensure(viewerOf(viewer), 'readBeta', row)
    return row
  }

  private async lock(trx: Trx, id: number) {
    const row = await trx
      .selectFrom('beta_programs')
      .select(['id', 'title', 'capacity', 'seats_taken', 'waitlist_length', 'review_mode'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst()
    if (!row) throw new NotFound('No such beta program')
    return row
  }

  private async seatsLeft(trx: Trx, id: number): Promise<number> {
    const row = await trx.selectFrom('beta_programs').select(['capacity', 'seats_taken']).where('id', '=', id).executeTakeFirstOrThrow()
    return row.capacity - row.seats_taken
  }

  /**
   * Takes a sign-up out (withdrawn or declined) under the program lock: a seat holder's
   * seat goes to the first waitlisted member; a waitlisted member's place closes up.
   */
  private async leave(
    trx: Trx,
    program: { id: number; title: string; review_mode: 'auto' | 'manual' },
    signup: { id: number; status: BetaSignupStatus; waitlist_position: number | null },
    to: 'withdrawn' | 'declined',
  ): Promise<NotificationRow[]> {
    await trx
      .updateTable('beta_signups')
      .set({ status: to, waitlist_position: null, updated_at: sql<Date>`now()` as unknown as Date })
      .where('id', '=', signup.id)
      .execute()
    if (signup.status === 'waitlisted') {
      await this.closeUp(trx, program.id, signup.waitlist_position!)
      await trx.updateTable('beta_programs').set({ waitlist_length: sql<number>`waitlist_length - 1` }).where('id', '=', program.id).execute()
      return []
    }
    const next = await trx
      .selectFrom('beta_signups')
      .select(['id', 'user_id'])
      .where('program_id', '=', program.id)
      .where('waitlist_position', '=', 1)
      .executeTakeFirst()
    if (!next) {
      await trx.updateTable('beta_programs').set({ seats_taken: sql<number>`seats_taken - 1` }).where('id', '=', program.id).execute()
      return []
    }
    const promotedTo = program.review_mode === 'manual' ? 'pending' : 'accepted'
    await trx
      .updateTable('beta_signups')
      .set({ status: promotedTo, waitlist_position: null, updated_at: sql<Date>`now()` as unknown as Date })
      .where('id', '=', next.id)
      .execute()
    await this.closeUp(trx, program.id, 1)
    await trx.updateTable('beta_programs').set({ waitlist_length: sql<number>`waitlist_length - 1` }).where('id', '=', program.id).execute()
    return this.notifications.create(trx, [promotionNotice(program, next.user_id, promotedTo)])
  }

  // Everyone behind a freed place moves up one (the unique position is checked at commit).
  private async closeUp(trx: Trx, programId: number, freed: number): Promise<void> {
    await trx
      .updateTable('beta_signups')
      .set({ waitlist_position: sql<number>`waitlist_position - 1` })
      .where('program_id', '=', programId)
      .where('status', '=', 'waitlisted')
      .where('waitlist_position', '>', freed)
      .execute()
  }

  private assertOpen(program: ProgramRow): void {
    const now = new Date()
    if (program.closed_at) throw new Conflict('Sign-ups for this beta are closed')
    if (program.opens_at > now) throw new Conflict(`Sign-ups for this beta open on ${when(program.opens_at)}`)
    if (program.closes_at && program.closes_at <= now) throw new Conflict(`Sign-ups for this beta closed on ${when(program.closes_at)}`)
  }

  private view(row: ProgramRow, mine: { status: BetaSignupStatus; waitlist_position: number | null } | null) {
    const now = new Date()
    const phase = row.closed_at || (row.closes_at && row.closes_at <= now) ? 'closed' : row.opens_at > now ? 'upcoming' : 'open'
    const seatsLeft = row.capacity - row.seats_taken
    return {
      id: row.id,
      title: row.title,
      descriptionHtml: row.description_html,
      descriptionMd: row.description_md,
      ideaId: row.idea_id,
      opensAt: row.opens_at,
      closesAt: row.closes_at,
      capacity: row.capacity,
      seatsLeft,
      waitlisted: row.waitlist_length,
      minTrustLevel: row.min_trust_level,
      membersOnly: row.members_only,
      reviewMode: row.review_mode,
      questions: Questions.parse(row.questions),
      closedByHand: row.closed_at !== null,
      closedAt: row.closed_at,
      phase,
      phaseLabel: phase === 'upcoming' ? 'Opens soon' : phase === 'closed' ? 'Closed' : seatsLeft > 0 ? 'Open' : 'Full: waitlist open',
      url: `/beta/${row.id}`,
      mine: mine ? state(mine) : null,
    }
  }
}

/** The notice a member gets when a seat opens for them. */
function promotionNotice(program: { id: number; title: string }, userId: number, promotedTo: 'accepted' | 'pending'): NewNotification {
  return {
    userId,
    kind: 'beta.promoted',
    url: `/beta/${program.id}`,
    text:
      promotedTo === 'accepted'
        ? `A seat opened up: you are in the "${program.title}" beta.`
        : `A seat opened up in the "${program.title}" beta: your sign-up now awaits review.`,
    payload: { programId: program.id, status: promotedTo },
  }
}

/**
 * Refuses question edits that would break answers already given: a question someone
 * answered keeps its id and kind of answer, and a choice someone picked stays offered.
 * Labels, "required" and new questions or choices are always fine.
 */
export function checkQuestionEdits(before: Question[], after: Question[], answered: Map<string, Set<string>>): void {
  for (const old of before) {
    const used = answered.get(old.id)
    if (!used) continue
    const next = after.find((q) => q.id === old.id)
    if (!next) throw Invalid.field('questions', `"${old.label}" already has answers, so it cannot be removed`)
    const kind = (q: Question) => (q.type.endsWith('_choice') ? 'choice' : 'text')
    if (kind(next) !== kind(old) || (old.type === 'multiple_choice') !== (next.type === 'multiple_choice')) {
      throw Invalid.field('questions', `"${old.label}" already has answers, so its kind of answer cannot change`)
    }
    if (kind(old) === 'choice') {
      const dropped = [...used].filter((c) => old.choices.includes(c) && !next.choices.includes(c))
      if (dropped.length > 0) {
        throw Invalid.field('questions', `Members already picked "${dropped[0]}" for "${old.label}": keep that choice (you can add others)`)
      }
    }
  }
}

function formatAnswer(value: unknown): string {
  if (Array.isArray(value)) return value.join('; ')
  return value === undefined || value === null ? '' : String(value)
}
