import { CompiledQuery, sql } from 'kysely'
import t from 'tap'
import { build } from '../helpers/app.js'
import { forum } from '../helpers/forum.js'
import { nodes, type PlanNode } from '../helpers/plans.js'

// A freshly loaded or restored forum before autovacuum has come round: no planner statistics,
// and tables the planner believes tiny. A plan that scans a whole table once per candidate row
// is quadratic there; the search must not allow one.
t.test('search plans stay linear on a database without statistics', async (t) => {
  const { app, db } = await build(t)
  const f = await forum(app, db)
  for (const table of ['users', 'threads', 'posts', 'categories']) {
    await sql`alter table ${sql.table(table)} set (autovacuum_enabled = off)`.execute(db)
  }
  await sql`
    insert into threads (category_id, author_id, title, slug)
    select ${f.cats.open.id}, ${f.member.id}, 'Dark mode thread ' || g, 'dark-mode-thread-' || g from generate_series(1, 300) g`.execute(db)
  await sql`
    insert into posts (thread_id, author_id, body_md, body_html, depth, path, branch_id)
    select t.id, ${f.member.id}, 'Thoughts on dark mode, number ' || g, '<p>Thoughts on dark mode</p>', case when g = 1 then 0 else 1 end,
      lpad(t.id::text, 12, '0') || case when g = 1 then '' else '.' || lpad(g::text, 12, '0') end, t.id
    from threads t cross join generate_series(1, 10) g where t.title like 'Dark mode thread %'`.execute(db)
  await sql`
    insert into users (username, email, password_hash, display_name)
    select 'gardener' || g, 'gardener' || g || '@example.com', 'x', 'Garden Person ' || g from generate_series(1, 500) g`.execute(db)
  // As if never analyzed (the server may have gathered some for the small tables meanwhile).
  await sql`delete from pg_statistic where starelid in ('posts'::regclass, 'threads'::regclass, 'users'::regclass, 'categories'::regclass)`.execute(db)
  const { rows: stats } = await sql<{ n: number }>`select count(*)::int as n from pg_stats where tablename in ('posts', 'threads', 'users')`.execute(db)
  t.equal(stats[0]!.n, 0, 'no statistics on posts, threads or users')

  const viewer = await app.hearth.categories.viewer(null)
  const variants: Record<string, string>[] = [
    { q: 'dark mode' },
    { q: 'thoughts number' },
    // Filters are applied while gathering candidates; each order reads only the candidates.
    { q: 'dark mode', author: f.member.username, category: 'general', period: 'year', sort: 'likes' },
    { q: 'thoughts', after: '2000-01-01', before: '2999-01-01', sort: 'newest' },
  ]
  for (const query of variants) {
    const q = JSON.stringify(query)
    const found = await app.hearth.search.search(viewer, query)
    t.ok(found.results.length > 0, `${q} finds posts`)
    const statement = (await app.hearth.search.statement(viewer, query))!.compile()
    const { rows } = await db.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      CompiledQuery.raw(`explain (analyze, format json) ${statement.sql}`, [...statement.parameters]),
    )
    const plan = nodes(rows[0]!['QUERY PLAN'][0].Plan)
    if (process.env.SHOW_PLAN) console.error(plan.map((n) => `${n["Node Type"]} ${n["Relation Name"] ?? ""} loops=${n["Actual Loops"]}`).join("\n"))
    // Linear: no step of the plan handles more rows, over all its loops, than a couple of passes over the data.
    const { rows: size } = await sql<{ n: number }>`select (select count(*) from posts) + (select count(*) from threads) as n`.execute(db)
    const heavy = plan.filter((n) => (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1) > 2 * Number(size[0]!.n))
    t.same(
      heavy.map((n) => `${n['Node Type']} ${n['Relation Name'] ?? ''}: ${n['Actual Rows']} rows × ${n['Actual Loops']} loops`),
      [],
      `${q}: every step stays within two passes over the data`,
    )
  }
  // Members by name: the GIN index on their names' words, never a pass per candidate.
  const members = app.hearth.search.memberStatement({ q: 'garden pers', type: 'members' })!.compile()
  const { rows: memberPlan } = await db.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
    CompiledQuery.raw(`explain (analyze, format json) ${members.sql}`, [...members.parameters]),
  )
  const memberNodes = nodes(memberPlan[0]!['QUERY PLAN'][0].Plan)
  const users = 505
  t.same(memberNodes.filter((n) => (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1) > 2 * users).map((n) => n['Node Type']), [], 'members: within two passes over the members')
  t.equal((await app.hearth.search.search(viewer, { q: 'garden pers', type: 'members' })).members.length, 20, 'members are found a page at a time')
})
