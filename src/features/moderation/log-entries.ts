import { markdownToText } from '../../core/markdown.js'
import type { DbOrTrx } from '../../core/db.js'
import type { IdeaStatus } from '../../core/db-types.js'
import { threadUrl } from '../discussions/service.js'
import { STATUS_LABELS } from '../ideas/schemas.js'
import { isStaffActionCode, STAFF_ACTIONS } from './log.js'

/** One piece of a log sentence: plain words, or a name that links somewhere. */
export interface LogPart {
  text: string
  url?: string
}

/** One moderation-log entry as the page shows it: "Anna deleted a reply in “Dark mode?” in General". */
export interface LogEntry {
  id: number
  createdAt: Date
  actor: LogPart
  /** The rest of the sentence after the actor's name. */
  parts: LogPart[]
  reason: string
  /** The code, kept for the API and for tests; the page shows `parts`. */
  action: string
}

/** A stored row of `moderation_log`, with the actor's name joined. */
export interface LogRow {
  id: number
  action: string
  target_type: string
  target_id: string
  reason: string
  details: Record<string, unknown>
  category_id: number | null
  created_at: Date
  actor: string | null
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null)
const ids = (values: (number | null)[]) => [...new Set(values.filter((v): v is number => v !== null))]
const quoted = (title: string) => `“${title}”`
const day = (iso: unknown) => (typeof iso === 'string' && !Number.isNaN(Date.parse(iso)) ? new Date(iso).toUTCString().slice(0, 16) : null)

/**
 * Turns a page of log rows into sentences with names and links. Every name the page needs
 * is loaded in at most eight queries, whatever the page holds (no query per entry).
 * `visible` is the reader's visible category ids (null for staff, who see everything): a
 * post or thread that has since moved somewhere the reader cannot see keeps its title hidden.
 */
export async function describeLog(db: DbOrTrx, rows: LogRow[], visible: ReadonlySet<number> | null): Promise<LogEntry[]> {
  const targetIds = (type: string) => ids(rows.filter((r) => r.target_type === type).map((r) => num(r.target_id)))
  const postIds = targetIds('post')
  const threadIds = targetIds('thread')
  const userIds = targetIds('user')
  const signupIds = targetIds('beta_signup')
  const programIds = targetIds('beta_program')
  const eventIds = targetIds('event')
  const ideaIds = ids([...targetIds('idea'), ...rows.filter((r) => r.action === 'idea.merge').map((r) => num(r.details.into))])
  const categoryIds = ids([
    ...rows.map((r) => r.category_id),
    ...rows.map((r) => num(r.details.toCategoryId)),
    ...targetIds('category'),
  ])

  const [categories, posts, threads, users, ideas, signups, programs, events] = await Promise.all([
    categoryIds.length ? db.selectFrom('categories').select(['id', 'name', 'slug']).where('id', 'in', categoryIds).execute() : [],
    postIds.length
      ? db
          .selectFrom('posts as p')
          .innerJoin('threads as t', 't.id', 'p.thread_id')
          .select(['p.id as post_id', 'p.hidden_at', 't.id', 't.title', 't.slug', 't.deleted_at', 't.category_id'])
          .where('p.id', 'in', postIds)
          .execute()
      : [],
    threadIds.length ? db.selectFrom('threads').select(['id', 'title', 'slug', 'deleted_at', 'category_id']).where('id', 'in', threadIds).execute() : [],
    userIds.length ? db.selectFrom('users').select(['id', 'username']).where('id', 'in', userIds).execute() : [],
    ideaIds.length ? db.selectFrom('ideas').select(['id', 'title']).where('id', 'in', ideaIds).execute() : [],
    signupIds.length
      ? db
          .selectFrom('beta_signups as s')
          .innerJoin('users as u', 'u.id', 's.user_id')
          .innerJoin('beta_programs as b', 'b.id', 's.program_id')
          .select(['s.id', 'u.username', 'b.id as program_id', 'b.title'])
          .where('s.id', 'in', signupIds)
          .execute()
      : [],
    programIds.length ? db.selectFrom('beta_programs').select(['id', 'title']).where('id', 'in', programIds).execute() : [],
    eventIds.length ? db.selectFrom('events').select(['id', 'title']).where('id', 'in', eventIds).execute() : [],
  ])
  const byId = <T extends { id: number }>(list: T[]) => new Map(list.map((x) => [x.id, x]))
  const categoryOf = byId(categories)
  const postOf = new Map(posts.map((p) => [p.post_id, p]))
  const threadOf = byId(threads)
  const userOf = byId(users)
  const ideaOf = byId(ideas)
  const signupOf = byId(signups)
  const programOf = byId(programs)
  const eventOf = byId(events)

  const categoryPart = (id: number | null): LogPart => {
    const c = id === null ? undefined : categoryOf.get(id)
    return c ? { text: c.name, url: `/c/${c.slug}` } : { text: 'a deleted category' }
  }
  const userPart = (id: number | null): LogPart => {
    const u = id === null ? undefined : userOf.get(id)
    return u ? { text: `@${u.username}`, url: `/u/${u.username}` } : { text: 'a former member' }
  }
  const threadPart = (t: { title: string; deleted_at: Date | null; category_id: number } | undefined, url: string): LogPart => {
    if (!t) return { text: 'a thread that no longer exists' }
    // The entry's category is visible, but the thread may have moved since into one that is not.
    if (visible && !visible.has(t.category_id)) return { text: 'a thread you cannot see' }
    return t.deleted_at ? { text: quoted(t.title) } : { text: quoted(t.title), url }
  }
  const ideaPart = (id: number | null): LogPart => {
    const i = id === null ? undefined : ideaOf.get(id)
    return i ? { text: quoted(i.title), url: `/ideas/${i.id}` } : { text: 'an idea that no longer exists' }
  }

  return rows.map((r) => {
    const id = num(r.target_id)
    const spec = isStaffActionCode(r.action) ? STAFF_ACTIONS[r.action] : null
    const parts: LogPart[] = [{ text: spec?.label ?? r.action.replace(/[._]/g, ' ') }]
    let showCategory = r.category_id !== null
    switch (r.target_type) {
      case 'post': {
        const p = id === null ? undefined : postOf.get(id)
        // A hidden post is 404 to most readers at /p/:id; its thread is not.
        parts.push(p ? threadPart(p, p.hidden_at ? threadUrl(p) : `/p/${id}`) : { text: 'a post that no longer exists' })
        break
      }
      case 'thread': {
        const t = id === null ? undefined : threadOf.get(id)
        parts.push(threadPart(t, t ? threadUrl(t) : ''))
        break
      }
      case 'user':
        // Accepting or declining an invitation is about oneself: the actor's name says it.
        if (!(r.action === 'moderator.accept' || r.action === 'moderator.decline')) parts.push(userPart(id))
        break
      case 'category':
        parts.push(categoryPart(id))
        showCategory = false
        break
      case 'idea':
        parts.push(ideaPart(id))
        break
      case 'beta_signup': {
        const s = id === null ? undefined : signupOf.get(id)
        if (s) parts.push({ text: `@${s.username}`, url: `/u/${s.username}` }, { text: 'for' }, { text: quoted(s.title), url: `/beta/${s.program_id}` })
        else parts.push({ text: 'a sign-up that no longer exists' })
        break
      }
      case 'beta_program': {
        const b = id === null ? undefined : programOf.get(id)
        parts.push(b ? { text: quoted(b.title), url: `/beta/${b.id}` } : { text: 'a beta program that no longer exists' })
        break
      }
      case 'event': {
        const e = id === null ? undefined : eventOf.get(id)
        parts.push(e ? { text: quoted(e.title), url: `/events/${e.id}` } : { text: 'an event that no longer exists' })
        break
      }
    }
    const d = r.details
    switch (r.action) {
      case 'member.role':
        if (typeof d.from === 'string' && typeof d.to === 'string') parts.push({ text: d.from === d.to ? `(${d.to}, ${d.locked ? 'locked' : 'unlocked'})` : `from ${d.from} to ${d.to}` })
        break
      case 'member.trust':
        if (typeof d.from === 'number' && typeof d.to === 'number') parts.push({ text: d.from === d.to ? `(trust level ${d.to}, ${d.locked ? 'locked' : 'unlocked'})` : `from trust level ${d.from} to ${d.to}` })
        break
      case 'member.suspend':
      case 'member.silence': {
        const until = day(d.until)
        if (until) parts.push({ text: `until ${until}` })
        break
      }
      case 'idea.status': {
        const to = STATUS_LABELS[d.to as IdeaStatus]
        if (to) parts.push({ text: `to ${to}` })
        break
      }
      case 'idea.merge':
        parts.push({ text: 'into' }, ideaPart(num(d.into)))
        break
    }
    if (showCategory) {
      const after = spec?.after ?? 'in'
      if (after) parts.push({ text: after })
      parts.push(categoryPart(r.category_id))
      const to = num(d.toCategoryId)
      if (r.action === 'thread.move' && to !== null) parts.push({ text: 'to' }, categoryPart(to))
    }
    return {
      id: r.id,
      createdAt: r.created_at,
      // Automatic changes (the promotion job) have no actor.
      actor: r.actor ? { text: r.actor, url: `/u/${r.actor}` } : { text: 'Hearth (automatic)' },
      parts,
      // Reasons are often written as markdown (an idea's status note): the log shows their plain text.
      reason: markdownToText(r.reason, 500),
      action: r.action,
    }
  })
}
