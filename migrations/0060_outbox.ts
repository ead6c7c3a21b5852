import { type Kysely, sql } from 'kysely'

/**
 * The transactional outbox: a domain event is written here in the same transaction as the
 * change it describes, and a relay delivers it to its consumers after commit. `done` lists
 * the consumers that have it already, so a retry after a partial failure skips them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('channels', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('category_id', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('done', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('last_error', 'text')
    .execute()
  // The relay reads only undelivered rows; pruning reads only delivered ones.
  await sql`create index outbox_pending_idx on outbox (id) where delivered_at is null`.execute(db)
  await sql`create index outbox_delivered_idx on outbox (delivered_at) where delivered_at is not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('outbox').execute()
}
