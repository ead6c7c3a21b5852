import { type Kysely, sql } from 'kysely'

/**
 * Password-reset links. Only a SHA-256 digest of each link's random token is kept, so a
 * leaked database holds no working link; `used_at` makes a link single-use (it is set by
 * one conditional UPDATE, so two concurrent uses cannot both win). `created_by` names the
 * admin who issued a link from /admin, null when the member asked for it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('password_resets')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute()
  await sql`create index password_resets_user_idx on password_resets (user_id)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('password_resets').execute()
}
