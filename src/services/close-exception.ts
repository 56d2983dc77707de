import { and, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { appendAuditEvent } from '../db/audit-chain';
import { exceptions, renewals } from '../db/schema';
import { assertIsAccountable } from '../domain/authority';
import { DomainError } from '../domain/errors';
import { nextStatus } from '../domain/lifecycle';
import type { ServiceContext } from './context';
import { getExceptionRecord, type ExceptionRecord } from './exception-record';
import { queueNotifications } from './notifications';

export const ClosingNote = z
  .string({ error: 'Say how the gap was remediated: the register keeps this note as evidence.' })
  .trim()
  .min(20, { error: 'Say in at least 20 characters how the gap was remediated: the register keeps this note as evidence.' })
  .max(2000, { error: 'The note must be at most 2000 characters.' });

/**
 * The owner or requester closes once the gap is remediated; a committee member may close it in review even when
 * the owner protests (that is the committee's job). Checked before the modal opens and again on submission.
 */
function assertMayClose(ctx: ServiceContext, record: ExceptionRecord, actorId: string): void {
  if (!ctx.roles.committee.has(actorId) || actorId === record.ownerId || actorId === record.requesterId) assertIsAccountable(actorId, record, 'close');
  nextStatus(record.status, 'close');
}

export function authorizeClose(ctx: ServiceContext, exceptionId: number, actorId: string): ExceptionRecord {
  const record = getExceptionRecord(ctx.db, exceptionId);
  assertMayClose(ctx, record, actorId);
  return record;
}

/** The owner or requester closes an active exception once the gap is remediated; the policy applies again. */
export function closeException(ctx: ServiceContext, command: { exceptionId: number; actorId: string; note: string | undefined }): { ref: string } {
  const now = ctx.clock();
  const at = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const record = getExceptionRecord(tx, command.exceptionId);
      assertMayClose(ctx, record, command.actorId);
      const status = nextStatus(record.status, 'close');
      const note = ClosingNote.safeParse(command.note);
      if (!note.success) throw new DomainError('invalid_request', note.error.issues[0]?.message ?? 'Say how the gap was remediated.');
      const moved = tx
        .update(exceptions)
        .set({ status, closedAt: at, closingNote: note.data, updatedAt: at })
        .where(and(eq(exceptions.id, record.id), eq(exceptions.status, record.status)))
        .run();
      if (moved.changes === 0) throw new DomainError('conflict', `${record.ref} changed a moment ago; look at it again.`);
      // A renewal still waiting has nothing left to renew.
      const withdrawn = tx
        .update(renewals)
        .set({ status: 'withdrawn', decidedAt: at })
        .where(and(eq(renewals.exceptionId, record.id), inArray(renewals.status, ['requested', 'pending_approval'])))
        .run();
      appendAuditEvent(tx, { exceptionId: record.id, actorId: command.actorId, kind: 'exception.closed', payload: { note: note.data, renewalWithdrawn: withdrawn.changes > 0 }, occurredAt: at });
      const others = [...new Set([record.ownerId, record.requesterId])].filter((id) => id !== command.actorId);
      queueNotifications(
        tx,
        [
          { kind: 'refresh_card', exceptionId: record.id, card: 'triage' },
          { kind: 'refresh_card', exceptionId: record.id, card: 'approval' },
          ...others.map((recipientId) => ({ kind: 'direct_message' as const, exceptionId: record.id, recipientId, message: 'closed' as const })),
        ],
        now,
      );
      return { ref: record.ref };
    },
    { behavior: 'immediate' },
  );
}
