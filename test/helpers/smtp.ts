import { SMTPServer, type SMTPServerOptions } from 'smtp-server'
import type { Teardown } from './app.js'

/** One message as the SMTP server received it, with its parts decoded. */
export interface CapturedMail {
  from: string
  to: string[]
  raw: string
  headers: Record<string, string>
  subject: string
  text: string
  html: string
}

export interface SmtpOptions {
  /** Keep and parse messages (off for a benchmark sink that only counts). */
  capture?: boolean
  /** Wait this long before accepting each message, to keep a batch in flight. */
  acceptDelayMs?: number
}

/** A real SMTP server on a free loopback port that captures mail and can be told to refuse. */
export interface SmtpSink {
  port: number
  url: string
  messages: CapturedMail[]
  /** Messages accepted so far (also counted when not capturing). */
  accepted: number
  /** Mail to this address gets 550 at RCPT from now on (a permanent failure). */
  rejectPermanently(address: string): void
  /** Every RCPT gets 451 (a temporary failure) until `recover()`. */
  failTemporarily(): void
  recover(): void
  to(address: string): CapturedMail[]
  waitFor(predicate: (messages: CapturedMail[]) => boolean, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

function decodeWords(value: string): string {
  return value.replace(/=\?([^?]+)\?([QB])\?([^?]*)\?=\s*/gi, (_m, _charset, enc: string, text: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : decodeQuotedPrintable(text.replace(/_/g, ' ')),
  )
}

function decodeQuotedPrintable(body: string): string {
  const soft = body.replace(/=\r?\n/g, '')
  const bytes: number[] = []
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i]!
    if (c === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(soft.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      bytes.push(...Buffer.from(c, 'utf8'))
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

function splitHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  return headers
}

function splitMessage(raw: string): { headers: Record<string, string>; body: string } {
  const at = raw.search(/\r?\n\r?\n/)
  const headerBlock = at < 0 ? raw : raw.slice(0, at)
  const body = at < 0 ? '' : raw.slice(at).replace(/^\r?\n\r?\n/, '')
  return { headers: splitHeaders(headerBlock), body }
}

function decodeBody(headers: Record<string, string>, body: string): string {
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase()
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body)
  return body
}

/** Parses a MIME message far enough for tests: headers, and the text and HTML parts. */
export function parseMail(raw: string, from = '', to: string[] = []): CapturedMail {
  const { headers, body } = splitMessage(raw)
  let text = ''
  let html = ''
  const collect = (h: Record<string, string>, b: string) => {
    const type = h['content-type'] ?? 'text/plain'
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1]
    if (/^multipart\//i.test(type) && boundary) {
      for (const part of b.split(`--${boundary}`).slice(1)) {
        if (part.startsWith('--')) break
        const p = splitMessage(part.replace(/^\r?\n/, ''))
        collect(p.headers, p.body.replace(/\r?\n$/, ''))
      }
    } else if (/^text\/html/i.test(type)) html += decodeBody(h, b)
    else if (/^text\/plain/i.test(type)) text += decodeBody(h, b)
  }
  collect(headers, body)
  return { from, to, raw, headers, subject: decodeWords(headers.subject ?? ''), text, html }
}

/** Starts a capturing SMTP server; closed on teardown. */
export async function startSmtp(t: Teardown, options: SmtpOptions = {}): Promise<SmtpSink> {
  const capture = options.capture ?? true
  const rejected = new Set<string>()
  let failing = false
  const messages: CapturedMail[] = []
  const waiters = new Set<() => void>()
  let accepted = 0
  const serverOptions: SMTPServerOptions = {
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      if (failing) return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }))
      if (rejected.has(address.address.toLowerCase())) {
        return callback(Object.assign(new Error('No such mailbox here'), { responseCode: 550 }))
      }
      callback()
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => {
        if (capture) chunks.push(c)
      })
      stream.on('end', () => {
        const finish = () => {
          accepted += 1
          if (capture) {
            messages.push(
              parseMail(
                Buffer.concat(chunks).toString('utf8'),
                session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              ),
            )
          }
          for (const w of waiters) w()
          callback()
        }
        if (options.acceptDelayMs) setTimeout(finish, options.acceptDelayMs)
        else finish()
      })
    },
  }
  const server = new SMTPServer(serverOptions)
  server.on('error', () => {})
  const port = await new Promise<number>((resolve, reject) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.server.address()
      if (address && typeof address !== 'string') resolve(address.port)
      else reject(new Error('no address'))
    })
  })
  const sink: SmtpSink = {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    get accepted() {
      return accepted
    },
    rejectPermanently: (address) => void rejected.add(address.toLowerCase()),
    failTemporarily: () => void (failing = true),
    recover: () => void (failing = false),
    to: (address) => messages.filter((m) => m.to.includes(address.toLowerCase())),
    waitFor(predicate, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(messages)) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out waiting for mail; have ${messages.length}: ${messages.map((m) => `${m.to} "${m.subject}"`).join(', ')}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
  t.teardown(() => sink.close())
  return sink
}
