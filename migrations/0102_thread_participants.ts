import { type Kysely, sql } from 'kysely'

/**
 * Who takes part in a thread: one row per thread and author with how many of their posts
 * readers can see, so a thread page names its top participants with one index lookup
 * however long the thread is. Statement-level triggers keep it exact whichever code writes
 * posts (a reply, a deletion, a moderator hiding a post, an import): each adds the change
 * in visible posts per (thread, author), grouped, in the same transaction.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('thread_participants')
    .addColumn('thread_id', 'bigint', (c) => c.notNull().references('threads.id').onDelete('cascade'))
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('post_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_posted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('thread_participants_pkey', ['thread_id', 'user_id'])
    .execute()
  await sql`create index thread_participants_user_idx on thread_participants (user_id)`.execute(db)
  await sql`
    insert into thread_participants (thread_id, user_id, post_count, last_posted_at)
    select thread_id, author_id, count(*), max(created_at) from posts
    where deleted_at is null and hidden_at is null group by thread_id, author_id`.execute(db)
  await sql`
    create function thread_participants_on_insert() returns trigger language plpgsql as $$
    begin
      insert into thread_participants as tp (thread_id, user_id, post_count, last_posted_at)
      select thread_id, author_id, count(*), max(created_at) from new_posts
      where deleted_at is null and hidden_at is null group by thread_id, author_id
      order by thread_id, author_id
      on conflict (thread_id, user_id) do update
        set post_count = tp.post_count + excluded.post_count, last_posted_at = greatest(tp.last_posted_at, excluded.last_posted_at);
      return null;
    end $$`.execute(db)
  await sql`
    create function thread_participants_on_update() returns trigger language plpgsql as $$
    begin
      insert into thread_participants as tp (thread_id, user_id, post_count, last_posted_at)
      select thread_id, author_id, sum(delta), max(at) from (
        select n.thread_id, n.author_id, 1 as delta, n.created_at as at
        from new_posts n join old_posts o on o.id = n.id
        where n.deleted_at is null and n.hidden_at is null
          and not (o.deleted_at is null and o.hidden_at is null and o.thread_id = n.thread_id and o.author_id = n.author_id)
        union all
        select o.thread_id, o.author_id, -1, o.created_at
        from old_posts o join new_posts n on n.id = o.id
        where o.deleted_at is null and o.hidden_at is null
          and not (n.deleted_at is null and n.hidden_at is null and o.thread_id = n.thread_id and o.author_id = n.author_id)
      ) d
      group by thread_id, author_id having sum(delta) <> 0
      order by thread_id, author_id
      on conflict (thread_id, user_id) do update set post_count = tp.post_count + excluded.post_count;
      return null;
    end $$`.execute(db)
  await sql`
    create trigger thread_participants_on_insert after insert on posts
    referencing new table as new_posts for each statement execute function thread_participants_on_insert()`.execute(db)
  await sql`
    create trigger thread_participants_on_update after update on posts
    referencing old table as old_posts new table as new_posts for each statement execute function thread_participants_on_update()`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger thread_participants_on_update on posts`.execute(db)
  await sql`drop trigger thread_participants_on_insert on posts`.execute(db)
  await sql`drop function thread_participants_on_update()`.execute(db)
  await sql`drop function thread_participants_on_insert()`.execute(db)
  await db.schema.dropTable('thread_participants').execute()
}
