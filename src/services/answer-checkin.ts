import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { appendAuditEvent } from '../db/audit-chain';
import { checkins, exceptions, type CheckinAnswer } from '../db/schema';
import { calendarDateIn } from '../domain/calendar';
import { DomainError } from '../domain/errors';
import type { ServiceContext } from './context';
import { getRecordFor, type ExceptionRecord } from './exception-record';
import { queueNotifications } from './notifications';

/**
 * The owner's Yes records the check-in; a No puts the exception in front of the approvers at once. Only the latest
 * question can be answered: a Yes to an older one must never clear what the owner said since.
 */
export function answerCheckin(ctx: ServiceContext, command: { checkinId: number; actorId: string; answer: CheckinAnswer }): ExceptionRecord {
  const now = ctx.clock();
  const at = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const checkin = tx.select().from(checkins).where(eq(checkins.id, command.checkinId)).get();
      if (!checkin) throw new DomainError('not_found', 'That check-in no longer exists.');
      const record = getRecordFor(tx, checkin.exceptionId, command.actorId, ctx.roles);
      if (command.actorId !== record.ownerId) {
        throw new DomainError('not_authorised', `Only the owner of ${record.ref} (<@${record.ownerId}>) can answer its control check-in.`);
      }
      if (record.status !== 'active') throw new DomainError('invalid_transition', `${record.ref} is no longer active, so its control check-in is closed; nothing was recorded.`);
      const latest = tx.select({ id: checkins.id, askedOn: checkins.askedOn }).from(checkins).where(eq(checkins.exceptionId, record.id)).orderBy(desc(checkins.id)).limit(1).get();
      if (latest && latest.id !== checkin.id) {
        throw new DomainError(
          'stale',
          `This check-in of ${record.ref} (asked on ${checkin.askedOn}) was replaced by a newer one, asked on ${latest.askedOn}; answer that one, further down in this conversation. Nothing was recorded.`,
        );
      }
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
      queueNotifications(
        tx,
        [
          { kind: 'refresh_card', exceptionId: record.id, card: 'triage' },
          ...(command.answer === 'no'
            ? [{ kind: 'channel_post' as const, channel: ctx.channels.approvals, message: 'checkin_alert' as const, exceptionIds: [record.id], reason: 'answered_no' as const }]
            : []),
        ],
        now,
      );
      return record;
    },
    { behavior: 'immediate' },
  );
}

/** Where each question stands, for a message that shows it: answered, replaced by a newer one, or still open. */
export function checkinStates(db: Db, checkinIds: readonly number[]): Map<number, { id: number; exceptionId: number; askedOn: string; answer: CheckinAnswer | null; answeredAt: string | null; superseded: boolean }> {
  if (checkinIds.length === 0) return new Map();
  const rows = db
    .select({
      id: checkins.id,
      exceptionId: checkins.exceptionId,
      askedOn: checkins.askedOn,
      answer: checkins.answer,
      answeredAt: checkins.answeredAt,
      // Qualified by hand: drizzle writes a lone column unqualified, which inside the subquery would name later's own.
      latestId: sql<number>`(select max(later.id) from ${checkins} as later where later.exception_id = ${checkins}.exception_id)`,
    })
    .from(checkins)
    .where(inArray(checkins.id, [...checkinIds]))
    .all();
  return new Map(rows.map(({ latestId, ...c }) => [c.id, { ...c, superseded: latestId !== c.id }]));
}
