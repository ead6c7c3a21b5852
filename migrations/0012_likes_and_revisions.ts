import { type Kysely, sql } from 'kysely'

/** Likes (one per member per post, by primary key) and the revision history of edited posts. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('post_likes')
    .addColumn('post_id', 'bigint', (c) => c.notNull().references('posts.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('post_likes_pkey', ['post_id', 'user_id'])
    .execute()
  await db.schema.createIndex('post_likes_user_idx').on('post_likes').columns(['user_id', 'created_at']).execute()

  await db.schema
    .createTable('post_revisions')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('post_id', 'bigint', (c) => c.notNull().references('posts.id').onDelete('cascade'))
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('body_md', 'text', (c) => c.notNull())
    .addColumn('editor_id', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('post_revisions_post_number_key', ['post_id', 'number'])
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('post_revisions').execute()
  await db.schema.dropTable('post_likes').execute()
}
