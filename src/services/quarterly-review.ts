import { and, asc, desc, eq, gte, inArray, lt, ne, sql } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import type { Tx } from '../db/client';
import { auditEvents, exceptions, reviews, type AuditEventKind } from '../db/schema';
import { addCalendarDays, calendarDateIn, hourIn, type CalendarDate } from '../domain/calendar';
import { EXCEPTION_STATUSES, type ExceptionStatus } from '../domain/exception';
import { firstDayOfQuarter, firstMondayOfQuarter, pastOriginalExpiry, quarterOf } from '../domain/follow-ups';
import { mondayOf, weeklySeries, type WeekFigures, type WeekPoint } from '../domain/metrics';
import { SCHEDULER_ACTOR, type ServiceContext } from './context';
import { queueNotifications, type Notification } from './notifications';
import type { Reader } from './exception-record';
import { weeklyHistory } from './weekly-metrics';
import { listExceptions } from './list-exceptions';

/** What the quarter just ended saw happen, for the review at the start of the next: counts of events, not statuses. */
export interface QuarterFigures {
  quarter: string;
  from: CalendarDate;
  through: CalendarDate;
  events: Record<string, number>;
  /** Its weeks, from the weekly snapshots; a week without a post is a gap. */
  series: WeekPoint[];
  /** The quarter's first week, for the charts to compare the last with. */
  start: (WeekFigures & { monday: CalendarDate }) | null;
}

const COUNTED: Partial<Record<AuditEventKind, string>> = {
  'exception.requested': 'requested',
  'exception.approved': 'approved',
  'exception.rejected': 'rejected',
  'renewal.approved': 'renewed',
  'exception.reapproved': 'reapproved',
  'exception.expired': 'expired',
  'exception.closed': 'closed',
  /** Rejected in status (SPEC §1), yet nobody rejected it: counted apart from the rejections. */
  'exception.withdrawn': 'withdrawn',
  'exception.revoked': 'revoked',
};

/** The quarter of the latest review posted: an older review's items are decided in the latest one. */
export function latestReviewQuarter(db: Reader): string | undefined {
  return db.select({ quarter: reviews.quarter }).from(reviews).orderBy(desc(reviews.quarter)).limit(1).get()?.quarter;
}

function quarterFigures(ctx: ServiceContext, tx: Tx, today: CalendarDate): QuarterFigures {
  const next = firstDayOfQuarter(today);
  const through = addCalendarDays(next, -1);
  const from = firstDayOfQuarter(through);
  const events: Record<string, number> = Object.fromEntries(Object.values(COUNTED).map((name) => [name, 0]));
  // A day of slack either side in SQL, then each event's own day in TZ decides.
  for (const event of tx
    .select({ kind: auditEvents.kind, occurredAt: auditEvents.occurredAt })
    .from(auditEvents)
    .where(and(inArray(auditEvents.kind, Object.keys(COUNTED) as AuditEventKind[]), gte(auditEvents.occurredAt, `${addCalendarDays(from, -1)}T00:00:00.000Z`), lt(auditEvents.occurredAt, `${addCalendarDays(next, 1)}T00:00:00.000Z`)))
    .all()) {
    const day = calendarDateIn(new Date(event.occurredAt), ctx.timeZone);
    if (day >= from && day <= through) events[COUNTED[event.kind]!]!++;
  }
  const history = weeklyHistory({ db: tx });
  const series = weeklySeries(history, mondayOf(from) < from ? addCalendarDays(mondayOf(from), 7) : from, mondayOf(through));
  const first = series.find((p) => p.active !== null);
  const start = first ? (history.find((s) => s.week === first.week) ?? null) : null;
  return { quarter: quarterOf(through), from, through, events, series, start: start && first ? { ...start, monday: first.monday } : null };
}

/**
 * Block Kit caps a message at 50 blocks and about 12,000 characters of text: a re-approval item takes two blocks and
 * up to ~900 characters (its risk, renewals and latest progress with it), a register line up to ~220.
 */
export const OVERDUE_PER_MESSAGE = 12;
export const REGISTER_PER_MESSAGE = 40;

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

/**
 * Posts the quarter's review to the committee channel once, on or after the first Monday of the quarter: counts,
 * every exception open past its original expiry with Re-approve and Close, and the rest of the active register.
 */
export function postQuarterlyReview(ctx: ServiceContext, now: Date): string | undefined {
  const today = calendarDateIn(now, ctx.timeZone);
  const quarter = quarterOf(today);
  const reviewDay = firstMondayOfQuarter(today);
  // Due from REVIEW_CRON's hour on the first Monday (09:00 by default), not from the hourly run at midnight.
  if (today < reviewDay || (today === reviewDay && hourIn(now, ctx.timeZone) < ctx.rules.reviewHour)) return undefined;
  return ctx.db.transaction(
    (tx) => {
      // A register that did not exist on the review day has nothing to catch up on: a new install waits for the next quarter.
      // Numbers are handed out in order, so the first exception is the oldest (found by key, not by a scan).
      const first = tx.select({ createdAt: exceptions.createdAt }).from(exceptions).orderBy(asc(exceptions.id)).limit(1).get();
      if (!first || calendarDateIn(new Date(first.createdAt), ctx.timeZone) > reviewDay) return undefined;
      const claimed = tx.insert(reviews).values({ quarter, postedAt: ctx.clock().toISOString() }).onConflictDoNothing().run();
      if (claimed.changes === 0) return undefined;
      const counts = Object.fromEntries(EXCEPTION_STATUSES.map((status) => [status, 0])) as Record<ExceptionStatus, number>;
      for (const row of tx.select({ status: exceptions.status, n: sql<number>`count(*)` }).from(exceptions).groupBy(exceptions.status).all()) counts[row.status] = row.n;
      // A request sent back for changes waits for its requester, not for an assessment.
      const sentBack = counts.requested > 0 ? listExceptions(tx, { statuses: ['requested'], limit: Number.MAX_SAFE_INTEGER }).filter((r) => r.sentBack).length : 0;
      Object.assign(counts, { requested: counts.requested - sentBack, sent_back: sentBack });
      const active = tx
        .select({ id: exceptions.id, originalExpiresOn: exceptions.originalExpiresOn })
        .from(exceptions)
        .where(eq(exceptions.status, 'active'))
        .orderBy(asc(exceptions.expiresOn), asc(exceptions.id))
        .all();
      const overdue = active.filter((e) => pastOriginalExpiry(e.originalExpiresOn, today)).map((e) => e.id);
      const pastExpiry = new Set(overdue);
      const rest = active.filter((e) => !pastExpiry.has(e.id)).map((e) => e.id);
      const channel = ctx.channels.committee;
      const notifications: Notification[] = [
        { kind: 'channel_post', channel, message: 'review_summary', quarter, counts, overdue: overdue.length, reviewed: quarterFigures(ctx, tx, today) },
        ...chunks(overdue, OVERDUE_PER_MESSAGE).map((exceptionIds) => ({ kind: 'channel_post' as const, channel, message: 'review_overdue' as const, quarter, exceptionIds })),
        ...chunks(rest, REGISTER_PER_MESSAGE).map((exceptionIds) => ({ kind: 'channel_post' as const, channel, message: 'review_register' as const, quarter, exceptionIds })),
      ];
      // Items still open from an earlier review move to this one: that review's posts lose their buttons.
      if (tx.select({ id: reviews.id }).from(reviews).where(ne(reviews.quarter, quarter)).limit(1).get()) {
        notifications.push(...overdue.map((exceptionId) => ({ kind: 'refresh_card' as const, exceptionId, card: 'triage' as const })));
      }
      appendAuditEvent(tx, { exceptionId: null, actorId: SCHEDULER_ACTOR, kind: 'review.posted', payload: { quarter, counts, overdue, active: active.length }, occurredAt: ctx.clock().toISOString() });
      queueNotifications(tx, notifications, ctx.clock());
      return `${quarter}: ${overdue.length} past original expiry, ${rest.length} more active`;
    },
    { behavior: 'immediate' },
  );
}
