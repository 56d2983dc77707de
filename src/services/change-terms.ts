import { eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { amendments } from '../db/schema';
import { validateTermChange, type TermChangeDraft, type TermChangeField } from '../domain/amendment';
import { assertIsAccountable } from '../domain/authority';
import { DomainError } from '../domain/errors';
import type { FieldErrors } from '../domain/request';
import { assertNoOpenRenewal } from '../domain/renewal';
import type { ServiceContext } from './context';
import { getRecordFor, type ExceptionRecord } from './exception-record';
import { openNextRound } from './next-round';

/**
 * A change to the terms an active exception was approved on (scope, affected systems, compensating control): asked
 * for by its owner or requester, then assessed and decided as a round of its own, like a renewal. The exception
 * stays active on its old terms until the change is approved; its expiry does not move.
 */

function assertChangeable(record: ExceptionRecord, actorId: string): void {
  assertIsAccountable(actorId, record, 'change the terms of');
  if (record.status !== 'active') {
    throw new DomainError(
      'invalid_transition',
      `${record.ref} is ${record.status.replace('_', ' ')}; only an active exception's terms can be changed. ${record.status === 'expired' ? 'Request a new exception with `/exception request`.' : 'Wait for it to be decided.'}`,
    );
  }
  assertNoOpenRenewal(record.open ? (record.amendment ? 'change of terms' : 'renewal') : undefined, record.ref);
}

/** Checked before the form opens, so nobody writes a change they may not submit; returns the record it prefills from. */
export function authorizeTermChange(ctx: ServiceContext, exceptionId: number, actorId: string): ExceptionRecord {
  const record = getRecordFor(ctx.db, exceptionId, actorId, ctx.roles);
  assertChangeable(record, actorId);
  return record;
}

export type ChangeTermsResult = { ok: true; ref: string; round: number; duplicate: boolean } | { ok: false; errors: FieldErrors<TermChangeField> };

export function requestTermChange(ctx: ServiceContext, command: { exceptionId: number; actorId: string; input: TermChangeDraft; submissionKey?: string }): ChangeTermsResult {
  const now = ctx.clock();
  const at = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      if (command.submissionKey) {
        const existing = tx.select({ round: amendments.round }).from(amendments).where(eq(amendments.submissionKey, command.submissionKey)).get();
        if (existing) return { ok: true as const, ref: getRecordFor(tx, command.exceptionId, command.actorId, ctx.roles).ref, round: existing.round, duplicate: true };
      }
      const record = getRecordFor(tx, command.exceptionId, command.actorId, ctx.roles);
      assertChangeable(record, command.actorId);
      const validation = validateTermChange(command.input, record);
      if (!validation.ok) return validation;
      const { change, changes } = validation;
      const round = openNextRound(ctx, tx, record, 'amendment_requested', now);
      tx.insert(amendments)
        .values({
          exceptionId: record.id,
          round,
          requestedBy: command.actorId,
          reason: change.reason,
          scope: change.scope,
          affectedSystems: change.affectedSystems,
          compensatingControls: change.compensatingControls,
          previousScope: record.scope,
          previousAffectedSystems: record.affectedSystems,
          previousCompensatingControls: record.compensatingControls,
          status: 'requested',
          submissionKey: command.submissionKey ?? null,
          createdAt: at,
        })
        .run();
      appendAuditEvent(tx, { exceptionId: record.id, actorId: command.actorId, kind: 'amendment.requested', payload: { round, ...change, changes }, occurredAt: at });
      return { ok: true as const, ref: record.ref, round, duplicate: false };
    },
    { behavior: 'immediate' },
  );
}
