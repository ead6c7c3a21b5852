import { type Kysely, sql } from 'kysely'

/**
 * A category's colour (a validated `#rrggbb`, null for the default), and the slugs a
 * category had before: `/c/<old slug>` redirects to its current address, and the slugs of
 * a deleted category redirect to the category its threads moved to.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('categories')
    .addColumn('color', 'text', (c) => c.check(sql`color ~ '^#[0-9a-f]{6}$'`))
    .execute()
  await db.schema
    .createTable('category_slug_redirects')
    .addColumn('slug', 'text', (c) => c.primaryKey())
    .addColumn('category_id', 'bigint', (c) => c.notNull().references('categories.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('category_slug_redirects_category_idx').on('category_slug_redirects').column('category_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('category_slug_redirects').execute()
  await db.schema.alterTable('categories').dropColumn('color').execute()
}
