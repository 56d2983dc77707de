import { and, eq, inArray } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { amendments, exceptions, renewals } from '../db/schema';
import { assertIsAccountable, mayRevoke } from '../domain/authority';
import { ClosingNote } from '../domain/closing';
import { DomainError } from '../domain/errors';
import { nextStatus, type LifecycleAction } from '../domain/lifecycle';
import type { ServiceContext } from './context';
import { getRecordFor, type ExceptionRecord } from './exception-record';
import { queueNotifications } from './notifications';

export interface Closing {
  record: ExceptionRecord;
  /** Closed by its owner or requester as remediated, or revoked by a committee member in review. */
  action: Extract<LifecycleAction, 'close' | 'revoke'>;
}

/**
 * The owner or requester closes once the gap is remediated. An approver or committee member who is not a party may
 * end it even when the owner protests (in review that is the committee's job); that is recorded as a revocation,
 * not as a remediation. Checked before the modal opens and again on submission.
 */
function closingBy(ctx: ServiceContext, record: ExceptionRecord, actorId: string): Closing {
  const action = mayRevoke(actorId, record, ctx.roles) ? 'revoke' : 'close';
  if (action === 'close') assertIsAccountable(actorId, record, 'close');
  nextStatus(record.status, action);
  return { record, action };
}

export function authorizeClose(ctx: ServiceContext, exceptionId: number, actorId: string): Closing {
  return closingBy(ctx, getRecordFor(ctx.db, exceptionId, actorId, ctx.roles), actorId);
}

/** `told`: the owner and requester other than whoever closed it, who get a DM saying so. */
export function closeException(ctx: ServiceContext, command: { exceptionId: number; actorId: string; note: string | undefined }): { ref: string; action: Closing['action']; told: string[] } {
  const now = ctx.clock();
  const at = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const { record, action } = closingBy(ctx, getRecordFor(tx, command.exceptionId, command.actorId, ctx.roles), command.actorId);
      const status = nextStatus(record.status, action);
      const note = ClosingNote.safeParse(command.note);
      if (!note.success) throw new DomainError('invalid_request', note.error.issues[0]?.message ?? 'Say why it ends.');
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
      // Nor is there anything left to change.
      const changeWithdrawn = tx
        .update(amendments)
        .set({ status: 'withdrawn', decidedAt: at })
        .where(and(eq(amendments.exceptionId, record.id), inArray(amendments.status, ['requested', 'pending_approval'])))
        .run();
      appendAuditEvent(tx, {
        exceptionId: record.id,
        actorId: command.actorId,
        kind: action === 'close' ? 'exception.closed' : 'exception.revoked',
        payload: { note: note.data, renewalWithdrawn: withdrawn.changes > 0, amendmentWithdrawn: changeWithdrawn.changes > 0 },
        occurredAt: at,
      });
      const others = [...new Set([record.ownerId, record.requesterId])].filter((id) => id !== command.actorId);
      queueNotifications(
        tx,
        [
          { kind: 'refresh_card', exceptionId: record.id, card: 'triage' },
          { kind: 'refresh_card', exceptionId: record.id, card: 'approval' },
          ...others.map((recipientId) => ({ kind: 'direct_message' as const, exceptionId: record.id, recipientId, message: action === 'close' ? ('closed' as const) : ('revoked' as const) })),
        ],
        now,
      );
      return { ref: record.ref, action, told: others };
    },
    { behavior: 'immediate' },
  );
}
