import { type Kysely, sql } from 'kysely'

/**
 * The spam check's facts for less (features/spam, SpamService.facts):
 *  - a member's rejected held posts (the history signal) from a small partial index, instead
 *    of every post the member ever had held;
 *  - `simhash_near_band` as one expression, which the planner inlines, instead of a function
 *    body run for every candidate a probe finds (same results: the band of a xor b is the xor
 *    of their bands, and a band differs in at most one bit when x & (x - 1) = 0);
 *  - a band row carries its fingerprint's simhash and author (kept by the same triggers), and
 *    its index includes them: a probe judges its candidates from the index alone, instead of
 *    looking each one up in `post_fingerprints` (by a plan that, made while the table was
 *    small, may read the whole table for each).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index held_posts_rejected_idx on held_posts (author_id) where status = 'rejected'`.execute(db)

  await sql`alter table post_fingerprint_bands add column simhash bigint, add column author_id bigint`.execute(db)
  await sql`update post_fingerprint_bands b set simhash = f.simhash, author_id = f.author_id from post_fingerprints f where f.id = b.fingerprint_id`.execute(db)
  await sql`alter table post_fingerprint_bands alter column simhash set not null`.execute(db)
  await sql`alter table post_fingerprint_bands drop constraint post_fingerprint_bands_pkey`.execute(db)
  await sql`alter table post_fingerprint_bands add constraint post_fingerprint_bands_pkey primary key (key, fingerprint_id) include (simhash, author_id)`.execute(db)
  await sql`
    create or replace function post_fingerprint_bands_on_insert() returns trigger language plpgsql as $$
    begin
      insert into post_fingerprint_bands (key, fingerprint_id, simhash, author_id)
      select simhash_band_key(n.simhash, g, n.known_spam), n.id, n.simhash, n.author_id from new_prints n cross join generate_series(0, 4) g;
      return null;
    end $$`.execute(db)
  await sql`
    create or replace function post_fingerprint_bands_on_update() returns trigger language plpgsql as $$
    begin
      delete from post_fingerprint_bands b using old_prints o cross join generate_series(0, 4) g
      where b.key = simhash_band_key(o.simhash, g, o.known_spam) and b.fingerprint_id = o.id;
      insert into post_fingerprint_bands (key, fingerprint_id, simhash, author_id)
      select simhash_band_key(n.simhash, g, n.known_spam), n.id, n.simhash, n.author_id from new_prints n cross join generate_series(0, 4) g;
      return null;
    end $$`.execute(db)
  await sql`
    create or replace function simhash_near_band(a bigint, b bigint) returns int language sql immutable parallel safe
    return case
      when (simhash_band(a # b, 0) & (simhash_band(a # b, 0) - 1)) = 0 then 0
      when (simhash_band(a # b, 1) & (simhash_band(a # b, 1) - 1)) = 0 then 1
      when (simhash_band(a # b, 2) & (simhash_band(a # b, 2) - 1)) = 0 then 2
      when (simhash_band(a # b, 3) & (simhash_band(a # b, 3) - 1)) = 0 then 3
      when (simhash_band(a # b, 4) & (simhash_band(a # b, 4) - 1)) = 0 then 4
    end`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    create or replace function post_fingerprint_bands_on_insert() returns trigger language plpgsql as $$
    begin
      insert into post_fingerprint_bands (key, fingerprint_id)
      select simhash_band_key(n.simhash, g, n.known_spam), n.id from new_prints n cross join generate_series(0, 4) g;
      return null;
    end $$`.execute(db)
  await sql`
    create or replace function post_fingerprint_bands_on_update() returns trigger language plpgsql as $$
    begin
      delete from post_fingerprint_bands b using old_prints o cross join generate_series(0, 4) g
      where b.key = simhash_band_key(o.simhash, g, o.known_spam) and b.fingerprint_id = o.id;
      insert into post_fingerprint_bands (key, fingerprint_id)
      select simhash_band_key(n.simhash, g, n.known_spam), n.id from new_prints n cross join generate_series(0, 4) g;
      return null;
    end $$`.execute(db)
  await sql`alter table post_fingerprint_bands drop constraint post_fingerprint_bands_pkey`.execute(db)
  await sql`alter table post_fingerprint_bands add constraint post_fingerprint_bands_pkey primary key (key, fingerprint_id)`.execute(db)
  await sql`alter table post_fingerprint_bands drop column simhash, drop column author_id`.execute(db)
  await sql`
    create or replace function simhash_near_band(a bigint, b bigint) returns int language sql immutable parallel safe
    begin atomic
      select min(g) from generate_series(0, 4) g
      where ((simhash_band(a, g) # simhash_band(b, g)) & ((simhash_band(a, g) # simhash_band(b, g)) - 1)) = 0;
    end`.execute(db)
  await sql`drop index held_posts_rejected_idx`.execute(db)
}
