import fs from 'node:fs'
import path from 'node:path'
import type Handlebars from 'handlebars'
import nodemailer, { type Transporter } from 'nodemailer'
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
  /** Stable per logical mail, so a receiving client can fold a rare duplicate. */
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

/**
 * Renders mail from Handlebars templates that share a layout (HTML escapes every value,
 * the text part does not) and sends it over a pooled nodemailer SMTP transport.
 */
export class Mailer {
  private readonly transport: Transporter
  private readonly templates = new Map<string, { html: Template; text: Template }>()
  private readonly layout: { html: Template; text: Template }

  constructor(
    private readonly config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'baseUrl' | 'communityName' | 'mailConcurrency'>,
    transport?: Transporter,
  ) {
    if (!transport && !config.smtpUrl) throw new Error('Mailer needs SMTP_URL')
    this.transport =
      transport ??
      nodemailer.createTransport({
        url: config.smtpUrl!,
        pool: true,
        maxConnections: Math.max(1, config.mailConcurrency),
        maxMessages: 1_000,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
      })
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
    const context = { ...data, communityName: this.config.communityName, baseUrl: this.config.baseUrl, unsubscribeUrl }
    return {
      html: this.layout.html({ ...context, body: t.html(context) }),
      text: this.layout.text({ ...context, body: t.text(context) }),
    }
  }

  /**
   * Sends one mail. A permanent refusal of the recipient throws PermanentMailFailure;
   * anything else (no connection, 4xx) throws the transport's error so the job retries.
   */
  async send(message: MailMessage): Promise<{ messageId: string }> {
    const { html, text } = this.render(message.template, message.data, message.unsubscribeUrl)
    try {
      const info = await this.transport.sendMail({
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
      return { messageId: String(info.messageId) }
    } catch (err) {
      const e = err as { responseCode?: number; command?: string; response?: string }
      if (e.command === 'RCPT TO' && e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600) {
        throw new PermanentMailFailure(e.response ?? String(err), e.responseCode)
      }
      throw err
    }
  }

  /** Closes pooled SMTP connections. */
  close(): void {
    this.transport.close()
  }
}

/** A Message-ID that is the same for every attempt at one logical mail. */
export function stableMessageId(config: Pick<Config, 'baseUrl'>, ...parts: (string | number)[]): string {
  return `<${parts.join('.')}@${new URL(config.baseUrl).hostname || 'hearth.local'}>`
}
