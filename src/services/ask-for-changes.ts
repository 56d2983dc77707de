import { and, eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { assessments, decisions, exceptions } from '../db/schema';
import { amendmentRefused, assertMaySendBack, ChangesRequested } from '../domain/amendment';
import { DomainError } from '../domain/errors';
import { nextStatus } from '../domain/lifecycle';
import { assertShownFor, type ShownFor } from '../domain/shown-for';
import type { ServiceContext } from './context';
import { currentRoundOf, getRecordFor, type ExceptionRecord } from './exception-record';
import { queueNotifications, type Notification } from './notifications';

/** Only a first request still waiting for its assessment or its decision is sent back, as it was shown, by whom that stage names. */
function assertSendable(ctx: ServiceContext, record: ExceptionRecord, actorId: string, shown: ShownFor | undefined): 'assessment' | 'decision' {
  if (record.sentBack) throw new DomainError('invalid_transition', `${record.ref} was already sent back to <@${record.requesterId}> for changes; it waits for them to amend it. Nothing was changed.`);
  const stage = record.open?.stage;
  if (record.amendment && stage) {
    throw new DomainError(
      'invalid_transition',
      `The change of terms of ${record.ref} cannot be sent back for changes: reject it saying what to change, and the owner can ask again with \`/exception amend ${record.ref}\`. Nothing was changed.`,
    );
  }
  if (record.round > 0) {
    throw new DomainError(
      'invalid_transition',
      `Renewal ${record.renewal?.number ?? record.round} of ${record.ref} cannot be sent back for changes: a renewal stands on its evidence. Reject it saying what is missing; the owner can ask again with more. Nothing was changed.`,
    );
  }
  if (!stage) throw amendmentRefused(record.ref, record.status, 'sent back');
  if (shown) assertShownFor(shown, currentRoundOf(record), stage);
  assertMaySendBack(actorId, { ...record, assessorId: record.assessment?.assessorId }, stage, record.route, ctx.roles);
  return stage;
}

/** Checked before the "what to change" modal opens, so nobody writes what they may not send. */
export function authorizeSendBack(ctx: ServiceContext, exceptionId: number, actorId: string, shown?: ShownFor): ExceptionRecord {
  const record = getRecordFor(ctx.db, exceptionId, actorId, ctx.roles);
  assertSendable(ctx, record, actorId, shown);
  return record;
}

export interface AskForChangesCommand {
  exceptionId: number;
  actorId: string;
  changes: unknown;
  shown?: ShownFor;
}

export type AskForChangesResult = { ok: true; ref: string; requesterId: string } | { ok: false; error: string };

/**
 * Sends the request back to its requester. At its decision, the assessment and any votes were given to the version
 * sent back: their rows go (the trail keeps them, with what they were), so that the amended request is assessed and
 * decided afresh in the same round.
 */
export function askForChanges(ctx: ServiceContext, command: AskForChangesCommand): AskForChangesResult {
  const parsed = ChangesRequested.safeParse(command.changes);
  if (!parsed.success) return { ok: false, error: parsed.error.issues[0]?.message ?? 'Say what to change.' };
  const changes = parsed.data;
  const now = ctx.clock();
  const at = now.toISOString();

  return ctx.db.transaction(
    (tx) => {
      const record = getRecordFor(tx, command.exceptionId, command.actorId, ctx.roles);
      const stage = assertSendable(ctx, record, command.actorId, command.shown);
      const moved = tx
        .update(exceptions)
        .set({ status: nextStatus(record.status, 'send_back'), updatedAt: at, ...(stage === 'decision' ? { route: null, riskScore: null } : {}) })
        .where(and(eq(exceptions.id, record.id), eq(exceptions.status, record.status)))
        .run();
      if (moved.changes === 0) throw new DomainError('conflict', `${record.ref} changed a moment ago; look at it again.`);
      if (stage === 'decision') {
        tx.delete(decisions).where(and(eq(decisions.exceptionId, record.id), eq(decisions.round, 0))).run();
        tx.delete(assessments).where(and(eq(assessments.exceptionId, record.id), eq(assessments.round, 0))).run();
      }
      appendAuditEvent(tx, {
        exceptionId: record.id,
        actorId: command.actorId,
        kind: 'exception.changes_requested',
        payload: {
          round: 0,
          stage,
          changes,
          // What stops counting: kept here too, so the history says what the amended request is assessed afresh instead of.
          setAside: stage === 'decision' ? { assessment: record.assessment, votes: record.decisions, route: record.route } : null,
        },
        occurredAt: at,
      });
      const notifications: Notification[] = [
        { kind: 'refresh_card', exceptionId: record.id, card: 'triage' },
        ...(stage === 'decision' ? [{ kind: 'refresh_card' as const, exceptionId: record.id, card: 'approval' as const }] : []),
        { kind: 'direct_message', exceptionId: record.id, recipientId: record.requesterId, message: 'changes_requested' },
      ];
      queueNotifications(tx, notifications, now);
      return { ok: true as const, ref: record.ref, requesterId: record.requesterId };
    },
    { behavior: 'immediate' },
  );
}
