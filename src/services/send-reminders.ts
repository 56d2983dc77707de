import { and, asc, eq, gte, inArray, lte } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { exceptions, followUps, renewals } from '../db/schema';
import { addCalendarDays, calendarDateIn, daysBetween } from '../domain/calendar';
import { formatExceptionRef } from '../domain/exception';
import { dueReminder } from '../domain/follow-ups';
import { SCHEDULER_ACTOR, type ServiceContext } from './context';
import { ID_CHUNK } from './exception-record';
import { queueNotifications, type ReminderItem } from './notifications';

/**
 * Reminds owners of exceptions that expire soon: each threshold of REMINDER_DAYS once per exception, ever, and
 * one DM per owner however many of their exceptions are due, shared with the run's other notices to them.
 */
export function sendReminders(ctx: ServiceContext, now: Date): string[] {
  const today = calendarDateIn(now, ctx.timeZone);
  const horizon = addCalendarDays(today, Math.max(...ctx.rules.reminderDays));
  // `now` decides what is due; the register and the outbox record when it was actually done.
  const recordedAt = ctx.clock();
  const at = recordedAt.toISOString();
  const run = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const soon = tx
        .select({ id: exceptions.id, ownerId: exceptions.ownerId, expiresOn: exceptions.expiresOn, currentRound: exceptions.currentRound })
        .from(exceptions)
        .where(and(eq(exceptions.status, 'active'), gte(exceptions.expiresOn, today), lte(exceptions.expiresOn, horizon)))
        .orderBy(asc(exceptions.expiresOn), asc(exceptions.id))
        .all();
      if (soon.length === 0) return [];
      const sent = new Map<number, string[]>();
      const renewing = new Set<number>();
      // In chunks: SQLite caps how many values one statement may bind.
      for (let from = 0; from < soon.length; from += ID_CHUNK) {
        const ids = soon.slice(from, from + ID_CHUNK).map((e) => e.id);
        for (const s of tx.select({ exceptionId: followUps.exceptionId, key: followUps.key }).from(followUps).where(and(eq(followUps.kind, 'expiry_reminder'), inArray(followUps.exceptionId, ids))).all()) {
          sent.set(s.exceptionId, [...(sent.get(s.exceptionId) ?? []), s.key]);
        }
        for (const r of tx.select({ exceptionId: renewals.exceptionId }).from(renewals).where(and(inArray(renewals.exceptionId, ids), inArray(renewals.status, ['requested', 'pending_approval']))).all()) {
          renewing.add(r.exceptionId);
        }
      }
      const byOwner = new Map<string, ReminderItem[]>();
      const reminded: string[] = [];
      for (const exception of soon) {
        // "Renew it" would be refused while a renewal waits; the reminder comes if that renewal fails.
        if (renewing.has(exception.id)) continue;
        const expiresOn = exception.expiresOn as string;
        // Keyed by the expiry date as well: a renewed exception gets its reminders again before its new date.
        const already = (sent.get(exception.id) ?? []).filter((key) => key.startsWith(`${expiresOn}:`)).map((key) => Number(key.slice(expiresOn.length + 1)));
        const threshold = dueReminder(expiresOn, today, ctx.rules.reminderDays, already);
        if (threshold === undefined) continue;
        // The unique key makes a second process (or a second run) skip what this one already claimed.
        const claimed = tx
          .insert(followUps)
          .values({ exceptionId: exception.id, kind: 'expiry_reminder', key: `${expiresOn}:${threshold}`, sentAt: at })
          .onConflictDoNothing()
          .run();
        if (claimed.changes === 0) continue;
        const daysLeft = daysBetween(today, expiresOn);
        appendAuditEvent(tx, { exceptionId: exception.id, actorId: SCHEDULER_ACTOR, kind: 'exception.reminded', payload: { threshold, daysLeft, ownerId: exception.ownerId }, occurredAt: at });
        byOwner.set(exception.ownerId, [...(byOwner.get(exception.ownerId) ?? []), { exceptionId: exception.id, daysLeft, expiresOn }]);
        reminded.push(formatExceptionRef(exception.id));
      }
      queueNotifications(
        tx,
        [...byOwner].map(([recipientId, items]) => ({ kind: 'reminder_digest' as const, recipientId, items, run })),
        recordedAt,
      );
      return reminded;
    },
    { behavior: 'immediate' },
  );
}
