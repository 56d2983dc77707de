import { and, eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { exceptions } from '../db/schema';
import { DomainError } from '../domain/errors';
import type { ServiceContext } from './context';
import { getRecordFor, loadExceptionRecord, type ExceptionRecord } from './exception-record';
import { queueNotifications, type Notification } from './notifications';

export const OWNER_ANSWERS = ['accept', 'decline'] as const;
export type OwnerAnswer = (typeof OWNER_ANSWERS)[number];

export interface ConfirmOwnerCommand {
  exceptionId: number;
  actorId: string;
  answer: OwnerAnswer;
}

/**
 * The named owner accepts or declines being accountable for an exception. A Decline tells the requester and stops
 * approval (see decide-exception); pressing the same answer again records nothing and says the same.
 */
export function confirmOwner(ctx: ServiceContext, command: ConfirmOwnerCommand): ExceptionRecord {
  const now = ctx.clock();
  const at = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const record = getRecordFor(tx, command.exceptionId, command.actorId, ctx.roles);
      if (command.actorId !== record.ownerId) {
        throw new DomainError('not_authorised', `Only the named owner of ${record.ref} (<@${record.ownerId}>) can accept or decline owning it. Nothing was recorded.`);
      }
      const answered = record.ownerConfirmation === 'declined' ? 'decline' : record.ownerConfirmation === 'confirmed' ? 'accept' : null;
      if (answered === command.answer) return record;
      if (answered) {
        throw new DomainError(
          'conflict',
          `You already ${answered === 'accept' ? 'accepted' : 'declined'} owning ${record.ref}, so nothing was recorded. If that has changed, tell the requester (<@${record.requesterId}>) and the security team.`,
        );
      }
      // A Decline only matters while the request waits for its decision; afterwards the security team sorts it out.
      const undecided = record.round === 0 && (record.status === 'requested' || record.status === 'pending_approval');
      if (command.answer === 'decline' && !undecided) {
        throw new DomainError(
          'invalid_transition',
          `${record.ref} has already been decided, so it can no longer be declined here; nothing was recorded. If you should not own it, tell the security team.`,
        );
      }
      const touched = tx
        .update(exceptions)
        .set({ updatedAt: at })
        .where(and(eq(exceptions.id, record.id), eq(exceptions.status, record.status), eq(exceptions.ownerId, record.ownerId)))
        .run();
      if (touched.changes === 0) throw new DomainError('conflict', `${record.ref} changed a moment ago; look at it again. Nothing was recorded.`);
      appendAuditEvent(tx, {
        exceptionId: record.id,
        actorId: command.actorId,
        kind: command.answer === 'accept' ? 'exception.owner_accepted' : 'exception.owner_declined',
        payload: { ownerId: record.ownerId },
        occurredAt: at,
      });
      const notifications: Notification[] = [{ kind: 'refresh_card', exceptionId: record.id, card: 'triage' }];
      if (record.approvalMessage) notifications.push({ kind: 'refresh_card', exceptionId: record.id, card: 'approval' });
      if (command.answer === 'decline') notifications.push({ kind: 'direct_message', exceptionId: record.id, recipientId: record.requesterId, message: 'owner_declined' });
      queueNotifications(tx, notifications, now);
      return loadExceptionRecord(tx, record.id) ?? record;
    },
    { behavior: 'immediate' },
  );
}
