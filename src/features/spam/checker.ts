/**
 * An external spam checker, behind an interface so none is needed: off by default. The one
 * provided speaks Akismet's comment-check protocol (Akismet itself, or a compatible service
 * such as a self-hosted one), configured with AKISMET_KEY and AKISMET_URL; it is asked only
 * about posts from members below trust level 2, and a checker that fails or is slow counts
 * as "no opinion", never as spam.
 */
export interface SpamChecker {
  /** true: spam; false: not spam; null: no opinion (not asked, failed, timed out). */
  check(input: CheckInput): Promise<boolean | null>
}

export interface CheckInput {
  ip: string | null
  userAgent: string | null
  author: string
  email: string
  content: string
  permalink: string
}

export type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{ ok: boolean; text(): Promise<string> }>

/** Akismet's comment-check (https://akismet.com/developers/comment-check/). `fetch` is injectable for tests. */
export class AkismetChecker implements SpamChecker {
  constructor(
    private readonly options: { key: string; url: string; blog: string; timeoutMs?: number },
    private readonly fetchFn: Fetch = fetch as unknown as Fetch,
  ) {}

  async check(input: CheckInput): Promise<boolean | null> {
    const body = new URLSearchParams({
      api_key: this.options.key,
      blog: this.options.blog,
      user_ip: input.ip ?? '',
      user_agent: input.userAgent ?? '',
      comment_type: 'forum-post',
      comment_author: input.author,
      comment_author_email: input.email,
      comment_content: input.content.slice(0, 20_000),
      permalink: input.permalink,
    })
    try {
      const res = await this.fetchFn(`${this.options.url.replace(/\/$/, '')}/1.1/comment-check`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 2_000),
      })
      if (!res.ok) return null
      const text = (await res.text()).trim()
      return text === 'true' ? true : text === 'false' ? false : null
    } catch {
      return null
    }
  }
}
