import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

/** A timestamp column: read as Date, written as Date or ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>
/** A creation time: defaults to now(); written explicitly only by seeding and backdating. */
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>

export type Role = 'member' | 'moderator' | 'admin'
export type DigestFrequency = 'daily' | 'weekly' | 'monthly' | 'never'

export interface UsersTable {
  id: Generated<number>
  username: string
  email: string
  password_hash: string
  display_name: string | null
  bio: ColumnType<string, string | undefined, string>
  role: ColumnType<Role, Role | undefined, Role>
  trust_level: ColumnType<number, number | undefined, number>
  trust_locked: ColumnType<boolean, boolean | undefined, boolean>
  digest_frequency: ColumnType<DigestFrequency, DigestFrequency | undefined, DigestFrequency>
  email_verified_at: Timestamp | null
  suspended_until: Timestamp | null
  silenced_until: Timestamp | null
  created_at: CreatedAt
  last_seen_at: Timestamp | null
  mail_off_kinds: ColumnType<string[], string[] | undefined, string[]>
  like_notifications: ColumnType<boolean, boolean | undefined, boolean>
  email_suppressed_at: Timestamp | null
  email_suppressed_reason: string | null
  tl3_short_since: Timestamp | null
  role_locked: ColumnType<boolean, boolean | undefined, boolean>
  avatar_key: string | null
  approval_status: ColumnType<ApprovalStatus, ApprovalStatus | undefined, ApprovalStatus>
  application_answers: ColumnType<Record<string, string>, string | undefined, string>
  signup_ip: string | null
  invited_by: number | null
  username_changed_at: Timestamp | null
  deletion_requested_at: Timestamp | null
  deletion_due_at: Timestamp | null
  deletion_mode: DeletionMode | null
  deleted_at: Timestamp | null
  /** IANA zone the member reads times in (migration 0170); null: the browser's, else UTC. */
  time_zone: string | null
}

/** How a leaving member's account goes: anonymised (posts stay, credited to a deleted member) or erased with its content. */
export type DeletionMode = 'anonymize' | 'erase'

/** A name a member used before (migration 0126): old links and mentions resolve through it. */
export interface UsernameHistoryTable {
  id: Generated<number>
  user_id: number
  username: string
  held_until: Timestamp
  created_at: CreatedAt
}

export type DataExportStatus = 'pending' | 'ready' | 'failed' | 'expired'

/** A member's data export (migration 0127); the archive is DATA_DIR/exports/<id>.zip. */
export interface DataExportsTable {
  id: string
  user_id: number
  status: ColumnType<DataExportStatus, DataExportStatus | undefined, DataExportStatus>
  size_bytes: number | null
  error: string | null
  created_at: CreatedAt
  ready_at: Timestamp | null
  expires_at: Timestamp | null
}

/** A sign-up's standing when the community approves sign-ups by hand. */
export type ApprovalStatus = 'approved' | 'pending' | 'rejected'

export interface SessionsTable {
  id: string
  secret_hash: Buffer
  user_id: number
  user_agent: string
  ip: string
  created_at: CreatedAt
  expires_at: Timestamp
  last_seen_at: Timestamp
}

export interface ApiTokensTable {
  id: string
  secret_hash: Buffer
  user_id: number
  name: string
  created_at: CreatedAt
  last_used_at: Timestamp | null
}

export interface CommunitySettingsTable {
  key: string
  value: ColumnType<unknown, string, string>
  created_at: CreatedAt
  updated_at: Timestamp
}

export interface ModerationLogTable {
  id: Generated<number>
  actor_id: number | null
  action: string
  target_type: string
  target_id: string
  reason: string
  /** The category the entry happened in (migration 0062); no foreign key, see there. */
  category_id: ColumnType<number | null, number | null | undefined, number | null>
  details: ColumnType<Record<string, unknown>, string | undefined, string>
  created_at: CreatedAt
}

export interface OutboxTable {
  id: Generated<number>
  type: string
  payload: ColumnType<Record<string, unknown>, string, string>
  channels: ColumnType<string[], string[] | undefined, string[]>
  category_id: number | null
  created_at: CreatedAt
  delivered_at: Date | null
  attempts: Generated<number>
  next_attempt_at: Generated<Date>
  done: ColumnType<string[], string[] | undefined, string[]>
  last_error: string | null
}

export interface NotificationsTable {
  id: Generated<number>
  user_id: number
  kind: string
  payload: ColumnType<Record<string, unknown>, string | undefined, string>
  url: ColumnType<string, string | undefined, string>
  actor_id: number | null
  read_at: Timestamp | null
  created_at: CreatedAt
  emailed_at: Timestamp | null
  /** Set on notifications that absorb later ones while unread (likes on a post, replies in a thread). */
  group_key: string | null
  count: ColumnType<number, number | undefined, number>
  updated_at: Timestamp | null
}

export type EmailStatus = 'sent' | 'empty' | 'rejected'

export interface EmailLogTable {
  id: Generated<number>
  user_id: number
  kind: string
  period_key: string
  status: EmailStatus
  message_id: string | null
  created_at: CreatedAt
}

/** A password-reset link: only the digest of its token is stored; `used_at` makes it single-use. */
export interface PasswordResetsTable {
  id: Generated<number>
  user_id: number
  token_hash: string
  created_by: number | null
  created_at: CreatedAt
  expires_at: Date
  used_at: Date | null
}

export type UploadKind = 'image' | 'avatar'

export interface UploadsTable {
  id: Generated<number>
  user_id: number
  kind: UploadKind
  hash: string
  keys: string[]
  content_type: string
  byte_size: number
  original_bytes: number
  width: number
  height: number
  original_name: ColumnType<string, string | undefined, string>
  created_at: CreatedAt
}

export type CategoryVisibility = 'public' | 'members' | 'trust'

export interface CategoriesTable {
  id: Generated<number>
  name: string
  slug: string
  description: ColumnType<string, string | undefined, string>
  parent_id: number | null
  visibility: ColumnType<CategoryVisibility, CategoryVisibility | undefined, CategoryVisibility>
  min_trust_level: ColumnType<number, number | undefined, number>
  who_can_start: ColumnType<'members' | 'staff', 'members' | 'staff' | undefined, 'members' | 'staff'>
  min_trust_to_start: ColumnType<number, number | undefined, number>
  position: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
  /** `#rrggbb`, or null for the default colour. */
  color: string | null
}

/** A slug a category had before (renamed, or merged into it when another was deleted). */
export interface CategorySlugRedirectsTable {
  slug: string
  category_id: number
  created_at: CreatedAt
}

/** When each scheduled job last ran in-process (no Redis). */
export interface ScheduledJobRunsTable {
  name: string
  started_at: ColumnType<Date, Date | string | undefined, Date | string>
  finished_at: Timestamp | null
  error: string | null
}

export interface CategoryModeratorsTable {
  category_id: number
  user_id: number
  source: ColumnType<'appointed' | 'promoted', 'appointed' | 'promoted' | undefined, 'appointed' | 'promoted'>
  created_at: CreatedAt
  short_since: Timestamp | null
}

export interface ThreadsTable {
  id: Generated<number>
  category_id: number
  author_id: number
  title: string
  slug: string
  pinned: ColumnType<boolean, boolean | undefined, boolean>
  locked: ColumnType<boolean, boolean | undefined, boolean>
  reply_count: ColumnType<number, number | undefined, number>
  last_post_at: ColumnType<Date, Date | string | undefined, Date | string>
  last_poster_id: number | null
  deleted_at: Timestamp | null
  created_at: CreatedAt
  search: ColumnType<string, never, never>
  /** The number the thread's newest post has (#1 is the opening post). */
  last_post_number: ColumnType<number, number | undefined, number>
  /** Views counted so far (added in batches, see ThreadViews). */
  view_count: ColumnType<number, number | undefined, number>
}

export interface PostsTable {
  id: ColumnType<number, number | undefined, never>
  thread_id: number
  parent_id: number | null
  branch_id: number
  author_id: number
  body_md: string
  body_html: string
  depth: number
  path: string
  like_count: ColumnType<number, number | undefined, number>
  reply_count: ColumnType<number, number | undefined, number>
  revision_count: ColumnType<number, number | undefined, number>
  edited_at: Timestamp | null
  hidden_at: Timestamp | null
  hidden_reason: string | null
  review_requested_at: Timestamp | null
  deleted_at: Timestamp | null
  deleted_by: number | null
  created_at: CreatedAt
  search: ColumnType<string, never, never>
  /** The post's place in its thread, #1 the opening post; a trigger assigns it when an insert does not. */
  post_number: ColumnType<number, number | undefined, never>
  /** The post holds at least one poll (features/polls): the thread page asks for polls only then. */
  has_poll: ColumnType<boolean, boolean | undefined, boolean>
}

/** Who takes part in a thread and with how many visible posts (kept by triggers on posts). */
export interface ThreadParticipantsTable {
  thread_id: number
  user_id: number
  post_count: ColumnType<number, number | undefined, number>
  last_posted_at: ColumnType<Date, Date | string | undefined, Date | string>
  created_at: CreatedAt
}

export interface PostLikesTable {
  post_id: number
  user_id: number
  created_at: CreatedAt
  /** The notification that counted this like (an unlike takes it back out of that one). */
  notification_id: number | null
}

export interface PostRevisionsTable {
  id: Generated<number>
  post_id: number
  number: number
  body_md: string
  editor_id: number | null
  created_at: CreatedAt
  /** The thread's title before this edit, on an opening post's revisions (migration 0111); null before then. */
  title: string | null
  /** Why the editor changed it, as they said (migration 0111). */
  reason: ColumnType<string, string | undefined, string>
}

export interface UserDailyStatsTable {
  user_id: number
  day: ColumnType<Date, string, string>
  posts_read: ColumnType<number, number | undefined, number>
  topics_entered: ColumnType<number, number | undefined, number>
  reading_seconds: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
}

export interface ThreadReadsTable {
  user_id: number
  thread_id: number
  last_read_post_id: number
  /** The read marker as a post number (how many of the thread's posts came before it, plus one). */
  last_read_post_number: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
  updated_at: Timestamp
}

export type IdeaStatus = 'open' | 'under_review' | 'planned' | 'in_progress' | 'done' | 'declined'

export interface IdeasTable {
  id: Generated<number>
  author_id: number | null
  title: string
  body_md: string
  body_html: string
  excerpt: string
  tags: ColumnType<string[], string[] | undefined, string[]>
  status: ColumnType<IdeaStatus, IdeaStatus | undefined, IdeaStatus>
  vote_count: ColumnType<number, number | undefined, number>
  trending_score: ColumnType<number, number | undefined, number>
  merged_into_id: number | null
  merged_at: Timestamp | null
  thread_id: number | null
  release_note_md: string | null
  release_note_html: string | null
  done_at: Timestamp | null
  status_changed_at: Timestamp | null
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
  search: ColumnType<string, never, never>
  revision_count: ColumnType<number, number | undefined, number>
  edited_at: Timestamp | null
  /** The survey whose free-text answer this idea was made from (features/surveys). */
  survey_id: ColumnType<number | null, number | null | undefined, number | null>
}

export interface IdeaRevisionsTable {
  id: Generated<number>
  idea_id: number
  number: number
  title: string
  body_md: string
  tags: ColumnType<string[], string[] | undefined, string[]>
  editor_id: number | null
  created_at: CreatedAt
}

export interface IdeaVotesTable {
  idea_id: number
  user_id: number
  created_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface IdeaStatusChangesTable {
  id: Generated<number>
  idea_id: number
  actor_id: number | null
  from_status: IdeaStatus
  to_status: IdeaStatus
  note_md: string
  note_html: string
  created_at: CreatedAt
}

/** How much a member hears about a thread or category (Discourse's levels). */
export type NotificationLevel = 'muted' | 'normal' | 'tracking' | 'watching'

export interface ThreadNotificationLevelsTable {
  user_id: number
  thread_id: number
  level: NotificationLevel
  reason: ColumnType<'manual' | 'created' | 'replied' | 'idea', 'manual' | 'created' | 'replied' | 'idea' | undefined, 'manual' | 'created' | 'replied' | 'idea'>
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface CategoryNotificationLevelsTable {
  user_id: number
  category_id: number
  level: NotificationLevel
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface UserMutesTable {
  user_id: number
  muted_user_id: number
  created_at: CreatedAt
}

export interface NotificationFanoutsTable {
  event_id: number
  recipients: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
}

export type BetaReviewMode = 'auto' | 'manual'
export type BetaSignupStatus = 'accepted' | 'pending' | 'waitlisted' | 'declined' | 'withdrawn'

export interface BetaProgramsTable {
  id: Generated<number>
  title: string
  description_md: string
  description_html: string
  idea_id: number | null
  opens_at: Timestamp
  closes_at: Timestamp | null
  capacity: number
  min_trust_level: ColumnType<number, number | undefined, number>
  members_only: ColumnType<boolean, boolean | undefined, boolean>
  questions: ColumnType<unknown, string | undefined, string>
  review_mode: ColumnType<BetaReviewMode, BetaReviewMode | undefined, BetaReviewMode>
  seats_taken: ColumnType<number, number | undefined, number>
  waitlist_length: ColumnType<number, number | undefined, number>
  created_by: number | null
  created_at: CreatedAt
  closed_at: Timestamp | null
}

export interface BetaSignupsTable {
  id: Generated<number>
  program_id: number
  user_id: number
  status: BetaSignupStatus
  waitlist_position: number | null
  answers: ColumnType<Record<string, unknown>, string | undefined, string>
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export type FlagReason = 'spam' | 'inappropriate' | 'off_topic' | 'other'
export type FlagStatus = 'pending' | 'agreed' | 'disagreed' | 'deferred'

export interface FlagsTable {
  id: Generated<number>
  post_id: number
  flagger_id: number
  reason: FlagReason
  note: ColumnType<string, string | undefined, string>
  score: number
  status: ColumnType<FlagStatus, FlagStatus | undefined, FlagStatus>
  resolved_by: number | null
  resolved_at: Timestamp | null
  created_at: CreatedAt
}

export type ModeratorOfferStatus = 'invited' | 'accepted' | 'declined' | 'blocked'

export interface ModeratorOffersTable {
  category_id: number
  user_id: number
  status: ModeratorOfferStatus
  created_at: CreatedAt
  decided_at: Timestamp | null
}

/** Every table Hearth owns; migrations and this interface change together. */
export type StageName = 'newcomer' | 'explorer' | 'participant' | 'contributor' | 'champion' | 'inactive'

export interface ActivityLogTable {
  id: Generated<number>
  user_id: number
  kind: string
  subject_id: ColumnType<number, number | undefined, number>
  other_user_id: number | null
  category_id: number | null
  at: Timestamp
}

export interface MemberDaysTable {
  day: ColumnType<Date, string, string>
  user_id: number
}

export interface MemberMonthsTable {
  user_id: number
  month: ColumnType<Date, string, string>
}

export interface HealthDailyTable {
  day: ColumnType<Date, string, string>
  dau: number
  wau: number
  mau: number
  new_members: number
  posts: number
  computed_at: CreatedAt
}

export interface HealthThreadsTable {
  thread_id: number
  created_at: Timestamp
  minutes: number | null
  by_staff: boolean | null
}

export interface HealthMembersTable {
  user_id: number
  joined_at: Timestamp
  took_part_at: Timestamp | null
  referred: ColumnType<boolean, boolean | undefined, boolean>
  settled: ColumnType<boolean, boolean | undefined, boolean>
}

export interface CohortActivityTable {
  join_day: ColumnType<Date, string, string>
  month: ColumnType<Date, string, string>
  members: number
}

export interface HealthHelpersTable {
  days: number
  until: ColumnType<Date, string, string>
  rank: number
  user_id: number
  helped: number
  replies: number
}

export interface HelperMonthsTable {
  month: ColumnType<Date, string, string>
  user_id: number
  helped: number
}

export interface MemberStagesTable {
  user_id: number
  stage: StageName
  drifting: ColumnType<boolean, boolean | undefined, boolean>
  score: ColumnType<number, number | undefined, number>
  recent_score: ColumnType<number, number | undefined, number>
  helped: ColumnType<number, number | undefined, number>
  since: ColumnType<Date, string, string>
  computed_at: CreatedAt
}

export interface MemberStageChangesTable {
  id: Generated<number>
  user_id: number
  from_stage: StageName | null
  to_stage: StageName
  day: ColumnType<Date, string, string>
}

export interface ReferralLinksTable {
  id: Generated<number>
  code: string
  owner_id: number | null
  name: string | null
  created_by: number | null
  visits: ColumnType<number, number | undefined, number>
  created_at: CreatedAt
  disabled_at: Date | null
}

export interface ReferralsTable {
  user_id: number
  link_id: number
  referrer_id: number | null
  created_at: CreatedAt
}

export interface SegmentsTable {
  id: Generated<number>
  name: string
  filter: ColumnType<Record<string, unknown>, string, string>
  created_by: number | null
  created_at: CreatedAt
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  api_tokens: ApiTokensTable
  community_settings: CommunitySettingsTable
  moderation_log: ModerationLogTable
  notifications: NotificationsTable
  categories: CategoriesTable
  category_moderators: CategoryModeratorsTable
  threads: ThreadsTable
  posts: PostsTable
  post_likes: PostLikesTable
  post_revisions: PostRevisionsTable
  user_daily_stats: UserDailyStatsTable
  thread_reads: ThreadReadsTable
  thread_participants: ThreadParticipantsTable
  ideas: IdeasTable
  idea_votes: IdeaVotesTable
  idea_revisions: IdeaRevisionsTable
  idea_status_changes: IdeaStatusChangesTable
  thread_notification_levels: ThreadNotificationLevelsTable
  category_notification_levels: CategoryNotificationLevelsTable
  user_mutes: UserMutesTable
  notification_fanouts: NotificationFanoutsTable
  beta_programs: BetaProgramsTable
  beta_signups: BetaSignupsTable
  email_log: EmailLogTable
  flags: FlagsTable
  moderator_offers: ModeratorOffersTable
  outbox: OutboxTable
  password_resets: PasswordResetsTable
  username_history: UsernameHistoryTable
  data_exports: DataExportsTable
  activity_log: ActivityLogTable
  member_days: MemberDaysTable
  member_months: MemberMonthsTable
  health_daily: HealthDailyTable
  health_threads: HealthThreadsTable
  health_members: HealthMembersTable
  cohort_activity: CohortActivityTable
  helper_months: HelperMonthsTable
  health_helpers: HealthHelpersTable
  member_stages: MemberStagesTable
  member_stage_changes: MemberStageChangesTable
  referral_links: ReferralLinksTable
  referrals: ReferralsTable
  segments: SegmentsTable
  uploads: UploadsTable
  category_slug_redirects: CategorySlugRedirectsTable
  scheduled_job_runs: ScheduledJobRunsTable
  held_posts: HeldPostsTable
  post_fingerprints: PostFingerprintsTable
  post_fingerprint_bands: PostFingerprintBandsTable
  link_domains: LinkDomainsTable
  watched_words: WatchedWordsTable
  blocked_identities: BlockedIdentitiesTable
  invites: InvitesTable
  polls: PollsTable
  poll_options: PollOptionsTable
  poll_ballots: PollBallotsTable
  poll_votes: PollVotesTable
  surveys: SurveysTable
  survey_invitations: SurveyInvitationsTable
  survey_responders: SurveyRespondersTable
  survey_responses: SurveyResponsesTable
  survey_followups: SurveyFollowupsTable
  events: EventsTable
  event_hosts: EventHostsTable
  event_occurrences: EventOccurrencesTable
  event_rsvps: EventRsvpsTable
  event_deliveries: EventDeliveriesTable
  event_calendar_keys: EventCalendarKeysTable
}

export type PollKind = 'single' | 'multiple' | 'ranked' | 'number'
export type PollResults = 'always' | 'voted' | 'closed' | 'staff'

export interface PollsTable {
  id: Generated<number>
  post_id: number
  thread_id: number
  position: number
  title: ColumnType<string, string | undefined, string>
  kind: PollKind
  min_choices: ColumnType<number, number | undefined, number>
  max_choices: ColumnType<number, number | undefined, number>
  results: ColumnType<PollResults, PollResults | undefined, PollResults>
  public: ColumnType<boolean, boolean | undefined, boolean>
  closes_at: Timestamp | null
  closed_at: Timestamp | null
  min_trust_level: ColumnType<number, number | undefined, number>
  idea_id: number | null
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface PollOptionsTable {
  id: Generated<number>
  poll_id: number
  position: number
  label: string
  created_at: CreatedAt
}

export interface PollBallotsTable {
  poll_id: number
  user_id: number
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface PollVotesTable {
  poll_id: number
  user_id: number
  option_id: number
  rank: number | null
  created_at: CreatedAt
}

export type HeldPostStatus = 'pending' | 'approved' | 'rejected' | 'flagged' | 'dismissed'

export interface HeldPostsTable {
  id: Generated<number>
  author_id: number
  category_id: number
  thread_id: number | null
  parent_id: number | null
  title: string | null
  body_md: string
  reasons: ColumnType<string[], string[] | undefined, string[]>
  score: ColumnType<number, number | undefined, number>
  status: ColumnType<HeldPostStatus, HeldPostStatus | undefined, HeldPostStatus>
  post_id: number | null
  decided_by: number | null
  decided_at: Timestamp | null
  decision_reason: ColumnType<string, string | undefined, string>
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export interface PostFingerprintsTable {
  id: Generated<number>
  post_id: number | null
  author_id: number | null
  /** A 64-bit simhash, as PostgreSQL bigint (read back as a string). */
  simhash: ColumnType<string, string | bigint, string | bigint>
  known_spam: ColumnType<boolean, boolean | undefined, boolean>
  created_at: CreatedAt
}

/** The bands of every fingerprint, for near-duplicate lookups (migrations 0190, 0192); kept by triggers, never written by code. */
export interface PostFingerprintBandsTable {
  /** Known spam, band and the band's value (`simhash_band_key`). */
  key: number
  fingerprint_id: number
  /** The fingerprint's simhash and author, copied (migration 0192): a probe reads only this index. */
  simhash: ColumnType<string, string | bigint, string | bigint>
  author_id: number | null
}

export interface LinkDomainsTable {
  domain: string
  posts: ColumnType<number, number | undefined, number>
  first_seen_at: ColumnType<Date, Date | string | undefined, Date | string>
  created_at: CreatedAt
}

export type WatchedWordAction = 'block' | 'hold' | 'flag' | 'replace'

export interface WatchedWordsTable {
  id: Generated<number>
  pattern: string
  is_regex: ColumnType<boolean, boolean | undefined, boolean>
  action: WatchedWordAction
  replacement: ColumnType<string, string | undefined, string>
  created_by: number | null
  created_at: CreatedAt
}

export interface BlockedIdentitiesTable {
  id: Generated<number>
  kind: 'email' | 'ip'
  value: string
  reason: ColumnType<string, string | undefined, string>
  created_by: number | null
  created_at: CreatedAt
}

export interface InvitesTable {
  id: Generated<number>
  code: string
  created_by: number
  max_uses: ColumnType<number, number | undefined, number>
  uses: ColumnType<number, number | undefined, number>
  expires_at: Timestamp
  created_at: CreatedAt
}

export type User = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>

export interface SurveysTable {
  id: Generated<number>
  series_id: number | null
  wave: ColumnType<number, number | undefined, number>
  title: string
  intro_md: ColumnType<string, string | undefined, string>
  intro_html: ColumnType<string, string | undefined, string>
  questions: ColumnType<unknown, string, string>
  anonymous: ColumnType<boolean, boolean | undefined, boolean>
  target: ColumnType<unknown, string, string>
  opens_at: Timestamp
  closes_at: Timestamp
  created_by: number | null
  invited_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  created_at: CreatedAt
}

export interface SurveyInvitationsTable {
  survey_id: number
  user_id: number
  created_at: CreatedAt
}

/** Who has answered a survey, as a keyed hash of (survey, member): no member id. */
export interface SurveyRespondersTable {
  survey_id: number
  responder_key: string
  answered_on: ColumnType<Date, Date | string | undefined, Date | string>
  created_at: CreatedAt
}

export interface SurveyResponsesTable {
  id: ColumnType<string, string | undefined, never>
  survey_id: number
  user_id: number | null
  anonymous: boolean
  trust_level: number
  stage: string | null
  answers: ColumnType<Record<string, unknown>, string, string>
  answered_on: ColumnType<Date, Date | string | undefined, Date | string>
  created_at: CreatedAt
}

export type FollowupStatus = 'open' | 'contacted' | 'resolved'

export interface SurveyFollowupsTable {
  id: Generated<number>
  survey_id: number
  response_id: string
  user_id: number | null
  score: number
  status: ColumnType<FollowupStatus, FollowupStatus | undefined, FollowupStatus>
  note: ColumnType<string, string | undefined, string>
  updated_by: number | null
  idea_id: number | null
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

export type EventRecurrence = 'none' | 'weekly' | 'monthly'
export type RsvpStatus = 'going' | 'waitlisted' | 'interested' | 'not_going'

/** An event (migration 0170): its first occurrence's wall-clock start in its zone, and how it repeats. */
export interface EventsTable {
  id: Generated<number>
  category_id: number
  thread_id: number | null
  title: string
  description_md: ColumnType<string, string | undefined, string>
  description_html: ColumnType<string, string | undefined, string>
  time_zone: string
  /** Wall clock in `time_zone`, as 'yyyy-MM-dd HH:mm:ss' (a timestamp without zone). */
  local_start: string
  duration_minutes: number
  recurrence: ColumnType<EventRecurrence, EventRecurrence | undefined, EventRecurrence>
  repeat_until: ColumnType<Date, Date | string, Date | string> | null
  address: string | null
  online_url: string | null
  capacity: number | null
  max_guests: ColumnType<number, number | undefined, number>
  rsvp_close_minutes: number | null
  reminder_minutes: ColumnType<number[], number[] | undefined, number[]>
  questions: ColumnType<unknown, string | undefined, string>
  created_by: number | null
  cancelled_at: Timestamp | null
  created_at: CreatedAt
}

export interface EventHostsTable {
  event_id: number
  user_id: number
  created_at: CreatedAt
}

/** One date of an event that people RSVP to; seats are counted here. */
export interface EventOccurrencesTable {
  id: Generated<number>
  event_id: number
  seq: number
  starts_at: Timestamp
  ends_at: Timestamp
  rsvp_closes_at: Timestamp | null
  capacity: number | null
  seats_taken: ColumnType<number, number | undefined, number>
  waitlist_length: ColumnType<number, number | undefined, number>
  cancelled_at: Timestamp | null
  created_at: CreatedAt
}

export interface EventRsvpsTable {
  id: Generated<number>
  occurrence_id: number
  user_id: number
  status: RsvpStatus
  guests: ColumnType<number, number | undefined, number>
  waitlist_position: number | null
  answers: ColumnType<Record<string, unknown>, string | undefined, string>
  checked_in_at: Timestamp | null
  checked_in_by: number | null
  rating: number | null
  rated_at: Timestamp | null
  created_at: CreatedAt
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>
}

/** What made a reminder or recap go out exactly once per (occurrence, member, kind). */
export interface EventDeliveriesTable {
  occurrence_id: number
  user_id: number
  kind: string
  notification_id: number | null
  created_at: CreatedAt
}

/** The digest of a member's private calendar feed secret. */
export interface EventCalendarKeysTable {
  user_id: number
  secret_hash: string
  created_at: CreatedAt
}
