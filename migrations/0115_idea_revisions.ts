import { type Kysely, sql } from 'kysely'

/**
 * Edits of an idea's title, description and tags keep the text they replaced, as posts do:
 * revision N holds the idea as it was before its N-th edit, with who made that edit and
 * when. `revision_count` and `edited_at` on the idea say whether (and when) it was edited.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('idea_revisions')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('idea_id', 'bigint', (c) => c.notNull().references('ideas.id').onDelete('cascade'))
    .addColumn('number', 'integer', (c) => c.notNull().check(sql`number > 0`))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body_md', 'text', (c) => c.notNull())
    .addColumn('tags', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('editor_id', 'bigint', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('idea_revisions_number_key', ['idea_id', 'number'])
    .execute()
  await db.schema
    .alterTable('ideas')
    .addColumn('revision_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('edited_at', 'timestamptz')
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('ideas').dropColumn('revision_count').dropColumn('edited_at').execute()
  await db.schema.dropTable('idea_revisions').execute()
}
