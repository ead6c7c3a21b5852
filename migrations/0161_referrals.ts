import { type Kysely, sql } from 'kysely'

/**
 * Referrals: each member's personal invite link and the owners' campaign links
 * (`referral_links`, reached at /r/<code>), and the sign-ups each link brought
 * (`referrals`: one row per invitee, credited to the first link they arrived through).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('referral_links')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('code', 'text', (c) => c.notNull().unique())
    // The member whose personal link this is; null for a campaign link.
    .addColumn('owner_id', 'bigint', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('name', 'text')
    .addColumn('created_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('visits', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('disabled_at', 'timestamptz')
    .execute()
  await sql`create unique index referral_links_owner_idx on referral_links (owner_id) where owner_id is not null`.execute(db)

  await db.schema
    .createTable('referrals')
    .addColumn('user_id', 'bigint', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('link_id', 'bigint', (c) => c.notNull().references('referral_links.id').onDelete('cascade'))
    .addColumn('referrer_id', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create index referrals_link_idx on referrals (link_id)`.execute(db)
  await sql`create index referrals_referrer_idx on referrals (referrer_id) where referrer_id is not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('referrals').execute()
  await db.schema.dropTable('referral_links').execute()
}
