import { and, asc, eq, gte, lte, sql } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { stillApplied } from '../db/integrations';
import { auditEvents, exceptions, metricSnapshots, policies, renewals } from '../db/schema';
import { addCalendarDays, calendarDateIn, hourIn } from '../domain/calendar';
import { firstDayOfQuarter } from '../domain/follow-ups';
import { computeMetrics, isoWeek, mondayOf, type AgeBucket, type Metrics, type WeekFigures } from '../domain/metrics';
import { SCHEDULER_ACTOR, type ServiceContext } from './context';
import { listWaiting } from './exception-record';
import { queueNotifications } from './notifications';

/** The figures as of `now`, from the register and the weekly snapshots before this week. */
export function gatherMetrics(ctx: ServiceContext, now: Date): Metrics {
  const today = calendarDateIn(now, ctx.timeZone);
  const active = ctx.db
    .select({ activatedAt: exceptions.activatedAt, policyKey: policies.key })
    .from(exceptions)
    .innerJoin(policies, eq(policies.id, exceptions.policyId))
    .where(eq(exceptions.status, 'active'))
    .all()
    .map((e) => ({ approvedOn: calendarDateIn(new Date(e.activatedAt ?? now.toISOString()), ctx.timeZone), policyKey: e.policyKey }));
  const waiting = listWaiting(ctx.db).map((item) => ({ exceptionId: item.id, since: item.open.since, sinceDay: calendarDateIn(new Date(item.open.since), ctx.timeZone) }));
  const count = (rows: { n: number } | undefined) => rows?.n ?? 0;
  return computeMetrics({
    today,
    active,
    policyCount: count(ctx.db.select({ n: sql<number>`count(*)` }).from(policies).get()),
    waiting,
    expiring: ctx.db
      .select({ exceptionId: exceptions.id, expiresOn: exceptions.expiresOn })
      .from(exceptions)
      .where(and(eq(exceptions.status, 'active'), gte(exceptions.expiresOn, today), lte(exceptions.expiresOn, addCalendarDays(today, 14))))
      .all()
      .flatMap((e) => (e.expiresOn ? [{ exceptionId: e.exceptionId, expiresOn: e.expiresOn }] : [])),
    // The quarter begins at midnight in TZ: a day of slack in SQL, then each renewal's own day decides.
    renewalsThisQuarter: ctx.db
      .select({ createdAt: renewals.createdAt })
      .from(renewals)
      .where(gte(renewals.createdAt, `${addCalendarDays(firstDayOfQuarter(today), -1)}T00:00:00.000Z`))
      .all()
      .filter((r) => calendarDateIn(new Date(r.createdAt), ctx.timeZone) >= firstDayOfQuarter(today)).length,
    stillApplied: stillApplied(ctx.db).map(({ exceptionId, status, vendorLabel, groupName, people }) => ({ exceptionId, status, vendorLabel, groupName, people })),
    history: weeklyHistory(ctx),
  });
}

/** Every weekly snapshot, with its age groups where the snapshot kept them. */
export function weeklyHistory(ctx: Pick<ServiceContext, 'db'>): WeekFigures[] {
  return ctx.db
    .select({ week: metricSnapshots.week, active: metricSnapshots.active, overOneEighty: metricSnapshots.overOneEighty, figures: metricSnapshots.figures })
    .from(metricSnapshots)
    .all()
    .map(({ figures, ...snapshot }) => {
      const ages = (JSON.parse(figures) as { ages?: Record<AgeBucket, number> }).ages;
      return ages ? { ...snapshot, ages } : snapshot;
    });
}

/** Whether an instant is at or after the weekly post's slot in its ISO week: Monday from METRICS_CRON's hour in TZ. */
function atOrAfterWeeklySlot(ctx: ServiceContext, at: Date): boolean {
  const day = calendarDateIn(at, ctx.timeZone);
  return day !== mondayOf(day) || hourIn(at, ctx.timeZone) >= ctx.rules.metricsHour;
}

/**
 * Posts the weekly figures to the committee channel once per ISO week, from Monday at METRICS_CRON's hour in TZ
 * on, and keeps a snapshot for the trends; a run after downtime posts the week's figures late rather than never.
 * A register's first week is the exception: its first report waits for the first slot after the register began
 * (its first audit event), so installing the app and importing the catalogue do not post an empty "0 active"
 * report to the committee.
 */
export function postWeeklyMetrics(ctx: ServiceContext, now: Date): string | undefined {
  if (!atOrAfterWeeklySlot(ctx, now)) return undefined;
  const week = isoWeek(calendarDateIn(now, ctx.timeZone));
  return ctx.db.transaction(
    (tx) => {
      if (tx.select({ id: metricSnapshots.id }).from(metricSnapshots).where(eq(metricSnapshots.week, week)).get()) return undefined;
      if (!tx.select({ id: metricSnapshots.id }).from(metricSnapshots).limit(1).get()) {
        const began = tx.select({ at: auditEvents.occurredAt }).from(auditEvents).orderBy(asc(auditEvents.id)).limit(1).get();
        if (!began) return 'not due: the register is empty; the first report comes at the first scheduled run after it has a policy';
        const beganWeek = isoWeek(calendarDateIn(new Date(began.at), ctx.timeZone));
        const beganBeforeThisSlot = beganWeek < week || (beganWeek === week && !atOrAfterWeeklySlot(ctx, new Date(began.at)));
        if (!beganBeforeThisSlot) return "not due: the register began after this week's scheduled run; its first report comes with next week's";
      }
      const metrics = gatherMetrics(ctx, now);
      const at = ctx.clock().toISOString();
      tx.insert(metricSnapshots).values({ week, active: metrics.active, overOneEighty: metrics.overOneEighty, figures: JSON.stringify(metrics), takenAt: at }).run();
      const posted = appendAuditEvent(tx, { exceptionId: null, actorId: SCHEDULER_ACTOR, kind: 'metrics.posted', payload: { week, active: metrics.active }, occurredAt: at });
      // The chain's head, this very event, goes out with the post: a copy of it outside the register.
      const anchor = { count: posted.id, hash: posted.hash };
      queueNotifications(tx, [{ kind: 'channel_post', channel: ctx.channels.committee, message: 'weekly_metrics', metrics, anchor }], ctx.clock());
      return `${week}: ${metrics.active} active`;
    },
    { behavior: 'immediate' },
  );
}
