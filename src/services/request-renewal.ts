import { eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { renewals } from '../db/schema';
import { assertIsAccountable } from '../domain/authority';
import { addCalendarDays, calendarDateIn } from '../domain/calendar';
import { DomainError } from '../domain/errors';
import { assertNoOpenRenewal, validateRenewal, type RenewalDraft, type RenewalField } from '../domain/renewal';
import { durationCeiling, type FieldErrors } from '../domain/request';
import type { ServiceContext } from './context';
import { getExceptionRecord, getRecordFor, type ExceptionRecord } from './exception-record';
import { openNextRound } from './next-round';

function assertRenewable(ctx: ServiceContext, record: ExceptionRecord, actorId: string): void {
  assertIsAccountable(actorId, record, 'renew');
  if (record.status !== 'active') {
    throw new DomainError('invalid_transition', `${record.ref} is ${record.status.replace('_', ' ')}; only an active exception can be renewed. Request a new exception with /exception request instead.`);
  }
  assertNoOpenRenewal(record.open ? (record.amendment ? 'change of terms' : 'renewal') : undefined, record.ref);
}

export interface RenewalForm {
  record: ExceptionRecord;
  defaultExpiry: string;
  maxDays: number;
  because: string;
  previousPercent?: number;
  /** The organisation's today, for the form's days ("choose Wed 5 May at the latest"). */
  today: string;
}

/** Checked before the renewal modal opens; returns the limits the form explains, counted from today. */
export function authorizeRenewal(ctx: ServiceContext, exceptionId: number, actorId: string): RenewalForm {
  const record = getRecordFor(ctx.db, exceptionId, actorId, ctx.roles);
  assertRenewable(ctx, record, actorId);
  const ceiling = durationCeiling(record.structural, ctx.rules, record.policy);
  const today = calendarDateIn(ctx.clock(), ctx.timeZone);
  return { record, defaultExpiry: addCalendarDays(today, Math.min(ceiling.days, ctx.rules.maxExceptionDays)), maxDays: ceiling.days, because: ceiling.because, previousPercent: previousPercent(record), today };
}

/** The highest progress any earlier renewal reported (approved or not): the next one must report more. */
function previousPercent(record: ExceptionRecord): number | undefined {
  const reported = record.renewals.filter((r) => r.status !== 'withdrawn').map((r) => r.percentComplete);
  return reported.length > 0 ? Math.max(...reported) : undefined;
}

/** `expiresOn`: when the exception still ends unless the renewal is approved, for the requester's confirmation. */
/** `number`: which renewal it is (1 for the first); `round` also counts changes of terms. */
export type RequestRenewalResult = { ok: true; ref: string; round: number; number: number; duplicate: boolean; expiresOn: string | null } | { ok: false; errors: FieldErrors<RenewalField> };

export function requestRenewal(ctx: ServiceContext, command: { exceptionId: number; actorId: string; input: RenewalDraft; submissionKey?: string }): RequestRenewalResult {
  const now = ctx.clock();
  const at = now.toISOString();
  return ctx.db.transaction(
    (tx) => {
      if (command.submissionKey) {
        const existing = tx.select({ round: renewals.round }).from(renewals).where(eq(renewals.submissionKey, command.submissionKey)).get();
        if (existing) {
          const { ref, expiresOn, renewals: asked } = getExceptionRecord(tx, command.exceptionId);
          return { ok: true as const, ref, round: existing.round, number: asked.find((r) => r.round === existing.round)?.number ?? asked.length, duplicate: true, expiresOn };
        }
      }
      const record = getRecordFor(tx, command.exceptionId, command.actorId, ctx.roles);
      assertRenewable(ctx, record, command.actorId);
      const today = calendarDateIn(now, ctx.timeZone);
      const validation = validateRenewal(command.input, today, durationCeiling(record.structural, ctx.rules, record.policy), previousPercent(record));
      if (!validation.ok) return validation;
      const { renewal } = validation;
      const round = openNextRound(ctx, tx, record, 'renewal_requested', now);
      tx.insert(renewals)
        .values({
          exceptionId: record.id,
          round,
          requestedBy: command.actorId,
          progress: renewal.progress,
          percentComplete: renewal.percentComplete,
          evidenceUrl: renewal.evidenceUrl ?? null,
          controlTestedOn: renewal.controlTestedOn,
          requestedExpiresOn: renewal.expiresOn,
          status: 'requested',
          submissionKey: command.submissionKey ?? null,
          createdAt: at,
        })
        .run();
      appendAuditEvent(tx, { exceptionId: record.id, actorId: command.actorId, kind: 'renewal.requested', payload: { round, ...renewal }, occurredAt: at });
      return { ok: true as const, ref: record.ref, round, number: record.renewals.length + 1, duplicate: false, expiresOn: record.expiresOn };
    },
    { behavior: 'immediate' },
  );
}
