import { type Kysely, sql } from 'kysely'

/**
 * The near-duplicate check as index lookups (features/spam, SpamService.facts). A simhash is
 * cut into five bands (13, 13, 13, 13 and 12 bits). Two fingerprints at most 8 bits apart
 * differ in at most one bit in at least one band (five bands with two or more differing bits
 * would make ten), so every near-duplicate of a text has, in some band, either that band's
 * value or that value with one bit flipped: 69 probes in all. `post_fingerprint_bands` holds
 * one row per band of every fingerprint, keyed by (known spam, band, value); a probe is one
 * index range, and a new post examines only the fingerprints that share a probed band
 * instead of every recent one. Statement-level triggers keep the bands exact for every writer
 * (publishing, holding, the spammer action, pruning, erasing, cascades).
 */
export async function up(db: Kysely<any>): Promise<void> {
  // A band's value; the fifth band is the top 12 bits (the shift is arithmetic, the mask keeps 12).
  await sql`
    create function simhash_band(h bigint, band int) returns int language sql immutable parallel safe
    return ((h >> (13 * band)) & case when band = 4 then 4095 else 8191 end)::int`.execute(db)
  // A band row's key: known spam and ordinary posts never share one.
  await sql`
    create function simhash_band_key(h bigint, band int, known_spam boolean) returns int language sql immutable parallel safe
    return (case when known_spam then 65536 else 0 end) | (band << 13) | simhash_band(h, band)`.execute(db)
  // Every key a near-duplicate of h can have a band under: each band's value and its one-bit neighbours.
  await sql`
    create function simhash_probes(h bigint, known_spam boolean) returns int[] language sql immutable parallel safe
    begin atomic
      select array_agg((case when known_spam then 65536 else 0 end) | (g << 13) | (simhash_band(h, g) # case when i < 0 then 0 else 1 << i end))
      from generate_series(0, 4) g cross join lateral generate_series(-1, case when g = 4 then 11 else 12 end) i;
    end`.execute(db)
  // The first band in which a and b differ in at most one bit: a pair is counted under that band only.
  await sql`
    create function simhash_near_band(a bigint, b bigint) returns int language sql immutable parallel safe
    begin atomic
      select min(g) from generate_series(0, 4) g
      where ((simhash_band(a, g) # simhash_band(b, g)) & ((simhash_band(a, g) # simhash_band(b, g)) - 1)) = 0;
    end`.execute(db)

  await db.schema
    .createTable('post_fingerprint_bands')
    .addColumn('key', 'integer', (c) => c.notNull())
    .addColumn('fingerprint_id', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('post_fingerprint_bands_pkey', ['key', 'fingerprint_id'])
    .execute()
  await sql`
    insert into post_fingerprint_bands (key, fingerprint_id)
    select simhash_band_key(f.simhash, g, f.known_spam), f.id from post_fingerprints f cross join generate_series(0, 4) g`.execute(db)

  await sql`
    create function post_fingerprint_bands_on_insert() returns trigger language plpgsql as $$
    begin
      insert into post_fingerprint_bands (key, fingerprint_id)
      select simhash_band_key(n.simhash, g, n.known_spam), n.id from new_prints n cross join generate_series(0, 4) g;
      return null;
    end $$`.execute(db)
  // Deleted rows' bands are found by their keys (computed from the old row): primary-key lookups, no other index.
  await sql`
    create function post_fingerprint_bands_on_delete() returns trigger language plpgsql as $$
    begin
      delete from post_fingerprint_bands b using old_prints o cross join generate_series(0, 4) g
      where b.key = simhash_band_key(o.simhash, g, o.known_spam) and b.fingerprint_id = o.id;
      return null;
    end $$`.execute(db)
  await sql`
    create function post_fingerprint_bands_on_update() returns trigger language plpgsql as $$
    begin
      delete from post_fingerprint_bands b using old_prints o cross join generate_series(0, 4) g
      where b.key = simhash_band_key(o.simhash, g, o.known_spam) and b.fingerprint_id = o.id;
      insert into post_fingerprint_bands (key, fingerprint_id)
      select simhash_band_key(n.simhash, g, n.known_spam), n.id from new_prints n cross join generate_series(0, 4) g;
      return null;
    end $$`.execute(db)
  await sql`
    create trigger post_fingerprint_bands_on_insert after insert on post_fingerprints
    referencing new table as new_prints for each statement execute function post_fingerprint_bands_on_insert()`.execute(db)
  await sql`
    create trigger post_fingerprint_bands_on_delete after delete on post_fingerprints
    referencing old table as old_prints for each statement execute function post_fingerprint_bands_on_delete()`.execute(db)
  await sql`
    create trigger post_fingerprint_bands_on_update after update on post_fingerprints
    referencing old table as old_prints new table as new_prints for each statement execute function post_fingerprint_bands_on_update()`.execute(db)

  // A member's own recent texts, newest first (their own near-duplicates; erasing their data).
  await sql`create index post_fingerprints_author_idx on post_fingerprints (author_id, id)`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index post_fingerprints_author_idx`.execute(db)
  await sql`drop trigger post_fingerprint_bands_on_update on post_fingerprints`.execute(db)
  await sql`drop trigger post_fingerprint_bands_on_delete on post_fingerprints`.execute(db)
  await sql`drop trigger post_fingerprint_bands_on_insert on post_fingerprints`.execute(db)
  await sql`drop function post_fingerprint_bands_on_update()`.execute(db)
  await sql`drop function post_fingerprint_bands_on_delete()`.execute(db)
  await sql`drop function post_fingerprint_bands_on_insert()`.execute(db)
  await db.schema.dropTable('post_fingerprint_bands').execute()
  await sql`drop function simhash_near_band(bigint, bigint)`.execute(db)
  await sql`drop function simhash_probes(bigint, boolean)`.execute(db)
  await sql`drop function simhash_band_key(bigint, int, boolean)`.execute(db)
  await sql`drop function simhash_band(bigint, int)`.execute(db)
}
