import { type Kysely, sql } from 'kysely'

/**
 * Post numbers: each post's place in its thread (#1 is the opening post), in the order posts
 * were made, stable for ever (a deleted post keeps its number). `threads.last_post_number` is
 * the counter: a reply takes the next number by updating its thread row, whose lock orders
 * concurrent replies. `thread_reads.last_read_post_number` mirrors the read marker as a
 * number, so lists say how many posts are new without counting rows.
 *
 * Hearth's own inserts always name the number; a trigger numbers any other insert (a script,
 * an import) through the same counter, so the column can be NOT NULL.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table posts add column post_number integer`.execute(db)
  await sql`alter table threads add column last_post_number integer not null default 0`.execute(db)
  await sql`alter table thread_reads add column last_read_post_number integer not null default 0`.execute(db)
  await sql`
    update posts p set post_number = n.n
    from (select id, row_number() over (partition by thread_id order by id) as n from posts) n
    where p.id = n.id`.execute(db)
  await sql`
    update threads t set last_post_number = m.n
    from (select thread_id, max(post_number) as n from posts group by thread_id) m
    where t.id = m.thread_id`.execute(db)
  await sql`
    update thread_reads r set last_read_post_number = p.post_number
    from posts p where p.id = r.last_read_post_id`.execute(db)
  await sql`alter table posts alter column post_number set not null`.execute(db)
  await sql`create unique index posts_thread_number_idx on posts (thread_id, post_number)`.execute(db)
  await sql`
    create function posts_number_fallback() returns trigger language plpgsql as $$
    begin
      if new.post_number is null then
        update threads set last_post_number = last_post_number + 1 where id = new.thread_id
          returning last_post_number into new.post_number;
      end if;
      return new;
    end $$`.execute(db)
  await sql`create trigger posts_number_fallback before insert on posts for each row when (new.post_number is null) execute function posts_number_fallback()`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger posts_number_fallback on posts`.execute(db)
  await sql`drop function posts_number_fallback()`.execute(db)
  await sql`drop index posts_thread_number_idx`.execute(db)
  await sql`alter table thread_reads drop column last_read_post_number`.execute(db)
  await sql`alter table threads drop column last_post_number`.execute(db)
  await sql`alter table posts drop column post_number`.execute(db)
}
