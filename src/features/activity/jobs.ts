import { stableMessageId } from '../../core/mail.js'
import { deliverOnce } from '../email/service.js'
import type { JobDefinition } from '../../worker-runtime.js'
import { weeklyReport } from './weekly.js'

/**
 * Nightly, after the trust recompute: fills the activity log from existing data the first
 * time, rolls the closed days' figures for the health dashboard, and recomputes every
 * member's lifecycle stage.
 */
export const activityNightly: JobDefinition<'activity.nightly'> = {
  name: 'activity.nightly',
  schedule: { pattern: '55 3 * * *' },
  withoutRedis: true,
  async handle(_payload, ctx) {
    const result = await ctx.services.activity.nightly()
    ctx.log.info(result, 'activity: days rolled and stages recomputed')
    return result
  },
}

/** Mondays (on the main queue, so its schedule is not a waiting mail): each admin gets the week's health figures that moved, with links (once per ISO week). */
export const healthReportMail: JobDefinition<'health.weekly_report'> = {
  name: 'health.weekly_report',
  schedule: { pattern: '0 7 * * 1' },
  async handle(_payload, ctx) {
    const settings = await ctx.services.settings.all({ fresh: true })
    if (!settings.health_report_mail) return { result: 'off' }
    await ctx.services.activity.rollDays()
    const report = await weeklyReport(ctx.services.health)
    const admins = await ctx.db
      .selectFrom('users')
      .select(['id', 'email', 'username'])
      .where('role', '=', 'admin')
      .where('email_suppressed_at', 'is', null)
      .where((eb) => eb.or([eb('suspended_until', 'is', null), eb('suspended_until', '<', new Date())]))
      .execute()
    const day = (d: Date) => d.toISOString().slice(0, 10)
    const subject = `${ctx.config.communityName} this week: ${report.moved ? `${report.moved} number${report.moved === 1 ? '' : 's'} moved` : 'a steady week'}`
    const results: Record<string, number> = {}
    for (const admin of admins) {
      const result = await deliverOnce(ctx.db, ctx.mailer, {
        user: admin,
        kind: 'health.report',
        periodKey: report.week,
        messageId: stableMessageId(ctx.config, 'health', report.week, admin.id),
        build: async () => ({
          to: admin.email,
          subject,
          template: 'health-report',
          data: { subject, ...report, from: day(report.from), to: day(report.to) },
          unsubscribeUrl: ctx.services.email.mailLinks.unsubscribeUrl(admin.id, 'all'),
        }),
      })
      results[result] = (results[result] ?? 0) + 1
    }
    return { week: report.week, admins: admins.length, ...results }
  },
}

export const activityJobs: JobDefinition[] = [activityNightly as JobDefinition, healthReportMail as JobDefinition]
