import cliProgress from 'cli-progress'
import { sql } from 'kysely'
import { hashPassword } from './core/auth/passwords.js'
import type { Db } from './core/db.js'

export interface SeedOptions {
  users: number
  threads: number
  posts: number
  /** Print a progress bar (off in tests and benchmarks). */
  progress?: boolean
}

const BATCH = 1_000
export const SEED_PASSWORD = 'hearth-demo-password'

const FIRST = ['ada', 'bo', 'cy', 'dee', 'eli', 'fay', 'gus', 'hal', 'ivy', 'jo', 'kit', 'lu', 'max', 'nia', 'oz', 'pia']
const LAST = ['baker', 'cole', 'diaz', 'egan', 'frost', 'gray', 'hale', 'ito', 'jones', 'khan', 'lopez', 'moss']

/**
 * Fills the database with realistic demo members (and, once the discussion tables exist,
 * threads and posts) using multi-row inserts, fast enough for benchmark data sets.
 * Every seeded member's password is SEED_PASSWORD.
 */
export async function seed(db: Db, options: SeedOptions): Promise<{ users: number }> {
  const showProgress = options.progress ?? process.stdout.isTTY
  const bar = new cliProgress.SingleBar(
    { format: ' {task} [{bar}] {value}/{total} {eta_formatted}', hideCursor: true },
    cliProgress.Presets.shades_classic,
  )
  const passwordHash = await hashPassword(SEED_PASSWORD)
  const offset = Number(
    (await db.selectFrom('users').select((eb) => eb.fn.max<number>('id').as('max')).executeTakeFirst())?.max ?? 0,
  )
  if (showProgress) bar.start(options.users, 0, { task: 'members' })
  for (let start = 0; start < options.users; start += BATCH) {
    const rows = []
    for (let i = start; i < Math.min(options.users, start + BATCH); i++) {
      const n = offset + i + 1
      const name = `${FIRST[n % FIRST.length]}_${LAST[(n >> 4) % LAST.length]}${n}`
      rows.push({
        username: name,
        email: `${name}@example.test`,
        password_hash: passwordHash,
        display_name: `${cap(FIRST[n % FIRST.length]!)} ${cap(LAST[(n >> 4) % LAST.length]!)}`,
        bio: '',
        trust_level: n % 10 === 0 ? 3 : n % 3 === 0 ? 2 : n % 2,
        email_verified_at: sql<Date>`now()` as unknown as Date,
        last_seen_at: new Date(Date.now() - (n % 90) * 86_400_000),
      })
    }
    await db.insertInto('users').values(rows).execute()
    if (showProgress) bar.update(Math.min(options.users, start + BATCH))
  }
  if (showProgress) bar.stop()
  return { users: options.users }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}
