import { and, eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { exceptions } from '../db/schema';
import { decidersFor } from '../domain/authority';
import { DomainError } from '../domain/errors';
import { nextStatus } from '../domain/lifecycle';
import { assertMayWithdraw, WithdrawalReason, withdrawalNote } from '../domain/withdrawal';
import type { ServiceContext } from './context';
import { getRecordFor, type ExceptionRecord } from './exception-record';
import { queueNotifications, type Card, type Notification } from './notifications';

/** Checked before the confirmation modal opens, and again on submission. */
export function authorizeWithdrawal(ctx: ServiceContext, exceptionId: number, actorId: string): ExceptionRecord {
  const record = getRecordFor(ctx.db, exceptionId, actorId, ctx.roles);
  assertMayWithdraw(record.ref, actorId, record);
  return record;
}

/**
 * Who was waited on, told in the thread of the card where they would have acted: the security team before the
 * assessment, the deciders who have not voted at the decision, whoever sent it back while it was with its requester.
 */
function toldOfWithdrawal(ctx: ServiceContext, record: ExceptionRecord): { card: Card; mentions: string[] } {
  const parties = new Set([record.requesterId, record.ownerId]);
  if (record.sentBack) return { card: record.sentBack.stage === 'decision' && record.approvalMessage ? 'approval' : 'triage', mentions: [record.sentBack.byId] };
  if (record.open?.stage === 'decision' && record.route) {
    const voted = new Set(record.decisions.map((d) => d.deciderId));
    const mentions = [...decidersFor(record.route, ctx.roles)].filter((id) => !parties.has(id) && !voted.has(id) && id !== record.assessment?.assessorId);
    return { card: 'approval', mentions };
  }
  return { card: 'triage', mentions: [...ctx.roles.securityTeam].filter((id) => !parties.has(id)) };
}

export interface WithdrawRequestCommand {
  exceptionId: number;
  actorId: string;
  reason: unknown;
}

export type WithdrawRequestResult = { ok: true; ref: string; told: string[] } | { ok: false; error: string };

/**
 * The requester withdraws a request not yet assessed: it is rejected, as SPEC §1 draws it, with a note saying they
 * withdrew it, and its cards lose their buttons. One sent back at its decision keeps its earlier assessment and votes
 * in the register and the trail, as what was done before it was sent back.
 */
export function withdrawRequest(ctx: ServiceContext, command: WithdrawRequestCommand): WithdrawRequestResult {
  const parsed = WithdrawalReason.safeParse(typeof command.reason === 'string' && command.reason.trim() === '' ? undefined : command.reason);
  if (!parsed.success) return { ok: false, error: parsed.error.issues[0]?.message ?? 'The reason could not be read.' };
  const note = withdrawalNote(parsed.data);
  const now = ctx.clock();
  const at = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      const record = getRecordFor(tx, command.exceptionId, command.actorId, ctx.roles);
      assertMayWithdraw(record.ref, command.actorId, record);
      const moved = tx
        .update(exceptions)
        .set({ status: nextStatus(record.status, 'withdraw'), closedAt: at, closingNote: note, updatedAt: at })
        .where(and(eq(exceptions.id, record.id), eq(exceptions.status, record.status)))
        .run();
      if (moved.changes === 0) throw new DomainError('conflict', `${record.ref} changed a moment ago; look at it again.`);
      const told = toldOfWithdrawal(ctx, record);
      appendAuditEvent(tx, {
        exceptionId: record.id,
        actorId: command.actorId,
        kind: 'exception.withdrawn',
        payload: { note, waitingFor: record.sentBack ? 'requester' : 'assessment' },
        occurredAt: at,
      });
      const notifications: Notification[] = [{ kind: 'refresh_card', exceptionId: record.id, card: 'triage' }];
      if (record.approvalMessage) notifications.push({ kind: 'refresh_card', exceptionId: record.id, card: 'approval' });
      notifications.push({ kind: 'thread_reply', exceptionId: record.id, card: told.card, message: 'request_withdrawn', mentions: told.mentions });
      if (record.ownerId !== record.requesterId) notifications.push({ kind: 'direct_message', exceptionId: record.id, recipientId: record.ownerId, message: 'withdrawn' });
      queueNotifications(tx, notifications, now);
      return { ok: true as const, ref: record.ref, told: told.mentions };
    },
    { behavior: 'immediate' },
  );
}
