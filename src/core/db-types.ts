import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely'

/** A timestamp column: read as Date, written as Date or ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>
/** A column with a database default that is never written by the app. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>

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
  email_suppressed_at: Timestamp | null
  email_suppressed_reason: string | null
}

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
  details: ColumnType<Record<string, unknown>, string | undefined, string>
  created_at: CreatedAt
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

/** Every table Hearth owns; migrations and this interface change together. */
export interface Database {
  users: UsersTable
  sessions: SessionsTable
  api_tokens: ApiTokensTable
  community_settings: CommunitySettingsTable
  moderation_log: ModerationLogTable
  notifications: NotificationsTable
  email_log: EmailLogTable
}

export type User = Selectable<UsersTable>
export type NewUser = Insertable<UsersTable>
export type UserUpdate = Updateable<UsersTable>
