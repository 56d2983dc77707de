import { and, eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { auditEvents, exceptions } from '../db/schema';
import { amendmentRefused, changesBetween, type RequestTerms } from '../domain/amendment';
import { DomainError } from '../domain/errors';
import { nextStatus } from '../domain/lifecycle';
import type { ExceptionRequestDraft, FieldErrors, OwnerAccount, RequestField } from '../domain/request';
import { bypassAudit, checkSubmittedRequest } from './request-exception';
import { bindingOf, dropUnappliedBinding, saveBinding, type BypassChoice } from '../db/integrations';
import type { ServiceContext } from './context';
import type { OpenStage } from '../domain/shown-for';
import { getRecordFor, type ExceptionRecord, type Reader, type SentBack } from './exception-record';
import { queueNotifications, type Notification } from './notifications';

/** Only the requester amends, and only a request sent back to them; `sentBackEventId` is the send-back the form answers. */
function assertAmendable(record: ExceptionRecord, actorId: string, sentBackEventId: number | undefined): SentBack {
  if (actorId !== record.requesterId) {
    throw new DomainError('not_authorised', `Only the requester (<@${record.requesterId}>) can amend ${record.ref}: it was sent back to them.`);
  }
  if (!record.sentBack) {
    if (record.status === 'requested' || record.status === 'pending_approval') {
      throw new DomainError('invalid_transition', `${record.ref} is not sent back for changes: it waits for its ${record.open?.stage === 'decision' ? 'decision' : 'risk assessment'}, so there is nothing to amend now. Nothing was changed.`);
    }
    throw amendmentRefused(record.ref, record.status, 'amended');
  }
  if (sentBackEventId !== undefined && sentBackEventId !== record.sentBack.eventId) {
    throw new DomainError('stale', `${record.ref} was sent back to you again since, with other changes asked for: use the Amend button in the latest message. Nothing was changed.`);
  }
  return record.sentBack;
}

/** The send-back a message answered, as it was asked, even once amended, sent back again or withdrawn since. */
export function sentBackAnswered(db: Reader, exceptionId: number, eventId: number): SentBack | undefined {
  const event = db
    .select({ id: auditEvents.id, actorId: auditEvents.actorId, occurredAt: auditEvents.occurredAt, payload: auditEvents.payload })
    .from(auditEvents)
    .where(and(eq(auditEvents.id, eventId), eq(auditEvents.exceptionId, exceptionId), eq(auditEvents.kind, 'exception.changes_requested')))
    .get();
  if (!event) return undefined;
  const { stage, changes } = JSON.parse(event.payload) as { stage: OpenStage; changes: string };
  return { eventId: event.id, byId: event.actorId, at: event.occurredAt, stage, changes };
}

/** Checked before the prefilled form opens: the record, and the send-back the form answers. */
export function authorizeAmendment(ctx: ServiceContext, exceptionId: number, actorId: string, sentBackEventId: number): { record: ExceptionRecord; sentBack: SentBack } {
  const record = getRecordFor(ctx.db, exceptionId, actorId, ctx.roles);
  return { record, sentBack: assertAmendable(record, actorId, sentBackEventId) };
}

/** The request as it stands, in the terms an amendment is compared on. */
export function termsOf(record: ExceptionRecord): RequestTerms {
  return {
    policyKey: record.policy.key,
    title: record.title,
    scope: record.scope,
    justification: record.justification,
    compensatingControls: record.compensatingControls,
    ownerId: record.ownerId,
    expiresOn: record.requestedExpiresOn,
    affectedSystems: record.affectedSystems,
    externalRef: record.externalRef,
    structural: record.structural,
    structuralReason: record.structuralReason,
  };
}

export interface AmendRequestCommand {
  exceptionId: number;
  requesterId: string;
  input: ExceptionRequestDraft;
  sentBackEventId?: number;
  ownerAccount?: OwnerAccount;
  /** A bypass picked in the amended form replaces the one stored; `null` (the inputs emptied) drops it; undefined (no inputs offered) keeps it. */
  bypass?: BypassChoice | null;
}

export type AmendRequestResult = { ok: true; ref: string; changed: number } | { ok: false; errors: FieldErrors<RequestField> };

/**
 * Records the amended request (both versions stay in the trail, field by field) and puts it back before the
 * security team: it is assessed and decided afresh, on what it says now.
 */
export function amendRequest(ctx: ServiceContext, command: AmendRequestCommand): AmendRequestResult {
  const now = ctx.clock();
  const at = now.toISOString();
  const checked = checkSubmittedRequest(ctx, command.input, command.ownerAccount);
  if (!checked.ok) return checked;
  const { request, policy } = checked;
  if (!policy) return { ok: false, errors: { policy: 'That policy is not in the catalogue. Pick one from the list, or ask the security team to add it.' } };

  return ctx.db.transaction(
    (tx) => {
      const record = getRecordFor(tx, command.exceptionId, command.requesterId, ctx.roles);
      const sentBack = assertAmendable(record, command.requesterId, command.sentBackEventId);
      const amended: RequestTerms = {
        policyKey: request.policyKey,
        title: request.title,
        scope: request.scope,
        justification: request.justification,
        compensatingControls: request.compensatingControls,
        ownerId: request.ownerId,
        expiresOn: request.expiresOn,
        affectedSystems: request.affectedSystems ?? null,
        externalRef: request.externalRef ?? null,
        structural: request.structural,
        structuralReason: request.structuralReason ?? null,
      };
      const changes = changesBetween(termsOf(record), amended);
      const before = bindingOf(tx, record.id);
      const bypassChanged = command.bypass !== undefined && JSON.stringify(bypassAudit(command.bypass ?? undefined) ?? null) !== JSON.stringify(bypassAudit(before) ?? null);
      if (changes.length === 0 && !bypassChanged) {
        return { ok: false as const, errors: { title: 'Nothing was changed. Change what was asked for (see the top of this form), then submit the amended request.' } };
      }
      const moved = tx
        .update(exceptions)
        .set({
          policyId: policy.id,
          title: amended.title,
          scope: amended.scope,
          justification: amended.justification,
          compensatingControls: amended.compensatingControls,
          ownerId: amended.ownerId,
          requestedExpiresOn: amended.expiresOn,
          affectedSystems: amended.affectedSystems,
          externalRef: amended.externalRef,
          structural: amended.structural,
          structuralReason: amended.structuralReason,
          status: nextStatus(record.status, 'amend'),
          updatedAt: at,
        })
        .where(and(eq(exceptions.id, record.id), eq(exceptions.status, record.status)))
        .run();
      if (moved.changes === 0) throw new DomainError('conflict', `${record.ref} changed a moment ago; look at it again.`);
      appendAuditEvent(tx, {
        exceptionId: record.id,
        actorId: command.requesterId,
        kind: 'exception.amended',
        payload: { round: 0, answers: sentBack.eventId, changes, request: { ...request, requesterId: command.requesterId }, ...(bypassChanged ? { bypass: bypassAudit(command.bypass ?? undefined) ?? null } : {}) },
        occurredAt: at,
      });
      if (bypassChanged && command.bypass) saveBinding(tx, record.id, command.bypass, now);
      if (bypassChanged && command.bypass === null) dropUnappliedBinding(tx, record.id);
      const notifications: Notification[] = [{ kind: 'refresh_card', exceptionId: record.id, card: 'triage' }];
      // The decision message of the version sent back says it was amended; the amended one is decided in a new one.
      if (sentBack.stage === 'decision') notifications.push({ kind: 'refresh_card', exceptionId: record.id, card: 'approval' });
      // A new owner has not accepted anything yet: they are asked, as when a request names them.
      if (amended.ownerId !== record.ownerId && amended.ownerId !== record.requesterId) {
        notifications.push({ kind: 'direct_message', exceptionId: record.id, recipientId: amended.ownerId, message: 'owner_named' });
      }
      queueNotifications(tx, notifications, now);
      return { ok: true as const, ref: record.ref, changed: changes.length };
    },
    { behavior: 'immediate' },
  );
}
