import { sql } from 'kysely'
import type { SessionUser } from '../../core/auth/sessions.js'
import type { Config } from '../../config.js'
import type { Db } from '../../core/db.js'
import { parse } from '../../core/errors.js'
import { ensure, viewerOf, type Viewer } from '../../core/guard.js'
import { renderMarkdown } from '../../core/markdown.js'
import type { CommunitySettings } from '../../core/settings.js'
import { type CategoryService, IDEA_COMMENTS_CATEGORY } from '../discussions/categories.js'
import { logStaffAction } from '../moderation/log.js'
import { communityImageUrl } from './images.js'
import { CommunityForm } from './schemas.js'
import { themeCss } from './theme.js'

/** What every page shows of the community: its name and look. */
export interface CommunityIdentity {
  name: string
  tagline: string
  logoUrl: string | null
  faviconUrl: string | null
  accentColor: string | null
  /** The current `/theme.css` version (changes with the accent and category colours). */
  themeVersion: string
}

/** One step of the first-run checklist on /admin. */
export interface ChecklistItem {
  id: 'name' | 'categories' | 'invite' | 'mail'
  title: string
  hint: string
  done: boolean
  href: string | null
}

const IDENTITY_CACHE_MS = 5_000

/**
 * The community itself: its identity (name, tagline, logo, favicon, accent) and its public
 * pages (guidelines, about, contact, staff, statistics), stored in community settings with
 * the environment's COMMUNITY_NAME as the fallback; and the first-run checklist for owners.
 */
export class CommunityService {
  private current: { at: number; identity: CommunityIdentity; theme: { css: string; version: string } } | null = null
  private loading: Promise<NonNullable<CommunityService['current']>> | null = null
  // Bumped by every change here, so a load begun before it never stores what it read.
  private generation = 0

  constructor(
    private readonly db: Db,
    private readonly settings: CommunitySettings,
    private readonly categories: CategoryService,
    private readonly config: Pick<Config, 'communityName' | 'smtpUrl' | 'redisUrl' | 'baseUrl'>,
  ) {}

  /**
   * The name, tagline, logo, favicon and accent pages show; stored values over the
   * environment's. Every page asks, so it costs no query: a copy older than a few seconds is
   * still served while a fresh one loads in the background (a change made in this process
   * is seen at once, one made in another within seconds).
   */
  async identity(): Promise<CommunityIdentity> {
    return (await this.cached()).identity
  }

  /** The identity from the environment alone: what pages show while the database is not answering. */
  fallbackIdentity(): CommunityIdentity {
    return this.current?.identity ?? { name: this.config.communityName, tagline: '', logoUrl: null, faviconUrl: null, accentColor: null, themeVersion: '0' }
  }

  private async cached() {
    const kept = this.current
    if (!kept) return this.reload()
    if (Date.now() - kept.at > IDENTITY_CACHE_MS) void this.reload().catch(() => {})
    return kept
  }

  private reload() {
    this.loading ??= this.load().finally(() => (this.loading = null))
    return this.loading
  }

  private async load() {
    const generation = this.generation
    const [s, all] = await Promise.all([this.settings.all({ fresh: true }), this.categories.all()])
    const theme = themeCss(s.accent_color || null, all)
    const identity: CommunityIdentity = {
      name: s.community_name || this.config.communityName,
      tagline: s.tagline,
      logoUrl: communityImageUrl(s.logo_url),
      faviconUrl: communityImageUrl(s.favicon_url),
      accentColor: s.accent_color || null,
      themeVersion: theme.version,
    }
    const loaded = { at: Date.now(), identity, theme }
    if (generation === this.generation) this.current = loaded
    return loaded
  }

  /** The community's name (mail subjects, feeds). */
  async name(): Promise<string> {
    return (await this.identity()).name
  }

  /** The `/theme.css` stylesheet and its version. */
  async themeStylesheet(): Promise<{ css: string; version: string }> {
    return (await this.cached()).theme
  }

  /** Forgets the kept identity and stylesheet (the accent or a category's colour changed here). */
  changed(): void {
    this.current = null
    this.loading = null
    this.generation += 1
  }

  /** The values the /admin form shows. */
  async formValues(): Promise<CommunityForm> {
    const s = await this.settings.all()
    return {
      community_name: s.community_name || this.config.communityName,
      tagline: s.tagline,
      logo_url: s.logo_url,
      favicon_url: s.favicon_url,
      accent_color: s.accent_color,
      guidelines: s.guidelines,
      about: s.about,
      contact: s.contact,
    }
  }

  /** Saves the identity and public pages (admins); logged with the names of what changed. */
  async update(actor: SessionUser, raw: unknown): Promise<CommunityIdentity> {
    ensure(viewerOf(actor), 'administer', undefined)
    const input = parse(CommunityForm, raw)
    const before = await this.settings.all({ fresh: true })
    const changed = (Object.keys(input) as (keyof CommunityForm)[]).filter((k) => before[k] !== input[k])
    await this.db.transaction().execute(async (trx) => {
      await this.settings.update(input, trx)
      if (changed.length > 0) {
        await logStaffAction(trx, {
          actorId: actor.id,
          action: 'settings.community',
          target: { type: 'settings', id: 'community' },
          details: { changed },
        })
      }
    })
    this.changed()
    return this.identity()
  }

  /** Puts the first-run checklist away (admins). */
  async dismissChecklist(actor: SessionUser): Promise<void> {
    ensure(viewerOf(actor), 'administer', undefined)
    await this.settings.set('checklist_dismissed', true)
  }

  /**
   * The first-run checklist, each step checked from what is true now: the community has a
   * name of its own, a category besides the idea discussions, a second member, and mail
   * (SMTP and the Redis the mail worker needs). Null once every step is done or an admin put it away.
   */
  async checklist(): Promise<{ items: ChecklistItem[]; done: number } | null> {
    const s = await this.settings.all()
    if (s.checklist_dismissed) return null
    const counts = await this.db
      .selectNoFrom((eb) => [
        eb.selectFrom('categories').select(eb.fn.countAll<string>().as('n')).where('slug', '!=', IDEA_COMMENTS_CATEGORY).as('categories'),
        eb.selectFrom('users').select(eb.fn.countAll<string>().as('n')).as('members'),
      ])
      .executeTakeFirstOrThrow()
    const mailOn = this.config.smtpUrl !== null && this.config.redisUrl !== null
    const items: ChecklistItem[] = [
      {
        id: 'name',
        title: 'Name your community',
        hint: 'Its name, tagline, accent colour and guidelines, shown on every page and on /about.',
        done: s.community_name !== '',
        href: '#community',
      },
      {
        id: 'categories',
        title: 'Create your first categories',
        hint: 'Spaces for members to talk in: start with two or three, you can add more later.',
        done: Number(counts.categories) > 0,
        href: '#categories',
      },
      {
        id: 'invite',
        title: 'Invite members',
        hint: `Share the sign-up page, ${this.config.baseUrl}/signup, with the people you want here.`,
        done: Number(counts.members) > 1,
        href: null,
      },
      {
        id: 'mail',
        title: 'Set up mail',
        hint: mailOn
          ? 'SMTP_URL and REDIS_URL are set: welcome mail, digests and notifications go out.'
          : 'Set SMTP_URL (your mail relay) and REDIS_URL, and run the worker, so members get welcome mail, password resets and digests.',
        done: mailOn,
        href: null,
      },
    ]
    const done = items.filter((i) => i.done).length
    return done === items.length ? null : { items, done }
  }

  /** The /about page: guidelines, about text, contact, the staff (with their scope) and the community's figures. */
  async about(viewer: Viewer) {
    const s = await this.settings.all()
    const visible = await this.categories.visible(viewer)
    const visibleIds = visible.map((c) => c.id)
    const staff = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'display_name', 'role'])
      .where('role', 'in', ['admin', 'moderator'])
      .orderBy(sql`case role when 'admin' then 0 else 1 end`)
      .orderBy('username')
      .execute()
    const categoryMods = visibleIds.length
      ? await this.db
          .selectFrom('category_moderators as m')
          .innerJoin('users as u', 'u.id', 'm.user_id')
          .select(['u.id', 'u.username', 'u.display_name', 'u.role', 'm.category_id'])
          .where('m.category_id', 'in', visibleIds)
          .orderBy('u.username')
          .execute()
      : []
    const byId = new Map(visible.map((c) => [c.id, c]))
    const scoped = new Map<number, { username: string; name: string | null; categories: { name: string; slug: string }[] }>()
    for (const m of categoryMods) {
      if (m.role !== 'member') continue // admins and global moderators are listed with their role
      const entry = scoped.get(m.id) ?? { username: m.username, name: m.display_name, categories: [] }
      const c = byId.get(m.category_id)
      if (c) entry.categories.push({ name: c.name, slug: c.slug })
      scoped.set(m.id, entry)
    }
    return {
      guidelinesHtml: renderMarkdown(s.guidelines).html,
      aboutHtml: s.about ? renderMarkdown(s.about).html : null,
      contact: contactOf(s.contact),
      admins: staff.filter((u) => u.role === 'admin').map((u) => ({ username: u.username, name: u.display_name })),
      moderators: staff.filter((u) => u.role === 'moderator').map((u) => ({ username: u.username, name: u.display_name })),
      categoryModerators: [...scoped.values()],
      stats: await this.stats(visibleIds),
    }
  }

  // Totals and the last 7 and 30 days, in one statement; threads and posts only from
  // categories the reader may see (idea comment threads count as idea discussion).
  private async stats(visibleIds: number[]) {
    const ids = visibleIds.length ? visibleIds : [0]
    const { rows } = await sql<Record<string, string>>`
      select
        (select count(*) from users) as members,
        (select count(*) from users where created_at > now() - interval '7 days') as members_7,
        (select count(*) from users where created_at > now() - interval '30 days') as members_30,
        t.threads, t.threads_7, t.threads_30, p.posts, p.posts_7, p.posts_30,
        i.ideas, i.ideas_7, i.ideas_30
      from
        (select count(*) as threads,
                count(*) filter (where created_at > now() - interval '7 days') as threads_7,
                count(*) filter (where created_at > now() - interval '30 days') as threads_30
           from threads where deleted_at is null and category_id = any(${ids})
             and category_id not in (select id from categories where slug = ${IDEA_COMMENTS_CATEGORY})) t,
        (select count(*) as posts,
                count(*) filter (where p.created_at > now() - interval '7 days') as posts_7,
                count(*) filter (where p.created_at > now() - interval '30 days') as posts_30
           from posts p join threads th on th.id = p.thread_id
          where p.deleted_at is null and p.hidden_at is null and th.deleted_at is null and th.category_id = any(${ids})) p,
        (select count(*) as ideas,
                count(*) filter (where created_at > now() - interval '7 days') as ideas_7,
                count(*) filter (where created_at > now() - interval '30 days') as ideas_30
           from ideas where merged_into_id is null) i`.execute(this.db)
    const r = rows[0]!
    const row = (label: string, key: string) => ({ label, total: Number(r[key]), week: Number(r[`${key}_7`]), month: Number(r[`${key}_30`]) })
    return [row('Members', 'members'), row('Threads', 'threads'), row('Posts', 'posts'), row('Ideas', 'ideas')]
  }
}

/** How the contact shows: a mail address becomes a mailto link, an https address a link, anything else text. */
function contactOf(contact: string): { text: string; href: string | null } | null {
  if (!contact) return null
  if (/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(contact)) return { text: contact, href: `mailto:${contact}` }
  if (URL.canParse(contact) && ['https:', 'http:'].includes(new URL(contact).protocol)) return { text: contact, href: contact }
  return { text: contact, href: null }
}
