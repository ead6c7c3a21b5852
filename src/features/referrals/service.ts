import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import type { Db, DbOrTrx } from '../../core/db.js'
import { Invalid, NotFound } from '../../core/errors.js'
import { ensure, type Viewer } from '../../core/guard.js'
import { PARTICIPATION_KINDS } from '../activity/kinds.js'

/** How far an invitee got: joined, then active (back on another day, or took part), then participant. */
export type InviteeStage = 'joined' | 'active' | 'participant'

export interface Invitee {
  username: string
  joinedAt: Date
  stage: InviteeStage
}

export interface LinkSummary {
  id: number
  code: string
  name: string | null
  owner: string | null
  visits: number
  signups: number
  active: number
  participants: number
  createdAt: Date
}

// An invitee counts as active once seen on two different days, or once they took part.
const inviteeStage = sql<InviteeStage>`case
  when exists (select 1 from activity_log a where a.user_id = r.user_id and a.kind in (${sql.join(PARTICIPATION_KINDS)})) then 'participant'
  when (select count(*) from member_days md where md.user_id = r.user_id) >= 2 then 'active'
  else 'joined' end`

/**
 * Referral links: every member's personal invite link, and campaign links owners create.
 * A visitor is credited to the first link they arrived through (a cookie set at /r/<code>
 * that the sign-up reads in its own transaction); only invitees who became active count
 * toward a referrer's standing, and that is when the activity log records the referral.
 */
export class ReferralService {
  constructor(private readonly db: Db) {}

  /** A member's personal link, created the first time it is asked for. */
  async linkFor(userId: number): Promise<{ code: string }> {
    await this.db
      .insertInto('referral_links')
      .values({ code: newCode(), owner_id: userId, created_by: userId })
      .onConflict((oc) => oc.column('owner_id').where('owner_id', 'is not', null).doNothing())
      .execute()
    return this.db.selectFrom('referral_links').select('code').where('owner_id', '=', userId).executeTakeFirstOrThrow()
  }

  /** Follows a link: counts the visit; null when no working link has that code. */
  async visit(code: string): Promise<{ code: string; owner: string | null } | null> {
    const row = await sql<{ code: string; owner: string | null }>`
      update referral_links l set visits = visits + 1
      where l.code = ${code} and l.disabled_at is null
      returning l.code, (select username from users u where u.id = l.owner_id and u.suspended_until is null) as owner`.execute(this.db)
    return row.rows[0] ?? null
  }

  /** Who a working link belongs to (for "invited by …" on the sign-up page). */
  async describe(code: string): Promise<{ owner: string | null; name: string | null } | null> {
    const row = await this.db
      .selectFrom('referral_links as l')
      .leftJoin('users as u', 'u.id', 'l.owner_id')
      .select(['u.username as owner', 'l.name'])
      .where('l.code', '=', code)
      .where('l.disabled_at', 'is', null)
      .executeTakeFirst()
    return row ?? null
  }

  /** Credits a new member to the link they arrived through; called inside the sign-up's transaction. */
  async credit(trx: DbOrTrx, userId: number, code: string | undefined): Promise<boolean> {
    if (!code) return false
    const result = await sql`
      insert into referrals (user_id, link_id, referrer_id)
      select ${userId}, l.id, l.owner_id from referral_links l
      where l.code = ${code} and l.disabled_at is null and (l.owner_id is null or l.owner_id <> ${userId})
      on conflict (user_id) do nothing`.execute(trx)
    return Number(result.numAffectedRows ?? 0) > 0
  }

  /** A referrer's invitees and how far each got. */
  async invitees(referrerId: number): Promise<Invitee[]> {
    const rows = await sql<{ username: string; created_at: Date; stage: InviteeStage }>`
      select u.username, u.created_at, ${inviteeStage} as stage
      from referrals r join users u on u.id = r.user_id
      where r.referrer_id = ${referrerId}
      order by u.created_at desc
      limit 200`.execute(this.db)
    return rows.rows.map((r) => ({ username: r.username, joinedAt: r.created_at, stage: r.stage }))
  }

  /** Every campaign link (and, for owners, the personal links that brought anyone), with what each brought. */
  async links(viewer: Viewer, options: { campaignsOnly?: boolean } = {}): Promise<LinkSummary[]> {
    ensure(viewer, 'administer', undefined)
    const rows = await sql<LinkSummary>`
      select l.id, l.code, l.name, o.username as owner, l.visits, l.created_at as "createdAt",
        count(r.user_id)::int as signups,
        count(r.user_id) filter (where s.stage <> 'joined')::int as active,
        count(r.user_id) filter (where s.stage = 'participant')::int as participants
      from referral_links l
      left join users o on o.id = l.owner_id
      left join referrals r on r.link_id = l.id
      left join lateral (select ${inviteeStage} as stage) s on r.user_id is not null
      where l.disabled_at is null ${options.campaignsOnly ? sql`and l.owner_id is null` : sql`and (l.owner_id is null or exists (select 1 from referrals x where x.link_id = l.id))`}
      group by l.id, o.username
      order by (l.owner_id is not null), count(r.user_id) desc, l.id desc
      limit 200`.execute(this.db)
    return rows.rows
  }

  /** Creates an owner's campaign link. */
  async createCampaign(viewer: Viewer, rawName: string): Promise<{ code: string }> {
    ensure(viewer, 'administer', undefined)
    const name = rawName.trim()
    if (!name) throw new Invalid({ name: 'Name the campaign, e.g. "Spring newsletter"' })
    if (name.length > 80) throw new Invalid({ name: 'Keep the name under 80 characters' })
    return this.db.insertInto('referral_links').values({ code: newCode(), name, created_by: viewer.user!.id }).returning('code').executeTakeFirstOrThrow()
  }

  /** Turns a campaign link off (visits to it go nowhere from then on; credits stay). */
  async disable(viewer: Viewer, id: number): Promise<void> {
    ensure(viewer, 'administer', undefined)
    const done = await this.db.updateTable('referral_links').set({ disabled_at: new Date() }).where('id', '=', id).where('owner_id', 'is', null).where('disabled_at', 'is', null).executeTakeFirst()
    if (!done.numUpdatedRows) throw new NotFound('No such campaign link')
  }
}

// 10 characters of base32: short enough to read out, too many to guess.
function newCode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789'
  const bytes = randomBytes(10)
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('')
}
