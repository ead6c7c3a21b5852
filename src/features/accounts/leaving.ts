import { verifyPassword } from '../../core/auth/passwords.js'
import type { SessionUser } from '../../core/auth/sessions.js'
import type { Db, Trx } from '../../core/db.js'
import type { DeletionMode } from '../../core/db-types.js'
import { Conflict, Invalid, NotFound, parse } from '../../core/errors.js'
import { ensure, viewerOf } from '../../core/guard.js'
import type { CommunitySettings } from '../../core/settings.js'
import { logStaffAction } from '../moderation/log.js'
import type { NotificationService } from '../notifications/service.js'
import type { PersonalDataContext, PersonalDataContributor } from './personal-data-registry.js'
import { AdminDeletionInput, DeletionRequestInput } from './schemas.js'

/** What a deletion request led to: deleted at once (no cooling-off), or due at a time. */
export type DeletionOutcome = { deleted: true } | { deleted: false; dueAt: Date; mode: DeletionMode }

const DAY = 86_400_000
/** How many due deletions one run of the job performs; the next run takes the rest. */
const DELETIONS_PER_RUN = 50

/**
 * Account deletion (GDPR art. 17). A member asks, with their password and their choice of
 * mode; the request waits out the cooling-off period (a community setting), during which
 * every page shows them a banner with Cancel; the `account.deletions` job then performs it.
 * The deletion itself runs every registered personal-data contributor in one transaction.
 */
export class LeavingService {
  constructor(
    private readonly db: Db,
    private readonly settings: CommunitySettings,
    private readonly notifications: NotificationService,
    private readonly contributors: () => readonly PersonalDataContributor[],
    private readonly context: () => PersonalDataContext,
  ) {}

  /** The member asks for their account to be deleted (or, with no cooling-off, deletes it now). */
  async request(user: SessionUser, raw: unknown): Promise<DeletionOutcome> {
    ensure(viewerOf(user), 'manageAccount', undefined)
    const input = parse(DeletionRequestInput, raw)
    const row = await this.db.selectFrom('users').select(['password_hash', 'role']).where('id', '=', user.id).executeTakeFirstOrThrow()
    if (!(await verifyPassword(row.password_hash, input.password))) throw Invalid.field('password', 'Your password is not right')
    if (row.role === 'admin') await this.assertAnotherAdmin(user.id)
    const days = (await this.settings.all()).account_deletion_cooling_days
    if (days === 0) {
      await this.deleteNow(user.id, input.mode)
      return { deleted: true }
    }
    const dueAt = new Date(Date.now() + days * DAY)
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set({ deletion_requested_at: new Date(), deletion_due_at: dueAt, deletion_mode: input.mode })
        .where('id', '=', user.id)
        .where('deleted_at', 'is', null)
        .execute()
      await this.scheduledNotice(trx, user.id, dueAt)
    })
    return { deleted: false, dueAt, mode: input.mode }
  }

  /** Cancels a pending deletion; false when there was none. */
  async cancel(user: SessionUser): Promise<boolean> {
    ensure(viewerOf(user), 'manageAccount', undefined)
    const result = await this.db
      .updateTable('users')
      .set({ deletion_requested_at: null, deletion_due_at: null, deletion_mode: null })
      .where('id', '=', user.id)
      .where('deletion_due_at', 'is not', null)
      .where('deleted_at', 'is', null)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  /**
   * An admin deletes a member's account on their behalf (logged): at once, or after the
   * cooling-off like the member's own request (which the member may then cancel).
   */
  async adminDelete(actor: SessionUser, userId: number, raw: unknown): Promise<DeletionOutcome> {
    ensure(viewerOf(actor), 'administer', undefined)
    const input = parse(AdminDeletionInput, raw)
    const target = await this.db.selectFrom('users').select(['id', 'role', 'deleted_at']).where('id', '=', userId).executeTakeFirst()
    if (!target || target.deleted_at) throw new NotFound('No such member')
    if (target.id === actor.id) throw new Conflict('Delete your own account from your settings')
    if (target.role === 'admin') throw new Conflict('Make this admin a member first; admins cannot be deleted from here')
    const log = (trx: Trx) =>
      logStaffAction(trx, {
        actorId: actor.id,
        action: input.when === 'now' ? 'member.delete' : 'member.delete_scheduled',
        target: { type: 'user', id: userId },
        reason: input.reason,
        // Never the member's name or address: the log outlives the account.
        details: { mode: input.mode },
      })
    if (input.when === 'now') {
      await this.deleteNow(userId, input.mode, log)
      return { deleted: true }
    }
    const days = (await this.settings.all()).account_deletion_cooling_days
    const dueAt = new Date(Date.now() + days * DAY)
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ deletion_requested_at: new Date(), deletion_due_at: dueAt, deletion_mode: input.mode }).where('id', '=', userId).execute()
      await log(trx)
      await this.scheduledNotice(trx, userId, dueAt)
    })
    return { deleted: false, dueAt, mode: input.mode }
  }

  /**
   * Deletes an account now: every contributor erases its part in one transaction, the
   * account row last (it stays, anonymised, so posts keep an author). Skips an account
   * already deleted, so a repeated run changes nothing.
   */
  async deleteNow(userId: number, mode: DeletionMode, alongside?: (trx: Trx) => Promise<unknown>): Promise<boolean> {
    const done = await this.db.transaction().execute(async (trx) => {
      const user = await trx.selectFrom('users').select(['id', 'deleted_at']).where('id', '=', userId).forUpdate().executeTakeFirst()
      if (!user || user.deleted_at) return false
      await alongside?.(trx)
      for (const contributor of this.contributors()) await contributor.eraseFor(userId, mode, trx, this.context())
      return true
    })
    if (done) await this.afterDeletion(userId)
    return done
  }

  // Files cannot be rolled back with a transaction: uploads (rows and files) go once the deletion has committed.
  private async afterDeletion(userId: number): Promise<void> {
    await this.context().services.uploads.deleteAllForUser(userId)
  }

  /**
   * Performs the deletions whose cooling-off has ended (the `account.deletions` job). Each
   * runs in its own transaction and re-checks, under the row lock, that the request is
   * still there and due: a member who cancels at the last moment keeps their account.
   */
  async runDue(now = new Date()): Promise<number> {
    const due = await this.db
      .selectFrom('users')
      .select('id')
      .where('deletion_due_at', '<=', now)
      .where('deleted_at', 'is', null)
      .orderBy('deletion_due_at')
      .limit(DELETIONS_PER_RUN)
      .execute()
    let deleted = 0
    for (const { id } of due) {
      const done = await this.db.transaction().execute(async (trx) => {
        const user = await trx
          .selectFrom('users')
          .select(['deletion_due_at', 'deletion_mode', 'deleted_at'])
          .where('id', '=', id)
          .forUpdate()
          .executeTakeFirst()
        if (!user || user.deleted_at || !user.deletion_due_at || user.deletion_due_at > now || !user.deletion_mode) return false
        for (const contributor of this.contributors()) await contributor.eraseFor(id, user.deletion_mode, trx, this.context())
        return true
      })
      if (done) {
        await this.afterDeletion(id)
        deleted++
      }
    }
    return deleted
  }

  private async assertAnotherAdmin(userId: number): Promise<void> {
    const other = await this.db
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'admin')
      .where('id', '<>', userId)
      .where('deleted_at', 'is', null)
      .where('deletion_due_at', 'is', null)
      .limit(1)
      .executeTakeFirst()
    if (!other) throw new Conflict('You are the only admin: make another member an admin before you delete your account', 'mode')
  }

  private async scheduledNotice(trx: Trx, userId: number, dueAt: Date) {
    await this.notifications.create(trx, [
      {
        userId,
        kind: 'account.deletion_scheduled',
        url: '/settings#leave',
        text: `Your account will be deleted on ${dueAt.toUTCString()}. Changed your mind? Cancel it in your settings.`,
      },
    ])
  }
}

