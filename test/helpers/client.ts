import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

/**
 * A browser-like client over app.inject: keeps cookies, and fills in a form's CSRF
 * token from the page the form lives on, as a person submitting it would.
 */
export class Client {
  readonly cookies = new Map<string, string>()

  constructor(readonly app: FastifyInstance) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  private remember(res: LightMyRequestResponse): LightMyRequestResponse {
    for (const c of res.cookies) {
      const expired = c.expires !== undefined && new Date(c.expires).getTime() <= Date.now()
      if (expired || c.value === '') this.cookies.delete(c.name)
      else this.cookies.set(c.name, c.value)
    }
    return res
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return this.remember(await this.app.inject({ method: 'GET', url, headers: { cookie: this.cookieHeader, ...headers } }))
  }

  /** The CSRF token in the first form of a page. */
  async csrfFrom(pageUrl: string): Promise<string> {
    const page = await this.get(pageUrl)
    const match = /name="_csrf" value="([^"]+)"/.exec(page.body)
    if (!match) throw new Error(`no CSRF token on ${pageUrl} (status ${page.statusCode})`)
    return match[1]!
  }

  /** Submits a form the way a browser does; `from` is the page holding the form. */
  async submit(url: string, fields: Record<string, string>, from = url): Promise<LightMyRequestResponse> {
    const page = await this.get(from)
    const match = /name="_csrf" value="([^"]+)"/.exec(page.body)
    if (!match) throw new Error(`no CSRF token on ${from} (status ${page.statusCode})`)
    // Hidden fields a browser sends along (the sign-up form's timing token).
    const started = /name="started" value="([^"]*)"/.exec(page.body)?.[1]
    return this.postForm(url, { _csrf: match[1]!, ...(started !== undefined ? { started } : {}), ...fields })
  }

  /** Posts url-encoded fields exactly as given (no CSRF token added). */
  async postForm(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
    return this.remember(
      await this.app.inject({
        method: 'POST',
        url,
        headers: { cookie: this.cookieHeader, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(fields).toString(),
      }),
    )
  }

  /**
   * Posts a multipart form (a form with a file field, or the upload API) with this client's
   * cookies; `fields` go first, then the file, as a browser sends them.
   */
  async postMultipart(url: string, fields: Record<string, string>, file?: MultipartFile, headers: Record<string, string> = {}) {
    const { body, contentType } = multipartBody(fields, file)
    const res = this.remember(
      await this.app.inject({ method: 'POST', url, headers: { cookie: this.cookieHeader, 'content-type': contentType, ...headers }, payload: body }),
    )
    return Object.assign(res, { data: safeJson(res.body) })
  }

  /** A JSON API call with this client's cookies. */
  async api(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = this.remember(
      await this.app.inject({
        method,
        url,
        headers: {
          cookie: this.cookieHeader,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        payload: body === undefined ? undefined : JSON.stringify(body),
      }),
    )
    return Object.assign(res, { data: safeJson(res.body) })
  }
}

/** A file part of a multipart body. */
export interface MultipartFile {
  field: string
  filename: string
  data: Buffer
  type?: string
}

/** A multipart/form-data body, as a browser builds one. */
export function multipartBody(fields: Record<string, string>, file?: MultipartFile): { body: Buffer; contentType: string } {
  const boundary = `----hearth${Math.random().toString(16).slice(2)}`
  const parts: Buffer[] = []
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`))
  }
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\nContent-Type: ${file.type ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      file.data,
      Buffer.from('\r\n'),
    )
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` }
}

function safeJson(body: string): any {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

/** A page's HTML with the character references page templates write (♥ as &#9829;, see core/views.ts latin1Source) read back as characters. */
export function decoded(html: string): string {
  return html.replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
}
