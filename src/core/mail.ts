import fs from 'node:fs'
import type { Socket } from 'node:net'
import path from 'node:path'
import { Readable } from 'node:stream'
import type Handlebars from 'handlebars'
import MailComposer from 'nodemailer/lib/mail-composer'
import SMTPConnection from 'nodemailer/lib/smtp-connection'
import type { Config } from '../config.js'
import { paths } from './paths.js'
import { createHandlebars } from './views.js'

/** One mail to one member, rendered from `views/email/<template>.html.hbs` and `.text.hbs`. */
export interface MailMessage {
  to: string
  subject: string
  template: string
  data: Record<string, unknown>
  /** Every mail carries one: shown in the footer and as RFC 8058 one-click headers. */
  unsubscribeUrl: string
  /** Stable per logical mail, the same on every attempt. */
  messageId?: string
}

export interface RenderedMail {
  html: string
  text: string
}

/** The mail server refused the address for good (5xx on RCPT): do not retry, suppress it. */
export class PermanentMailFailure extends Error {
  constructor(
    message: string,
    readonly responseCode: number,
  ) {
    super(message)
    this.name = 'PermanentMailFailure'
  }
}

type Template = (data: Record<string, unknown>) => string

/** How to reach the relay, from SMTP_URL (`smtp://user:pass@host:port`, `smtps://` for TLS). */
function connectionOptions(smtpUrl: string): { options: SMTPConnection.Options; auth: SMTPConnection.Credentials | null } {
  const url = new URL(smtpUrl)
  const secure = url.protocol === 'smtps:'
  return {
    options: {
      host: url.hostname,
      port: url.port ? Number(url.port) : secure ? 465 : 587,
      secure,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    },
    auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : null,
  }
}

/** Connections reused across mails; any error closes the connection it happened on. */
class SmtpConnections {
  private readonly idle: { conn: SMTPConnection; sent: number }[] = []
  private readonly dead = new WeakSet<SMTPConnection>()

  constructor(
    private readonly smtpUrl: string,
    private readonly maxIdle: number,
  ) {}

  async acquire(): Promise<{ conn: SMTPConnection; sent: number }> {
    for (let slot = this.idle.pop(); slot; slot = this.idle.pop()) {
      if (!this.dead.has(slot.conn)) return slot
    }
    const { options, auth } = connectionOptions(this.smtpUrl)
    const conn = new SMTPConnection(options)
    const markDead = () => this.dead.add(conn)
    conn.on('error', markDead)
    conn.on('end', markDead)
    await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())))
    // The final "." is a small write after the body: with Nagle's algorithm it waits for the
    // relay's delayed ACK (about 40 ms), which would cap a connection at ~25 mails a second.
    ;(conn as unknown as { _socket?: Socket })._socket?.setNoDelay(true)
    if (auth) await new Promise<void>((resolve, reject) => conn.login(auth, (err) => (err ? reject(err) : resolve())))
    return { conn, sent: 0 }
  }

  release(slot: { conn: SMTPConnection; sent: number }, healthy: boolean): void {
    if (healthy && !this.dead.has(slot.conn) && slot.sent < 1_000 && this.idle.length < this.maxIdle) {
      this.idle.push(slot)
      return
    }
    this.dead.add(slot.conn)
    if (healthy) slot.conn.quit()
    else slot.conn.close()
  }

  close(): void {
    for (const slot of this.idle.splice(0)) slot.conn.quit()
  }
}

/**
 * A message body that holds back its end until `beforeFinish` resolves. The SMTP client
 * reads it only after the relay accepted the recipient and said "go ahead" (354), and
 * sends the final "." that makes the relay take the mail only after the stream ends; a
 * rejected `beforeFinish` aborts the mail, so the relay never gets it.
 */
class GatedMessage extends Readable {
  private pushed = false
  private finishing = false

  constructor(
    private readonly raw: Buffer,
    private readonly beforeFinish: () => Promise<void>,
  ) {
    super()
  }

  override _read(): void {
    if (!this.pushed) {
      this.pushed = true
      this.push(this.raw)
      return
    }
    if (this.finishing) return
    this.finishing = true
    this.beforeFinish().then(
      () => this.push(null),
      (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
    )
  }
}

/**
 * Renders mail from Handlebars templates that share a layout (HTML escapes every value,
 * the text part does not) and sends it over reused SMTP connections to SMTP_URL.
 */
export class Mailer {
  private readonly connections: SmtpConnections
  private readonly templates = new Map<string, { html: Template; text: Template }>()
  private readonly layout: { html: Template; text: Template }
  private readonly envelopeFrom: string
  /** The community's name in every mail: COMMUNITY_NAME until the worker reads the one set in /admin. */
  communityName: string

  constructor(private readonly config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'baseUrl' | 'communityName' | 'mailConcurrency'>) {
    if (!config.smtpUrl) throw new Error('Mailer needs SMTP_URL')
    this.communityName = config.communityName
    this.connections = new SmtpConnections(config.smtpUrl, Math.max(1, config.mailConcurrency))
    this.envelopeFrom = /<([^>]+)>/.exec(config.mailFrom)?.[1] ?? config.mailFrom.trim()
    const html = createHandlebars()
    const text = createHandlebars()
    const dir = path.join(paths.views, 'email')
    const load = (hbs: typeof Handlebars, file: string, noEscape: boolean): Template =>
      hbs.compile(fs.readFileSync(path.join(dir, file), 'utf8'), { noEscape, strict: false }) as Template
    this.layout = { html: load(html, 'layout.html.hbs', false), text: load(text, 'layout.text.hbs', true) }
    for (const file of fs.readdirSync(dir)) {
      const match = /^(.+)\.html\.hbs$/.exec(file)
      if (!match || match[1] === 'layout') continue
      this.templates.set(match[1]!, { html: load(html, file, false), text: load(text, `${match[1]}.text.hbs`, true) })
    }
  }

  /** The HTML and plain-text parts of a mail, each inside the shared layout. */
  render(template: string, data: Record<string, unknown>, unsubscribeUrl: string): RenderedMail {
    const t = this.templates.get(template)
    if (!t) throw new Error(`no mail template "${template}"`)
    const context = { ...data, communityName: this.communityName, baseUrl: this.config.baseUrl, unsubscribeUrl }
    return {
      html: this.layout.html({ ...context, body: t.html(context) }),
      text: this.layout.text({ ...context, body: t.text(context) }),
    }
  }

  /**
   * Sends one mail. `beforeFinish` runs once the relay has accepted the recipient and the
   * whole message but its final "."; if it fails, the mail is abandoned undelivered.
   * A permanent refusal of the recipient throws PermanentMailFailure; anything else
   * (no connection, 4xx) throws the transport's error so the job retries.
   */
  async send(message: MailMessage, beforeFinish: () => Promise<void> = async () => {}): Promise<void> {
    const { html, text } = this.render(message.template, message.data, message.unsubscribeUrl)
    const raw = await new MailComposer({
      from: this.config.mailFrom,
      to: message.to,
      subject: message.subject,
      html,
      text,
      messageId: message.messageId,
      headers: {
        'List-Unsubscribe': `<${message.unsubscribeUrl}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    })
      .compile()
      .build()
    const slot = await this.connections.acquire()
    let healthy = false
    try {
      await new Promise<void>((resolve, reject) =>
        slot.conn.send({ from: this.envelopeFrom, to: [message.to] }, new GatedMessage(raw, beforeFinish), (err) => (err ? reject(err) : resolve())),
      )
      healthy = true
      slot.sent += 1
    } catch (err) {
      const e = err as { responseCode?: number; command?: string; response?: string }
      if (e.command === 'RCPT TO' && e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600) {
        throw new PermanentMailFailure(e.response ?? String(err), e.responseCode)
      }
      throw err
    } finally {
      this.connections.release(slot, healthy)
    }
  }

  /** Closes idle SMTP connections. */
  close(): void {
    this.connections.close()
  }
}

/** A Message-ID that is the same for every attempt at one logical mail. */
export function stableMessageId(config: Pick<Config, 'baseUrl'>, ...parts: (string | number)[]): string {
  return `<${parts.join('.')}@${new URL(config.baseUrl).hostname || 'hearth.local'}>`
}
