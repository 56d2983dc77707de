import { and, asc, eq, gte, inArray } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { exceptions, followUps } from '../db/schema';
import { addCalendarDays, calendarDateIn, daysBetween } from '../domain/calendar';
import { formatExceptionRef } from '../domain/exception';
import { dueReminder } from '../domain/follow-ups';
import type { ServiceContext } from './context';
import { SCHEDULER_ACTOR } from './expire-due';
import { queueNotifications, type ReminderItem } from './notifications';

/**
 * Reminds owners of exceptions that expire soon: each threshold of REMINDER_DAYS once per exception, ever, and
 * one DM per owner however many of their exceptions are due.
 */
export function sendReminders(ctx: ServiceContext, now: Date): string[] {
  const today = calendarDateIn(now, ctx.timeZone);
  const horizon = addCalendarDays(today, Math.max(...ctx.rules.reminderDays));
  const at = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const soon = tx
        .select({ id: exceptions.id, ownerId: exceptions.ownerId, expiresOn: exceptions.expiresOn })
        .from(exceptions)
        .where(and(eq(exceptions.status, 'active'), gte(exceptions.expiresOn, today)))
        .orderBy(asc(exceptions.expiresOn), asc(exceptions.id))
        .all()
        .filter((e) => e.expiresOn !== null && e.expiresOn <= horizon);
      if (soon.length === 0) return [];
      const sent = tx
        .select({ exceptionId: followUps.exceptionId, key: followUps.key })
        .from(followUps)
        .where(and(eq(followUps.kind, 'expiry_reminder'), inArray(followUps.exceptionId, soon.map((e) => e.id))))
        .all();
      const byOwner = new Map<string, ReminderItem[]>();
      const reminded: string[] = [];
      for (const exception of soon) {
        const expiresOn = exception.expiresOn as string;
        const already = sent.filter((s) => s.exceptionId === exception.id).map((s) => Number(s.key));
        const threshold = dueReminder(expiresOn, today, ctx.rules.reminderDays, already);
        if (threshold === undefined) continue;
        // The unique key makes a second process (or a second run) skip what this one already claimed.
        const claimed = tx.insert(followUps).values({ exceptionId: exception.id, kind: 'expiry_reminder', key: String(threshold), sentAt: at }).onConflictDoNothing().run();
        if (claimed.changes === 0) continue;
        const daysLeft = daysBetween(today, expiresOn);
        appendAuditEvent(tx, { exceptionId: exception.id, actorId: SCHEDULER_ACTOR, kind: 'exception.reminded', payload: { threshold, daysLeft, ownerId: exception.ownerId }, occurredAt: at });
        byOwner.set(exception.ownerId, [...(byOwner.get(exception.ownerId) ?? []), { exceptionId: exception.id, daysLeft }]);
        reminded.push(formatExceptionRef(exception.id));
      }
      queueNotifications(
        tx,
        [...byOwner].map(([recipientId, items]) => ({ kind: 'reminder_digest' as const, recipientId, items })),
        now,
      );
      return reminded;
    },
    { behavior: 'immediate' },
  );
}
