import { type Kysely, sql } from 'kysely'

/**
 * Images members upload (in posts, and as avatars). Each row is one upload by one member:
 * `keys` lists every file it stored (an avatar has one per size), named by a hash of the
 * re-encoded content, so two members uploading the same picture share the files and a file
 * is deleted only when no row lists it any more. Rows go with their member (cascade), but
 * the files do not: `UploadService.deleteAllForUser` removes both and must run first.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('uploads')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('image', 'avatar')`))
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('keys', sql`text[]`, (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('byte_size', 'integer', (c) => c.notNull())
    .addColumn('original_bytes', 'integer', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('original_name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  // The daily quota counts one member's uploads of the last day; listForUser reads them newest first.
  await sql`create index uploads_user_created_idx on uploads (user_id, created_at desc)`.execute(db)
  // Deleting a file asks whether another upload still lists it.
  await sql`create index uploads_keys_idx on uploads using gin (keys)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('uploads').execute()
}
