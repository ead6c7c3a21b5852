/** The sizes an uploaded avatar is stored at (square; twice the CSS size, for sharp screens). */
export const AVATAR_SIZES = [96, 256] as const

/** The member fields an avatar is drawn from. */
export interface AvatarOwner {
  id: number
  username: string
  avatar_key?: string | null
}

/** Up to two letters for a generated avatar: `ada_lovelace` → `AL`, `bob` → `B`. */
export function initialsOf(username: string): string {
  const parts = username.split(/[-_. ]+/).filter((p) => /[A-Za-z0-9]/.test(p))
  const letters = parts.length > 1 ? parts[0]![0]! + parts[1]![0]! : (parts[0]?.[0] ?? '')
  const clean = letters.toUpperCase().replace(/[^A-Z0-9]/g, '')
  return clean || 'X'
}

/** A member's colour: spread around the hue circle by the golden angle, from the id. */
export function avatarHue(userId: number): number {
  return Math.round((userId * 137.508) % 360)
}

/** Where a member's avatar is: their upload at the nearest stored size, or the generated one. */
export function avatarUrl(owner: AvatarOwner, size: number): string {
  if (owner.avatar_key) {
    const stored = AVATAR_SIZES.find((s) => s >= size * 2) ?? AVATAR_SIZES[AVATAR_SIZES.length - 1]
    return `/uploads/${owner.avatar_key}-${stored}.webp`
  }
  return `/avatars/${owner.id}/${initialsOf(owner.username)}.svg`
}

/**
 * The generated avatar: the initials in white on the member's colour. Only letters and
 * digits reach the text, and it is served as an image (never inline), so it cannot carry
 * anything but a picture.
 */
export function defaultAvatarSvg(userId: number, initials: string): string {
  const letters = initials.replace(/[^A-Z0-9]/g, '').slice(0, 2) || 'X'
  const size = letters.length > 1 ? 26 : 30
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">` +
    `<rect width="64" height="64" fill="hsl(${avatarHue(userId)},45%,40%)"/>` +
    `<text x="32" y="32" dy="0.35em" text-anchor="middle" font-family="system-ui,-apple-system,'Segoe UI',Roboto,sans-serif" font-size="${size}" font-weight="600" fill="#fff">${letters}</text>` +
    `</svg>`
  )
}
