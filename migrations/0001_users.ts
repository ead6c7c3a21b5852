import { type Kysely, sql } from 'kysely'

/** Members: usernames unique case-insensitively, emails unique case-insensitively. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text')
    .addColumn('bio', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('member').check(sql`role in ('member', 'moderator', 'admin')`))
    .addColumn('trust_level', 'smallint', (c) => c.notNull().defaultTo(0).check(sql`trust_level between 0 and 4`))
    .addColumn('trust_locked', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('digest_frequency', 'text', (c) =>
      c.notNull().defaultTo('weekly').check(sql`digest_frequency in ('daily', 'weekly', 'monthly', 'never')`),
    )
    .addColumn('email_verified_at', 'timestamptz')
    .addColumn('suspended_until', 'timestamptz')
    .addColumn('silenced_until', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz')
    .execute()
  await sql`create unique index users_username_lower_key on users (lower(username))`.execute(db)
  await sql`create unique index users_email_lower_key on users (lower(email))`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('users').execute()
}
