import { z } from 'zod'
import type { NotificationLevel } from '../../core/db-types.js'

/** The levels, quietest first, with what each means to a member (shown beside the select). */
export const NOTIFICATION_LEVELS: { value: NotificationLevel; label: string; hint: string }[] = [
  { value: 'watching', label: 'Watching', hint: 'Notified of every new post; unread counts shown in the lists.' },
  { value: 'tracking', label: 'Tracking', hint: 'Unread counts shown in the lists; notified when someone replies to you or mentions you.' },
  { value: 'normal', label: 'Normal', hint: 'Notified when someone replies to you or mentions you.' },
  { value: 'muted', label: 'Muted', hint: 'Never notified; left out of Latest, New, Top and Unread.' },
]

const LEVEL_VALUES = ['muted', 'normal', 'tracking', 'watching'] as const

/** A level chosen in a form or sent to the API. */
export const LevelInput = z.object({
  level: z.enum(LEVEL_VALUES, { error: 'Choose watching, tracking, normal or muted' }),
})

/** A member to mute, by username. */
export const MuteInput = z.object({
  username: z.string({ error: 'Enter a username' }).trim().min(1, 'Enter a username').max(40, 'No member has a name that long'),
})

/** Whether likes on one's posts notify at all (a form checkbox is present when on; the API sends a boolean). */
export const LikeSettingInput = z.object({
  likes: z.union([z.boolean(), z.literal('on'), z.literal('off')]).optional().transform((v) => v === true || v === 'on'),
})
