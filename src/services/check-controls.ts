import { and, desc, eq, isNull } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { checkins, exceptions, type CheckinAnswer } from '../db/schema';
import { calendarDateIn } from '../domain/calendar';
import { DomainError } from '../domain/errors';
import { formatExceptionRef } from '../domain/exception';
import { checkinDue, checkinOverdue } from '../domain/follow-ups';
import { SCHEDULER_ACTOR, type ServiceContext } from './context';
import { getExceptionRecord, type ExceptionRecord } from './exception-record';
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
  return ctx.db.transaction(
    (tx) => {
      const active = tx
        .select({ id: exceptions.id, ownerId: exceptions.ownerId, activatedAt: exceptions.activatedAt })
        .from(exceptions)
        .where(eq(exceptions.status, 'active'))
        .all();
      const notifications: Notification[] = [];
      const asked: string[] = [];
      const overdue: number[] = [];
      for (const exception of active) {
        const latest = tx.select().from(checkins).where(eq(checkins.exceptionId, exception.id)).orderBy(desc(checkins.id)).limit(1).get();
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
        const created = tx
          .insert(checkins)
          .values({ exceptionId: exception.id, askedOn: today, askedAt: at })
          .onConflictDoNothing()
          .returning({ id: checkins.id })
          .get();
        if (!created) continue;
        appendAuditEvent(tx, { exceptionId: exception.id, actorId: SCHEDULER_ACTOR, kind: 'exception.checkin_asked', payload: { checkinId: created.id, ownerId: exception.ownerId }, occurredAt: at });
        notifications.push({ kind: 'checkin_question', exceptionId: exception.id, recipientId: exception.ownerId, checkinId: created.id });
        asked.push(formatExceptionRef(exception.id));
      }
      if (overdue.length > 0) notifications.push({ kind: 'channel_post', channel: ctx.channels.approvals, message: 'checkin_alert', exceptionIds: overdue, reason: 'no_answer' });
      queueNotifications(tx, notifications, recordedAt);
      return { asked, overdue: overdue.map(formatExceptionRef) };
    },
    { behavior: 'immediate' },
  );
}

/** The owner's Yes records the check-in; a No puts the exception in front of the approvers at once. */
export function answerCheckin(ctx: ServiceContext, command: { checkinId: number; actorId: string; answer: CheckinAnswer }): ExceptionRecord {
  const now = ctx.clock();
  const at = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const checkin = tx.select().from(checkins).where(eq(checkins.id, command.checkinId)).get();
      if (!checkin) throw new DomainError('not_found', 'That check-in no longer exists.');
      const record = getExceptionRecord(tx, checkin.exceptionId);
      if (command.actorId !== record.ownerId) {
        throw new DomainError('not_authorised', `Only the owner of ${record.ref} (<@${record.ownerId}>) can answer its control check-in.`);
      }
      if (record.status !== 'active') throw new DomainError('invalid_transition', `${record.ref} is no longer active, so its control check-in is closed; nothing was recorded.`);
      const answered = tx
        .update(checkins)
        .set({ answer: command.answer, answeredBy: command.actorId, answeredAt: at })
        .where(and(eq(checkins.id, checkin.id), isNull(checkins.answer)))
        .run();
      if (answered.changes === 0) throw new DomainError('conflict', `This check-in of ${record.ref} was already answered "${checkin.answer}".`);
      const today = calendarDateIn(now, ctx.timeZone);
      tx.update(exceptions)
        .set(
          command.answer === 'yes'
            ? { lastCheckinOn: today, attentionReason: null, updatedAt: at }
            : { attentionReason: `On ${today} the owner reported that the compensating control is not in place or not working.`, updatedAt: at },
        )
        .where(eq(exceptions.id, record.id))
        .run();
      appendAuditEvent(tx, { exceptionId: record.id, actorId: command.actorId, kind: 'exception.checkin_answered', payload: { checkinId: checkin.id, answer: command.answer }, occurredAt: at });
      if (command.answer === 'no') {
        queueNotifications(tx, [{ kind: 'channel_post', channel: ctx.channels.approvals, message: 'checkin_alert', exceptionIds: [record.id], reason: 'answered_no' }], now);
      }
      return record;
    },
    { behavior: 'immediate' },
  );
}
