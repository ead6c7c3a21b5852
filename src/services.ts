import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import { SessionStore } from './core/auth/sessions.js'
import type { Db } from './core/db.js'
import { EventBus } from './core/events.js'
import { type EventConsumer, Outbox, OutboxRelay } from './core/outbox.js'
import type { JobQueue } from './core/queue.js'
import { createFanout, type Fanout, liveConsumer, type LiveOptions } from './core/realtime/index.js'
import { CommunitySettings, instanceSecret } from './core/settings.js'
import { LinkSigner } from './core/signed-tokens.js'
import { MemberDirectory } from './features/accounts/directory.js'
import { DataExportService } from './features/accounts/exports.js'
import { LeavingService } from './features/accounts/leaving.js'
import { AccountService } from './features/accounts/service.js'
import { personalDataContributors } from './features/registry.js'
import { ActivityService } from './features/activity/service.js'
import { HealthReport } from './features/activity/report.js'
import { SegmentService } from './features/activity/segments.js'
import { ReferralService } from './features/referrals/service.js'
import { JobAdminService } from './features/admin-jobs/service.js'
import { BetaService } from './features/beta/service.js'
import { EventService } from './features/events/service.js'
import { CategoryService } from './features/discussions/categories.js'
import { SearchService } from './features/discussions/search.js'
import { DiscussionService } from './features/discussions/service.js'
import { EmailService } from './features/email/service.js'
import { CommunityService } from './features/community/service.js'
import { IdeaService } from './features/ideas/service.js'
import { MentionService } from './features/mentions/service.js'
import { ModerationService } from './features/moderation/service.js'
import { NotificationLevelService } from './features/notifications/levels.js'
import { NotificationService } from './features/notifications/service.js'
import { AkismetChecker } from './features/spam/checker.js'
import { SpamService } from './features/spam/service.js'
import { TrustService } from './features/trust/service.js'
import { ThreadViews } from './features/discussions/thread-views.js'
import { UploadService } from './features/uploads/service.js'
import { LocalFolderStorage, type UploadStorage } from './features/uploads/storage.js'
import { PollService } from './features/polls/service.js'
import { SurveyService } from './features/surveys/service.js'

/** What the service graph is built from: the resources an entrypoint (or a test) owns. */
export interface ServiceDeps {
  config: Config
  db: Db
  log: Logger
  redis?: Redis | null
  queue?: JobQueue | null
  /**
   * A connection string the outbox relay may LISTEN on, so it hears commits from every
   * process at once. Null on embedded PostgreSQL, which serves one connection.
   */
  listenUrl?: string | null
  /** Overrides of the live sockets' limits and history (tests shrink them). */
  live?: LiveOptions
  /** How often the relay looks for events nobody announced (default 1 s). */
  outboxPollMs?: number
  /** Where uploaded images are kept; a folder (`config.uploadsDir`) when absent. */
  uploadStorage?: UploadStorage
}

/** Every service, built once with its dependencies; the web process, the worker and the CLI share this graph. */
export interface Services {
  config: Config
  db: Db
  log: Logger
  redis: Redis | null
  queue: JobQueue | null
  /** Signs unsubscribe and verification links with the instance secret. */
  links: LinkSigner
  secret: string
  outbox: Outbox
  relay: OutboxRelay
  /** This process's listeners of delivered events. */
  events: EventBus
  /** Where live events go: Redis pub/sub across instances, or in-process. */
  fanout: Fanout
  settings: CommunitySettings
  sessions: SessionStore
  accounts: AccountService
  /** The member directory at /u. */
  members: MemberDirectory
  /** Account deletion with its cooling-off. */
  leaving: LeavingService
  /** Data exports. */
  exports: DataExportService
  notifications: NotificationService
  /** Levels per thread and category, muted members, like notifications on or off. */
  notificationLevels: NotificationLevelService
  categories: CategoryService
  discussions: DiscussionService
  search: SearchService
  /** Thread view counts, buffered in this process and saved in batches. */
  threadViews: ThreadViews
  /** Who to suggest as a member types an @-mention. */
  mentions: MentionService
  ideas: IdeaService
  beta: BetaService
  email: EmailService
  moderation: ModerationService
  trust: TrustService
  spam: SpamService
  jobs: JobAdminService
  /** The activity log and lifecycle stages (community health). */
  activity: ActivityService
  /** The health dashboard's figures. */
  health: HealthReport
  /** Member segments and the owners' actions on them. */
  segments: SegmentService
  /** Invite links and the sign-ups they brought. */
  referrals: ReferralService
  uploads: UploadService
  /** The community's identity, public pages and first-run checklist. */
  community: CommunityService
  /** Polls in posts. */
  polls: PollService
  /** Surveys, NPS, and the follow-ups that close the loop. */
  surveys: SurveyService
  /** Events and meetups: RSVPs, waitlists, reminders, calendars (`events` is the process's event bus). */
  meetups: EventService
  /** Starts delivering events (listen and poll); entrypoints call it once they are ready. */
  start(): Promise<void>
  /** Stops the relay and the fan-out. */
  close(): Promise<void>
}

/**
 * Builds the service graph. Services get what they depend on here and nowhere else; the
 * outbox relay gets its consumers here: live fan-out, mail and jobs (with Redis), and this
 * process's in-memory listeners.
 */
export async function buildServices(deps: ServiceDeps): Promise<Services> {
  const { config, db, log } = deps
  const redis = deps.redis ?? null
  const queue = deps.queue ?? null
  const secret = await instanceSecret(db, config.secretKey)
  const links = new LinkSigner(secret)
  // Other processes LISTEN when the database is a PostgreSQL server (embedded PostgreSQL has one connection, and nobody listens).
  const outbox = new Outbox(db, { announce: config.databaseUrl !== null || Boolean(deps.listenUrl) })
  const events = new EventBus((err, event) => log.error({ err, event: event.type }, 'event listener failed'))
  const fanout = createFanout({ redis, redisPrefix: config.redisPrefix, log: log.child({ module: 'live' }), limits: deps.live })

  const settings = new CommunitySettings(db)
  const sessions = new SessionStore(db, config.sessionDays, outbox)
  const categories = new CategoryService(db, outbox)
  const notifications = new NotificationService(db, outbox, categories)
  const checker = config.akismet ? new AkismetChecker({ ...config.akismet, blog: config.baseUrl }) : null
  const spam = new SpamService(db, settings, categories, notifications, outbox, sessions, secret, { baseUrl: config.baseUrl, checker })
  // New posts pass the spam gate; approving a held one publishes it through the discussions.
  const discussions = new DiscussionService(db, categories, settings, notifications, outbox, spam)
  spam.attach(discussions)
  // Posts' ```poll blocks are kept by the polls, which read posts through the discussions.
  const polls = new PollService(db, outbox, settings)
  polls.attach(discussions)
  discussions.attachExtras(polls)
  const ideas = new IdeaService(db, outbox, notifications, discussions, settings)
  const email = new EmailService(db, links, config, queue, outbox)
  const activity = new ActivityService(db, settings, log.child({ module: 'activity' }))
  const segments = new SegmentService(db, notifications)

  const consumers: EventConsumer[] = [liveConsumer(fanout), notifications.consumer()]
  if (queue) consumers.push(email.consumer())
  consumers.push(activity.consumer())
  consumers.push({ name: 'local', handle: async (event) => events.deliver(event) })
  const threadViews = new ThreadViews(db, redis, config.redisPrefix, log.child({ module: 'views' }))
  const relay = new OutboxRelay({
    db,
    outbox,
    consumers,
    log: log.child({ module: 'outbox' }),
    listenUrl: deps.listenUrl ?? null,
    pollMs: deps.outboxPollMs,
  })

  const personalData = { contributors: () => personalDataContributors, context: () => ({ services }) }
  const services: Services = {
    config,
    db,
    log,
    redis,
    queue,
    links,
    secret,
    outbox,
    relay,
    events,
    fanout,
    settings,
    sessions,
    accounts: new AccountService(db, sessions, outbox, settings, spam),
    members: new MemberDirectory(db),
    leaving: new LeavingService(db, settings, notifications, personalData.contributors, personalData.context),
    exports: new DataExportService(db, config, settings, notifications, queue, personalData.contributors, personalData.context),
    notifications,
    notificationLevels: new NotificationLevelService(db, discussions, categories),
    categories,
    discussions,
    search: new SearchService(db, categories),
    threadViews,
    mentions: new MentionService(db, categories),
    ideas,
    beta: new BetaService(db, outbox, notifications, ideas, settings),
    email,
    moderation: new ModerationService(db, categories, discussions, settings, notifications, outbox),
    trust: new TrustService(db, settings, notifications),
    spam,
    jobs: new JobAdminService(queue, db),
    activity,
    health: new HealthReport(db),
    referrals: new ReferralService(db),
    segments,
    uploads: new UploadService(db, deps.uploadStorage ?? new LocalFolderStorage(config.uploadsDir), settings),
    community: new CommunityService(db, settings, categories, config),
    polls,
    surveys: new SurveyService(db, outbox, settings, notifications, segments, ideas, secret, queue),
    meetups: new EventService(db, outbox, notifications, categories, discussions, settings),
    start: () => relay.start(),
    async close() {
      await threadViews.close()
      await relay.close()
      await fanout.close()
    },
  }
  return services
}
