import { asc, eq, sql } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { exceptions, reviews } from '../db/schema';
import { calendarDateIn, hourIn } from '../domain/calendar';
import { EXCEPTION_STATUSES, type ExceptionStatus } from '../domain/exception';
import { firstMondayOfQuarter, pastOriginalExpiry, quarterOf } from '../domain/follow-ups';
import { SCHEDULER_ACTOR, type ServiceContext } from './context';
import { queueNotifications, type Notification } from './notifications';

/**
 * Block Kit caps a message at 50 blocks and about 12,000 characters of text: a re-approval item takes two blocks and
 * up to ~500 characters, a register line up to ~220.
 */
export const OVERDUE_PER_MESSAGE = 20;
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
        { kind: 'channel_post', channel, message: 'review_summary', quarter, counts, overdue: overdue.length },
        ...chunks(overdue, OVERDUE_PER_MESSAGE).map((exceptionIds) => ({ kind: 'channel_post' as const, channel, message: 'review_overdue' as const, quarter, exceptionIds })),
        ...chunks(rest, REGISTER_PER_MESSAGE).map((exceptionIds) => ({ kind: 'channel_post' as const, channel, message: 'review_register' as const, quarter, exceptionIds })),
      ];
      appendAuditEvent(tx, { exceptionId: null, actorId: SCHEDULER_ACTOR, kind: 'review.posted', payload: { quarter, counts, overdue, active: active.length }, occurredAt: ctx.clock().toISOString() });
      queueNotifications(tx, notifications, ctx.clock());
      return `${quarter}: ${overdue.length} past original expiry, ${rest.length} more active`;
    },
    { behavior: 'immediate' },
  );
}
