import { type Kysely, sql } from 'kysely'

/**
 * Each idea's comments are a thread of the discussion engine, kept in a category of
 * their own ("Idea discussions", slug `idea-discussions`) where only the system and
 * staff start threads; members reply as in any thread.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db
    .insertInto('categories')
    .values({
      name: 'Idea discussions',
      slug: 'idea-discussions',
      description: 'Comments on ideas from the idea board',
      visibility: 'public',
      who_can_start: 'staff',
      position: 1000,
    })
    .onConflict((oc) => oc.column('slug').doNothing())
    .execute()
  await sql`alter table ideas add constraint ideas_thread_id_fkey foreign key (thread_id) references threads (id) on delete set null`.execute(db)
  await sql`create unique index ideas_thread_id_key on ideas (thread_id) where thread_id is not null`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index ideas_thread_id_key`.execute(db)
  await sql`alter table ideas drop constraint ideas_thread_id_fkey`.execute(db)
}
