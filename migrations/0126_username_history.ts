import { type Kysely, sql } from 'kysely'

/**
 * Every name a member used before their current one. `/u/<old>` redirects to the member
 * and old @mentions resolve through it; `held_until` keeps the old name from anyone else
 * for a while (the member may take it back). Rows go with the member's account.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('username_history')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('held_until', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`create index username_history_name_idx on username_history (lower(username), created_at desc)`.execute(db)
  await sql`create index username_history_user_idx on username_history (user_id)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('username_history').execute()
}
