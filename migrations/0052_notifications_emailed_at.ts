import { type Kysely, sql } from 'kysely'

/** When a notification went out by mail; the notification mail job only takes rows without it. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').addColumn('emailed_at', 'timestamptz').execute()
  await sql`create index notifications_unmailed_idx on notifications (user_id, id) where emailed_at is null and read_at is null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').dropColumn('emailed_at').execute()
}
