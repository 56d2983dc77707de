import { eq, inArray, sql } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { checkins, exceptions } from '../db/schema';
import { calendarDateIn } from '../domain/calendar';
import { formatExceptionRef } from '../domain/exception';
import { checkinDue, checkinOverdue, checkinWorthAsking } from '../domain/follow-ups';
import { SCHEDULER_ACTOR, type ServiceContext } from './context';
import { queueNotifications, type Notification } from './notifications';

/**
 * Asks each owner, every CHECKIN_DAYS, whether the compensating control is still in place and working; reports
 * to the approvers every question left unanswered past the grace period. An exception is only as safe as its control.
 */
export function checkControls(ctx: ServiceContext, now: Date): { asked: string[]; overdue: string[] } {
  const today = calendarDateIn(now, ctx.timeZone);
  // `now` decides what is due; the register and the outbox record when it was actually done.
  const recordedAt = ctx.clock();
  const at = recordedAt.toISOString();
  const run = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const active = tx
        .select({ id: exceptions.id, ownerId: exceptions.ownerId, activatedAt: exceptions.activatedAt, expiresOn: exceptions.expiresOn })
        .from(exceptions)
        .where(eq(exceptions.status, 'active'))
        .all();
      // The latest question to each active exception's owner, in one query rather than one per exception.
      const latestIds = tx
        .select({ id: sql<number>`max(${checkins.id})` })
        .from(checkins)
        .innerJoin(exceptions, eq(exceptions.id, checkins.exceptionId))
        .where(eq(exceptions.status, 'active'))
        .groupBy(checkins.exceptionId);
      const latestOf = new Map(tx.select().from(checkins).where(inArray(checkins.id, latestIds)).all().map((c) => [c.exceptionId, c]));
      const notifications: Notification[] = [];
      const asked: string[] = [];
      const overdue: number[] = [];
      for (const exception of active) {
        const latest = latestOf.get(exception.id);
        const unanswered = latest !== undefined && latest.answer === null;
        if (latest && unanswered) {
          if (latest.overdueReportedAt === null && checkinOverdue(latest.askedOn, today, ctx.rules.checkinGraceDays)) {
            tx.update(checkins).set({ overdueReportedAt: at }).where(eq(checkins.id, latest.id)).run();
            tx.update(exceptions)
              .set({ attentionReason: `No answer to the control check-in asked on ${latest.askedOn}.`, updatedAt: at })
              .where(eq(exceptions.id, exception.id))
              .run();
            appendAuditEvent(tx, { exceptionId: exception.id, actorId: SCHEDULER_ACTOR, kind: 'exception.checkin_overdue', payload: { askedOn: latest.askedOn }, occurredAt: at });
            overdue.push(exception.id);
          }
          // Silence is reported once; the question still comes back every CHECKIN_DAYS, answered or not.
          if (latest.overdueReportedAt === null && !overdue.includes(exception.id)) continue;
        }
        const activatedOn = calendarDateIn(new Date(exception.activatedAt ?? at), ctx.timeZone);
        if (!checkinDue(latest?.askedOn, activatedOn, today, ctx.rules.checkinEveryDays)) continue;
        if (!checkinWorthAsking(exception.expiresOn, today, ctx.rules.checkinGraceDays)) continue;
        const created = tx
          .insert(checkins)
          .values({ exceptionId: exception.id, askedOn: today, askedAt: at })
          .onConflictDoNothing()
          .returning({ id: checkins.id })
          .get();
        if (!created) continue;
        appendAuditEvent(tx, { exceptionId: exception.id, actorId: SCHEDULER_ACTOR, kind: 'exception.checkin_asked', payload: { checkinId: created.id, ownerId: exception.ownerId }, occurredAt: at });
        // A question left open closes when the next is asked: only the latest can be answered.
        const supersedes = latest && unanswered ? [latest.id] : [];
        notifications.push({ kind: 'checkin_question', exceptionId: exception.id, recipientId: exception.ownerId, checkinId: created.id, supersedes, run });
        asked.push(formatExceptionRef(exception.id));
      }
      notifications.push(...overdue.map((exceptionId) => ({ kind: 'refresh_card' as const, exceptionId, card: 'triage' as const })));
      if (overdue.length > 0) notifications.push({ kind: 'channel_post', channel: ctx.channels.approvals, message: 'checkin_alert', exceptionIds: overdue, reason: 'no_answer' });
      queueNotifications(tx, notifications, recordedAt);
      return { asked, overdue: overdue.map(formatExceptionRef) };
    },
    { behavior: 'immediate' },
  );
}
