import t from 'tap'
import { build } from '../helpers/app.js'
import { forum, startThread } from '../helpers/forum.js'
import { members } from '../helpers/members.js'
import { persona } from '../helpers/personas.js'
import { Client } from '../helpers/client.js'
import { parsePolls, PollSyntaxError } from '../../src/features/polls/parse.js'
import { instantRunoff } from '../../src/features/polls/irv.js'

const block = (lines: string[]) => ['Tell us:', '', '```poll', ...lines, '```', '', 'Thanks!'].join('\n')

t.test('parsing: kinds, settings and the author-facing errors', async (t) => {
  const [p] = parsePolls(block(['title: Best day?', 'type: multiple', 'min: 1', 'max: 2', 'results: voted', 'public: true', 'close: 2030-01-31', 'min_trust: 1', '- Monday', '- Tuesday', '* Friday']))
  t.match(p, { title: 'Best day?', kind: 'multiple', min: 1, max: 2, results: 'voted', public: true, minTrustLevel: 1, options: ['Monday', 'Tuesday', 'Friday'] })
  t.equal(p!.closesAt!.toISOString(), '2030-01-31T23:59:59.000Z', 'a bare date closes at the end of that day, UTC')
  const [n] = parsePolls(block(['type: number', 'min: 0', 'max: 5']))
  t.same(n!.options, ['0', '1', '2', '3', '4', '5'], 'a number poll is its scale')
  t.same(parsePolls('```poll\n- a\n- b\n```\n\n```poll\ntype: ranked\n- x\n- y\n- z\n```').map((x) => [x.kind, x.max]), [['single', 1], ['ranked', 3]])
  t.same(parsePolls('no polls here\n\n```js\n- a\n```'), [], 'other fences are not polls')
  t.same(parsePolls('> ```poll\n> - a\n> - b\n> ```'), [{ ...parsePolls('```poll\n- a\n- b\n```')[0] }], 'a poll is found where markdown finds the fence')
  const bad: [string[], RegExp][] = [
    [['- only one'], /at least two options/],
    [['type: weird', '- a', '- b'], /type must be/],
    [['- a', '- A'], /appears twice/],
    [['type: multiple', 'min: 3', 'max: 2', '- a', '- b', '- c'], /min is above max/],
    [['type: multiple', 'max: 5', '- a', '- b'], /between 1 and 2/],
    [['colour: red', '- a', '- b'], /unknown setting/],
    [['close: someday', '- a', '- b'], /close must be a date/],
    [['type: number', 'min: 1', 'max: 100'], /at most 21 steps/],
    [['type: number', '- a'], /min and max instead of options/],
    [['results: secret', '- a', '- b'], /results must be/],
    [['just words', '- a', '- b'], /neither a setting/],
  ]
  for (const [lines, message] of bad) t.throws(() => parsePolls(block(lines)), { constructor: PollSyntaxError, message }, lines.join(' | '))
  t.throws(() => parsePolls(Array.from({ length: 6 }, () => '```poll\n- a\n- b\n```').join('\n\n')), /at most 5 polls/)
})

/** A simple, separately written instant-runoff count: the reference for the one in the service. */
function referenceIrv(options: number[], ballots: number[][]): { winner: number | null; eliminated: number[] } {
  let alive = [...options]
  const eliminated: number[] = []
  if (ballots.length === 0) return { winner: null, eliminated }
  while (true) {
    const tally: Record<number, number> = {}
    for (const o of alive) tally[o] = 0
    let live = 0
    for (const b of ballots) {
      for (const choice of b) {
        if (alive.includes(choice)) {
          tally[choice]! += 1
          live++
          break
        }
      }
    }
    for (const o of alive) if (tally[o]! > live / 2) return { winner: o, eliminated }
    if (alive.length === 1) return { winner: live > 0 ? alive[0]! : null, eliminated }
    const fewest = Math.min(...alive.map((o) => tally[o]!))
    // Ties for last: the option listed last in the poll goes.
    const out = [...alive].reverse().find((o) => tally[o] === fewest)!
    eliminated.push(out)
    alive = alive.filter((o) => o !== out)
  }
}

function random(seed: number) {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  }
}

function randomBallots(rand: () => number, options: number[], count: number): number[][] {
  return Array.from({ length: count }, () => {
    const shuffled = [...options].sort(() => rand() - 0.5)
    return shuffled.slice(0, 1 + Math.floor(rand() * options.length))
  })
}

t.test('instant runoff matches an independent count on random ballots', async (t) => {
  const rand = random(17)
  for (let trial = 0; trial < 400; trial++) {
    const options = Array.from({ length: 2 + Math.floor(rand() * 5) }, (_, i) => 100 + i)
    const ballots = randomBallots(rand, options, Math.floor(rand() * 40))
    const ours = instantRunoff(options, ballots)
    const ref = referenceIrv(options, ballots)
    if (ours.winner !== ref.winner || JSON.stringify(ours.rounds.map((r) => r.eliminated).filter((e) => e !== null)) !== JSON.stringify(ref.eliminated)) {
      t.fail(`trial ${trial}: ${JSON.stringify({ options, ballots, ours: ours.winner, ref })}`)
      return
    }
    for (const round of ours.rounds) {
      const counted = [...round.counts.values()].reduce((a, b) => a + b, 0)
      if (counted + round.exhausted !== ballots.length) t.fail(`trial ${trial}: a round lost ballots`)
    }
  }
  t.pass('400 random elections agree')
  const classic = instantRunoff([1, 2, 3], [[1], [1], [1], [2, 3], [2, 3], [3, 2], [3, 2], [3, 2]])
  t.equal(classic.winner, 3, 'the first-round leader can lose once transfers count')
  t.same(classic.rounds.map((r) => r.eliminated), [2, null])
})

t.test('a poll in a thread: rendered under the post, voted without JavaScript, exact after 300 racing votes', async (t) => {
  const { app, db } = await build(t)
  const { member, cats, admin } = await forum(app, db)
  const thread = await startThread(member, cats.open.id, 'Where should we meet?', block(['title: Pick a city', '- Lisbon', '- Porto', '- Faro']))
  const poll = await db.selectFrom('polls').selectAll().where('post_id', '=', thread.postId).executeTakeFirstOrThrow()
  const options = await db.selectFrom('poll_options').select(['id', 'label']).where('poll_id', '=', poll.id).orderBy('position').execute()
  t.same(options.map((o) => o.label), ['Lisbon', 'Porto', 'Faro'])
  t.ok((await db.selectFrom('posts').select('has_poll').where('id', '=', thread.postId).executeTakeFirstOrThrow()).has_poll)

  const page = await member.client.get(thread.url)
  t.match(page.body, `id="poll-${poll.id}"`, 'the poll shows under the post')
  t.notMatch(page.body, /- Lisbon/, 'the block itself is not shown as text')
  t.match(page.body, `action="/polls/${poll.id}/vote"`)

  // Without JavaScript: the form posts and comes back to the post, at the poll.
  const voter = await persona(app, db, { stem: 'voter', trustLevel: 1 })
  const csrf = await voter.client.csrfFrom(thread.url)
  const voted = await voter.client.postForm(`/polls/${poll.id}/vote`, { _csrf: csrf, choice: String(options[1]!.id) })
  t.equal(voted.statusCode, 303)
  t.match(voted.headers.location, new RegExp(`^/t/${thread.id}/[^#]*#poll-${poll.id}$`))
  const after = await voter.client.get(thread.url)
  t.match(after.body, /You voted/)
  t.match(after.body, /100% · 1/)
  const wrong = await voter.client.postForm(`/polls/${poll.id}/vote`, { _csrf: csrf, choice: '999999' })
  t.equal(wrong.statusCode, 400, 'a ballot that does not fit comes back with its message')
  t.match(wrong.body, /Your vote was not counted: Choose among this poll/)
  const guest = await new Client(app).postForm(`/polls/${poll.id}/vote`, { choice: String(options[0]!.id) })
  t.not(guest.statusCode, 303, 'a guest cannot vote')

  // 300 members vote at once, a third of them twice at once (a change of mind): every member counts once.
  const crowd = await members(app, db, 300)
  const choiceOf = (i: number) => options[i % 3]!.id
  const changed = (i: number) => options[(i + 1) % 3]!.id
  const results = await Promise.all(
    crowd.flatMap((m, i) => [
      m.client.api('POST', `/api/v1/polls/${poll.id}/votes`, { choices: [choiceOf(i)] }),
      ...(i % 3 === 0 ? [m.client.api('POST', `/api/v1/polls/${poll.id}/votes`, { choices: [changed(i)] })] : []),
    ]),
  )
  t.ok(results.every((r) => r.statusCode === 200), `every vote answered 200 (${[...new Set(results.map((r) => r.statusCode))]})`)
  const ballots = await db.selectFrom('poll_ballots').select((eb) => eb.fn.countAll<number>().as('n')).where('poll_id', '=', poll.id).executeTakeFirstOrThrow()
  t.equal(Number(ballots.n), 301, '301 voters: the 300 and the first voter')
  const votes = await db.selectFrom('poll_votes').select((eb) => eb.fn.countAll<number>().as('n')).where('poll_id', '=', poll.id).executeTakeFirstOrThrow()
  t.equal(Number(votes.n), 301, 'one choice per voter in a single-choice poll, whatever raced')
  const api = await admin.client.api('GET', `/api/v1/polls/${poll.id}`)
  t.equal(api.data.voters, 301)
  t.equal(api.data.options.reduce((n: number, o: { votes: number }) => n + o.votes, 0), 301, 'the shown counts add up to the voters')
  const mine = await db.selectFrom('poll_votes').select(['user_id', 'option_id']).where('poll_id', '=', poll.id).execute()
  const byUser = new Map(mine.map((v) => [Number(v.user_id), Number(v.option_id)]))
  t.ok(crowd.every((m, i) => (i % 3 === 0 ? [choiceOf(i), changed(i)] : [choiceOf(i)]).includes(byUser.get(m.id)!)), 'each holds one of the choices they sent')
  await app.hearth.relay.drain()
})

t.test('kinds and rules: multiple min/max, ranked with rounds, number average, visibility, secrecy, trust, closing, edits', async (t) => {
  const { app, db } = await build(t)
  const { member, regular, newbie, admin, cats, categoryMod } = await forum(app, db)
  const pollIn = async (postId: number) => db.selectFrom('polls').select(['id']).where('post_id', '=', postId).orderBy('position').execute()
  const optionsOf = async (pollId: number) => (await db.selectFrom('poll_options').select('id').where('poll_id', '=', pollId).orderBy('position').execute()).map((o) => Number(o.id))

  const multi = await startThread(member, cats.open.id, 'Multiple choice poll', block(['type: multiple', 'min: 2', 'max: 2', 'public: true', '- Red', '- Green', '- Blue']))
  const [mp] = await pollIn(multi.postId)
  const mo = await optionsOf(mp!.id)
  const one = await regular.client.api('POST', `/api/v1/polls/${mp!.id}/votes`, { choices: [mo[0]] })
  t.same([one.statusCode, one.data.field], [400, 'choices'])
  t.match(one.data.error, /Choose 2 options/)
  const two = await regular.client.api('POST', `/api/v1/polls/${mp!.id}/votes`, { choices: [mo[0], mo[2]] })
  t.equal(two.statusCode, 200)
  t.same(two.data.options.map((o: { percent: number }) => o.percent), [100, 0, 100], 'multiple choice: share of voters')
  t.same(two.data.options[0].voters, [regular.username], 'public poll: voters by name')
  // A form with several boxes ticked (repeated fields), as a browser sends it.
  const csrf = await member.client.csrfFrom(multi.url)
  const form = await app.inject({
    method: 'POST', url: `/polls/${mp!.id}/vote`, headers: { cookie: member.client.cookieHeader, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${encodeURIComponent(csrf)}&choice=${mo[1]}&choice=${mo[2]}`,
  })
  t.equal(form.statusCode, 303)
  t.same((await member.client.api('GET', `/api/v1/polls/${mp!.id}`)).data.options.map((o: { votes: number }) => o.votes), [1, 1, 2])

  // Ranked: ballots from forms (rank_<id>) and the API; the rounds match the reference.
  const ranked = await startThread(member, cats.open.id, 'Ranked choice poll', block(['type: ranked', '- A', '- B', '- C', '- D']))
  const [rp] = await pollIn(ranked.postId)
  const ro = await optionsOf(rp!.id)
  const voters = await members(app, db, 40)
  const rand = random(99)
  const sent = randomBallots(rand, ro, 40)
  for (const [i, m] of voters.entries()) {
    const res = await m.client.api('POST', `/api/v1/polls/${rp!.id}/votes`, { choices: sent[i] })
    if (res.statusCode !== 200) t.fail(res.body)
  }
  const rankCsrf = await regular.client.csrfFrom(ranked.url)
  const byForm = await regular.client.postForm(`/polls/${rp!.id}/vote`, { _csrf: rankCsrf, [`rank_${ro[3]}`]: '1', [`rank_${ro[0]}`]: '2', [`rank_${ro[1]}`]: '' })
  t.equal(byForm.statusCode, 303)
  sent.push([ro[3]!, ro[0]!])
  const dup = await regular.client.postForm(`/polls/${rp!.id}/vote`, { _csrf: rankCsrf, [`rank_${ro[0]}`]: '1', [`rank_${ro[1]}`]: '1' })
  t.equal(dup.statusCode, 400, 'one rank per option')
  const rres = (await admin.client.api('GET', `/api/v1/polls/${rp!.id}`)).data
  const ref = referenceIrv(ro, sent)
  const labels = ['A', 'B', 'C', 'D']
  t.equal(rres.winner, ref.winner === null ? null : labels[ro.indexOf(ref.winner)], `the winner matches the reference (${rres.winner})`)
  t.same(rres.rounds.map((r: { eliminated: string | null }) => r.eliminated).filter(Boolean), ref.eliminated.map((o) => labels[ro.indexOf(o)]), 'eliminated in the same order')
  const rankedPage = await regular.client.get(ranked.url)
  t.match(rankedPage.body, /Round 1/)
  t.match(rankedPage.body, /your ranking: <span class="poll-my-rank">1. D<\/span> <span class="poll-my-rank">2. A<\/span>/)

  // Number scale: the average.
  const scale = await startThread(member, cats.open.id, 'Number scale poll', block(['type: number', 'min: 1', 'max: 5']))
  const [np] = await pollIn(scale.postId)
  const no = await optionsOf(np!.id)
  await regular.client.api('POST', `/api/v1/polls/${np!.id}/votes`, { choices: [no[4]] })
  const avg = await newbie.client.api('POST', `/api/v1/polls/${np!.id}/votes`, { choices: [no[1]] })
  t.equal(avg.data.average, 3.5, '(5 + 2) / 2')

  // Results after voting, after close, staff only; secret voters stay secret.
  const hidden = await startThread(member, cats.open.id, 'Results after voting', block(['results: voted', '- Yes', '- No']) + '\n\n' + ['```poll', 'results: closed', '- Up', '- Down', '```', '', '```poll', 'results: staff', 'min_trust: 2', '- Left', '- Right', '```'].join('\n'))
  const [vp, cp, sp] = await pollIn(hidden.postId)
  const [yes] = await optionsOf(vp!.id)
  const before = (await regular.client.api('GET', `/api/v1/polls/${vp!.id}`)).data
  t.same([before.resultsVisible, before.options[0].votes], [false, undefined], 'no counts before voting')
  const mineVote = (await regular.client.api('POST', `/api/v1/polls/${vp!.id}/votes`, { choices: [yes] })).data
  t.same([mineVote.resultsVisible, mineVote.options[0].votes, mineVote.options[0].voters], [true, 1, undefined], 'counts after voting; a secret poll names nobody')
  const page = await newbie.client.get(hidden.url)
  t.match(page.body, /Vote to see the results/)
  t.match(page.body, /Results will show when the poll closes/)
  t.match(page.body, /Open to members at trust level 2 and above/)
  const [up] = await optionsOf(cp!.id)
  await regular.client.api('POST', `/api/v1/polls/${cp!.id}/votes`, { choices: [up] })
  t.equal((await regular.client.api('GET', `/api/v1/polls/${cp!.id}`)).data.resultsVisible, false, 'results after close: hidden while open, even to voters')
  const trust = await newbie.client.api('POST', `/api/v1/polls/${sp!.id}/votes`, { choices: [(await optionsOf(sp!.id))[0]] })
  t.same([trust.statusCode], [403], 'the trust level limit holds')
  t.equal((await admin.client.api('GET', `/api/v1/polls/${sp!.id}`)).data.resultsVisible, true, 'staff see staff-only results')
  t.equal((await regular.client.api('GET', `/api/v1/polls/${sp!.id}`)).data.resultsVisible, false)
  // Closing: others may not; the author may; a moderator of another category may not.
  t.equal((await regular.client.api('POST', `/api/v1/polls/${cp!.id}/close`, {})).statusCode, 403)
  t.equal((await categoryMod.client.api('POST', `/api/v1/polls/${cp!.id}/close`, {})).statusCode, 403, 'a moderator of other categories cannot')
  const closed = await member.client.api('POST', `/api/v1/polls/${cp!.id}/close`, {})
  t.same([closed.statusCode, closed.data.closed, closed.data.resultsVisible], [200, true, true])
  const late = await regular.client.api('POST', `/api/v1/polls/${cp!.id}/votes`, { choices: [up] })
  t.equal(late.statusCode, 403, 'no votes after close')
  t.match(late.data.error, /closed/)
  t.equal((await regular.client.api('DELETE', `/api/v1/polls/${cp!.id}/votes`)).statusCode, 403, 'nor taking one back')
  const adminClose = await admin.client.api('POST', `/api/v1/polls/${sp!.id}/close`, {})
  t.equal(adminClose.statusCode, 200)
  const logged = await db.selectFrom('moderation_log').select(['action', 'actor_id']).where('action', '=', 'poll.close').execute()
  t.same(logged.map((l) => Number(l.actor_id)), [admin.id], 'closing someone else’s poll is logged; the author’s own close is not')

  // Taking a vote back.
  const back = await regular.client.api('DELETE', `/api/v1/polls/${vp!.id}/votes`)
  t.same([back.statusCode, back.data.voted, back.data.voters], [200, false, 0])

  // Edits: settings change and votes stay; options change only while nobody voted.
  const editPoll = await startThread(member, cats.open.id, 'A poll that gets edited', block(['- One', '- Two']))
  const [ep] = await pollIn(editPoll.postId)
  const eo = await optionsOf(ep!.id)
  const freshEdit = await member.client.api('PATCH', `/api/v1/posts/${editPoll.postId}`, { body: block(['- One', '- Two', '- Three']) })
  t.equal(freshEdit.statusCode, 200, 'without votes the options may change', { body: freshEdit.body })
  const [ep2] = await pollIn(editPoll.postId)
  const eo2 = await optionsOf(ep2!.id)
  t.equal(eo2.length, 3)
  t.not(eo2[0], eo[0], 'a changed poll is a new poll')
  await regular.client.api('POST', `/api/v1/polls/${ep2!.id}/votes`, { choices: [eo2[0]] })
  const settingsOnly = await member.client.api('PATCH', `/api/v1/posts/${editPoll.postId}`, { body: block(['title: Now with a title', 'results: voted', '- One', '- Two', '- Three']) })
  t.equal(settingsOnly.statusCode, 200)
  const [ep3] = await pollIn(editPoll.postId)
  t.equal(ep3!.id, ep2!.id, 'same options: the same poll')
  t.equal((await regular.client.api('GET', `/api/v1/polls/${ep2!.id}`)).data.voters, 1, 'votes kept')
  const optionEdit = await member.client.api('PATCH', `/api/v1/posts/${editPoll.postId}`, { body: block(['- One', '- Two', '- Four']) })
  t.same([optionEdit.statusCode, optionEdit.data.field], [400, 'body'])
  t.match(optionEdit.data.error, /already has votes, so its type and options cannot change/)
  const reveal = await member.client.api('PATCH', `/api/v1/posts/${editPoll.postId}`, { body: block(['public: true', '- One', '- Two', '- Three']) })
  t.match(reveal.data.error, /cannot become public/, 'a secret poll with votes never becomes public')
  const removed = await member.client.api('PATCH', `/api/v1/posts/${editPoll.postId}`, { body: 'No poll any more.' })
  t.equal(removed.statusCode, 200)
  t.equal((await pollIn(editPoll.postId)).length, 0, 'removing the block deletes the poll')
  t.notOk((await db.selectFrom('posts').select('has_poll').where('id', '=', editPoll.postId).executeTakeFirstOrThrow()).has_poll)

  // Bad blocks are refused before anything is written; past close dates too; idea links are for staff.
  const bad = await member.client.api('POST', '/api/v1/threads', { categoryId: cats.open.id, title: 'A broken poll here', body: block(['- only']) })
  t.same([bad.statusCode, bad.data.field], [400, 'body'])
  t.match(bad.data.error, /Poll 1: give at least two options/)
  const past = await member.client.api('POST', '/api/v1/threads', { categoryId: cats.open.id, title: 'A poll closed already', body: block(['close: 2020-01-01', '- a', '- b']) })
  t.match(past.data.error, /already passed/)
  const ideaLink = await member.client.api('POST', '/api/v1/threads', { categoryId: cats.open.id, title: 'Poll linked to an idea', body: block(['idea: 1', '- a', '- b']) })
  t.match(ideaLink.data.error, /only staff link a poll to an idea/)

  // A poll in a members-only category is not there for a guest.
  const privateThread = await startThread(member, cats.members.id, 'A private poll thread', block(['- a', '- b']))
  const [pp] = await pollIn(privateThread.postId)
  t.equal((await new Client(app).api('GET', `/api/v1/polls/${pp!.id}`)).statusCode, 404)
  t.equal((await new Client(app).get(`/polls/${pp!.id}/fragment`)).statusCode, 404)
})

t.test('a reply can hold a poll; live frames carry ids only', async (t) => {
  const { app, db } = await build(t)
  const { member, regular, cats } = await forum(app, db)
  const thread = await startThread(member, cats.open.id, 'Poll in a reply')
  const reply = await regular.client.api('POST', `/api/v1/threads/${thread.id}/posts`, { body: block(['- Tea', '- Coffee']) })
  t.equal(reply.statusCode, 201)
  const poll = await db.selectFrom('polls').select(['id', 'thread_id']).where('post_id', '=', reply.data.id).executeTakeFirstOrThrow()
  t.equal(Number(poll.thread_id), thread.id)
  // A post that is nothing but a poll still shows it, to a guest too.
  const onlyPoll = await startThread(member, cats.open.id, 'Nothing but a poll', '```poll\n- Left\n- Right\n```')
  const onlyPollId = (await db.selectFrom('polls').select('id').where('post_id', '=', onlyPoll.postId).executeTakeFirstOrThrow()).id
  t.match((await new Client(app).get(onlyPoll.url)).body, `id="poll-${onlyPollId}"`, 'a post of only a poll shows the poll')
  const frames: unknown[] = []
  app.hearth.events.on('poll.changed', (e) => void frames.push({ data: e.data, channels: e.channels }))
  const [tea] = await db.selectFrom('poll_options').select('id').where('poll_id', '=', poll.id).orderBy('position').execute()
  await member.client.api('POST', `/api/v1/polls/${poll.id}/votes`, { choices: [tea!.id] })
  await app.hearth.relay.drain()
  t.same(frames, [{ data: { pollId: Number(poll.id), postId: reply.data.id, threadId: thread.id, voters: 1 }, channels: [`thread:${thread.id}`] }], 'no voter in the live frame')
  const fragment = await member.client.get(`/polls/${poll.id}/fragment`)
  t.equal(fragment.statusCode, 200)
  t.notMatch(fragment.body, /<html/, 'the fragment is the poll alone')
  t.match(fragment.body, /your vote/)
})

t.test('a poll linked to an idea shows its result on the idea page', async (t) => {
  const { app, db } = await build(t)
  const { admin, member, regular, cats } = await forum(app, db)
  const idea = await member.client.api('POST', '/api/v1/ideas', { title: 'A dark theme for the forum', body: 'Easier on the eyes at night, please.' })
  const ideaId = idea.data.id as number
  const thread = await startThread(admin, cats.open.id, 'Which dark theme?', block([`idea: ${ideaId}`, 'title: Which dark theme should we build?', '- Pure black', '- Dim grey']))
  const poll = await db.selectFrom('polls').select(['id', 'idea_id']).where('post_id', '=', thread.postId).executeTakeFirstOrThrow()
  t.equal(Number(poll.idea_id), ideaId)
  const [black] = await db.selectFrom('poll_options').select('id').where('poll_id', '=', poll.id).orderBy('position').execute()
  await regular.client.api('POST', `/api/v1/polls/${poll.id}/votes`, { choices: [black!.id] })
  const page = await new Client(app).get(`/ideas/${ideaId}`)
  t.match(page.body, /What the community said in polls/)
  t.match(page.body, /Which dark theme should we build\?/)
  t.match(page.body, /100% · 1/, 'the result shows on the idea')
  const bad = await admin.client.api('POST', '/api/v1/threads', { categoryId: cats.open.id, title: 'A poll for no idea', body: block(['idea: 999999', '- a', '- b']) })
  t.match(bad.data.error, /there is no idea #999999/)
})

t.test('the thread API gives each post its polls', async (t) => {
  const { app, db } = await build(t)
  const { member, cats } = await forum(app, db)
  const thread = await startThread(member, cats.open.id, 'A thread with a poll for the API', block(['- Yes', '- No']))
  const res = await new Client(app).api('GET', `/api/v1/threads/${thread.id}`)
  const first = res.data.posts[0]
  t.ok(first, 'the opening post is there')
  t.match(first.polls, [{ kind: 'single', options: [{ label: 'Yes' }, { label: 'No' }], voters: 0 }])
})
