import { and, asc, eq, lt } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { exceptions } from '../db/schema';
import { calendarDateIn } from '../domain/calendar';
import { formatExceptionRef } from '../domain/exception';
import { nextStatus } from '../domain/lifecycle';
import { SCHEDULER_ACTOR, type ServiceContext } from './context';
import { queueNotifications, type Notification } from './notifications';

/**
 * Expires every active exception whose expiry day has ended, as of `now`: nobody has to click. Catches up on
 * anything that fell due while the app was down, and posts one summary per sweep.
 */
export function expireDue(ctx: ServiceContext, now: Date): string[] {
  const today = calendarDateIn(now, ctx.timeZone);
  // `now` decides what is due; the register and the outbox record when it was actually done.
  const recordedAt = ctx.clock();
  const at = recordedAt.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const due = tx
        .select({ id: exceptions.id, requesterId: exceptions.requesterId, ownerId: exceptions.ownerId, expiresOn: exceptions.expiresOn })
        .from(exceptions)
        .where(and(eq(exceptions.status, 'active'), lt(exceptions.expiresOn, today)))
        .orderBy(asc(exceptions.id))
        .all();
      const notifications: Notification[] = [];
      for (const exception of due) {
        tx.update(exceptions)
          .set({ status: nextStatus('active', 'expire'), updatedAt: at })
          .where(and(eq(exceptions.id, exception.id), eq(exceptions.status, 'active')))
          .run();
        appendAuditEvent(tx, { exceptionId: exception.id, actorId: SCHEDULER_ACTOR, kind: 'exception.expired', payload: { expiresOn: exception.expiresOn, today }, occurredAt: at });
        notifications.push(
          { kind: 'refresh_card', exceptionId: exception.id, card: 'triage' },
          { kind: 'refresh_card', exceptionId: exception.id, card: 'approval' },
          ...[...new Set([exception.ownerId, exception.requesterId])].map((recipientId) => ({
            kind: 'direct_message' as const,
            exceptionId: exception.id,
            recipientId,
            message: 'expired' as const,
          })),
        );
      }
      if (due.length > 0) notifications.push({ kind: 'channel_post', channel: ctx.channels.approvals, message: 'expiry_summary', exceptionIds: due.map((e) => e.id) });
      queueNotifications(tx, notifications, recordedAt);
      return due.map((e) => formatExceptionRef(e.id));
    },
    { behavior: 'immediate' },
  );
}
