import { type Kysely, sql } from 'kysely'

/**
 * When each scheduled job last started in-process (web process without Redis). A run is
 * claimed with one conditional upsert, so two web processes sharing a database never run
 * the same occurrence twice, and a restart catches up on an occurrence it slept through.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('scheduled_job_runs')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('error', 'text')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('scheduled_job_runs').execute()
}
