import { type Kysely, sql } from 'kysely'

/**
 * Categories (spaces) with visibility — public, members only, or a minimum trust level —
 * and who may start threads in them; category moderators are scoped to their categories.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('categories')
    .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('parent_id', 'bigint', (c) => c.references('categories.id').onDelete('restrict'))
    .addColumn('visibility', 'text', (c) =>
      c.notNull().defaultTo('public').check(sql`visibility in ('public', 'members', 'trust')`),
    )
    .addColumn('min_trust_level', 'smallint', (c) => c.notNull().defaultTo(0).check(sql`min_trust_level between 0 and 4`))
    .addColumn('who_can_start', 'text', (c) => c.notNull().defaultTo('members').check(sql`who_can_start in ('members', 'staff')`))
    .addColumn('min_trust_to_start', 'smallint', (c) => c.notNull().defaultTo(0).check(sql`min_trust_to_start between 0 and 4`))
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await db.schema.createIndex('categories_parent_idx').on('categories').columns(['parent_id', 'position']).execute()

  await db.schema
    .createTable('category_moderators')
    .addColumn('category_id', 'bigint', (c) => c.notNull().references('categories.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('appointed').check(sql`source in ('appointed', 'promoted')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('category_moderators_pkey', ['category_id', 'user_id'])
    .execute()
  await db.schema.createIndex('category_moderators_user_idx').on('category_moderators').column('user_id').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('category_moderators').execute()
  await db.schema.dropTable('categories').execute()
}
