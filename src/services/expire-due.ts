import { and, asc, eq, inArray, lt } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { amendments, exceptions } from '../db/schema';
import { calendarDateIn } from '../domain/calendar';
import { formatExceptionRef } from '../domain/exception';
import { nextStatus } from '../domain/lifecycle';
import { SCHEDULER_ACTOR, type ServiceContext } from './context';
import { queueNotifications, type Notification } from './notifications';

/**
 * Expires every active exception whose expiry day has ended, as of `now`: nobody has to click. Catches up on
 * anything that fell due while the app was down, and posts one summary per sweep, only when something expired.
 */
export function expireDue(ctx: ServiceContext, now: Date): string[] {
  const today = calendarDateIn(now, ctx.timeZone);
  // `now` decides what is due; the register and the outbox record when it was actually done.
  const recordedAt = ctx.clock();
  const at = recordedAt.toISOString();
  // The same run's reminders and check-in questions join these notices in one DM per person.
  const run = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const due = tx
        .select({ id: exceptions.id, requesterId: exceptions.requesterId, ownerId: exceptions.ownerId, expiresOn: exceptions.expiresOn })
        .from(exceptions)
        .where(and(eq(exceptions.status, 'active'), lt(exceptions.expiresOn, today)))
        .orderBy(asc(exceptions.id))
        .all();
      const notifications: Notification[] = [];
      const expiredFor = new Map<string, number[]>();
      // Notices are rendered at delivery; if a renewal is approved first, the record's date has moved on.
      const expiredOn = Object.fromEntries(due.map((e) => [e.id, e.expiresOn as string]));
      for (const exception of due) {
        tx.update(exceptions)
          .set({ status: nextStatus('active', 'expire'), updatedAt: at })
          .where(and(eq(exceptions.id, exception.id), eq(exceptions.status, 'active')))
          .run();
        // A change of terms still waiting ends with it (a renewal waits on: approved, it brings the exception back).
        const changeWithdrawn = tx
          .update(amendments)
          .set({ status: 'withdrawn', decidedAt: at })
          .where(and(eq(amendments.exceptionId, exception.id), inArray(amendments.status, ['requested', 'pending_approval'])))
          .run();
        appendAuditEvent(tx, { exceptionId: exception.id, actorId: SCHEDULER_ACTOR, kind: 'exception.expired', payload: { expiresOn: exception.expiresOn, today, ...(changeWithdrawn.changes > 0 ? { amendmentWithdrawn: true } : {}) }, occurredAt: at });
        notifications.push({ kind: 'refresh_card', exceptionId: exception.id, card: 'triage' }, { kind: 'refresh_card', exceptionId: exception.id, card: 'approval' });
        for (const recipientId of new Set([exception.ownerId, exception.requesterId])) expiredFor.set(recipientId, [...(expiredFor.get(recipientId) ?? []), exception.id]);
      }
      // One notice per person per sweep, however many of theirs expired.
      for (const [recipientId, ids] of expiredFor) {
        notifications.push(
          ids.length === 1
            ? { kind: 'direct_message', exceptionId: ids[0]!, recipientId, message: 'expired', expiredOn: expiredOn[ids[0]!], run }
            : { kind: 'expiry_digest', recipientId, exceptionIds: ids, expiredOn: Object.fromEntries(ids.map((id) => [id, expiredOn[id]!])), run },
        );
      }
      if (due.length > 0) notifications.push({ kind: 'channel_post', channel: ctx.channels.approvals, message: 'expiry_summary', exceptionIds: due.map((e) => e.id), expiredOn });
      queueNotifications(tx, notifications, recordedAt);
      return due.map((e) => formatExceptionRef(e.id));
    },
    { behavior: 'immediate' },
  );
}
