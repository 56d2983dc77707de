import { and, eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { exceptions } from '../db/schema';
import { assertMayDecide } from '../domain/authority';
import { calendarDateIn } from '../domain/calendar';
import { FreshJustification } from '../domain/closing';
import { DomainError } from '../domain/errors';
import { quarterOf } from '../domain/follow-ups';
import type { ServiceContext } from './context';
import { getRecordFor, type ExceptionRecord } from './exception-record';
import { queueNotifications } from './notifications';

/** Checked before the re-approval modal opens: only a committee member who is not a party to it. */
export function authorizeReapproval(ctx: ServiceContext, exceptionId: number, actorId: string): ExceptionRecord {
  const record = getRecordFor(ctx.db, exceptionId, actorId, ctx.roles);
  assertMayDecide(actorId, record, 'committee', ctx.roles);
  if (record.status !== 'active') throw new DomainError('invalid_transition', `${record.ref} is no longer active, so there is nothing to re-approve.`);
  return record;
}

/** A committee member re-approves an exception in review with a fresh justification; the register keeps who and when. */
export function reapproveException(ctx: ServiceContext, command: { exceptionId: number; actorId: string; justification: string | undefined }): ExceptionRecord {
  const now = ctx.clock();
  const at = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const record = getRecordFor(tx, command.exceptionId, command.actorId, ctx.roles);
      assertMayDecide(command.actorId, record, 'committee', ctx.roles);
      if (record.status !== 'active') throw new DomainError('invalid_transition', `${record.ref} is no longer active, so there is nothing to re-approve.`);
      const parsed = FreshJustification.safeParse(command.justification);
      if (!parsed.success) throw new DomainError('invalid_request', parsed.error.issues[0]?.message ?? 'Give a fresh justification.');
      const justification = parsed.data;
      tx.update(exceptions)
        .set({ lastReviewedAt: at, lastReviewedBy: command.actorId, updatedAt: at })
        .where(and(eq(exceptions.id, record.id), eq(exceptions.status, 'active')))
        .run();
      appendAuditEvent(tx, { exceptionId: record.id, actorId: command.actorId, kind: 'exception.reapproved', payload: { justification, quarter: quarterOf(calendarDateIn(now, ctx.timeZone)) }, occurredAt: at });
      // The review post that asked for it loses its Re-approve and Close, as every message about the exception follows its card.
      queueNotifications(tx, [{ kind: 'refresh_card', exceptionId: record.id, card: 'triage' }], now);
      return record;
    },
    { behavior: 'immediate' },
  );
}
