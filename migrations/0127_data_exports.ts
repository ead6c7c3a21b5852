import { type Kysely, sql } from 'kysely'

/**
 * A member's copies of their data (GDPR art. 15/20). The archive is a file under
 * DATA_DIR/exports named by the row's random id; the row says whether it is ready, how
 * big it is and when the link stops working (the file is removed then).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('data_exports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'ready', 'failed', 'expired')`))
    .addColumn('size_bytes', 'bigint')
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('ready_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz')
    .execute()
  await sql`create index data_exports_user_idx on data_exports (user_id, created_at desc)`.execute(db)
  await sql`create index data_exports_expiry_idx on data_exports (expires_at) where status = 'ready'`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('data_exports').execute()
}
