import { eq } from 'drizzle-orm';
import { appendAuditEvent } from '../db/audit-chain';
import { exceptions, policies } from '../db/schema';
import { calendarDateIn, type CalendarDate } from '../domain/calendar';
import { formatExceptionRef } from '../domain/exception';
import { defaultExpiry, ownerProblem, validateRequest, type ExceptionRequest, type ExceptionRequestDraft, type FieldErrors, type OwnerAccount, type RequestField } from '../domain/request';
import type { ServiceContext } from './context';
import { saveBinding, type BypassChoice } from '../db/integrations';
import { IDENTITY_VENDORS, type IdentityVendor } from '../integrations/port';
import { queueNotifications } from './notifications';
import { catalogueIsEmpty } from './policy-catalogue';

/** What the request form offers before anyone types: today's default expiry, the limits to explain, and whether there is a policy to choose. */
export function requestFormDefaults(ctx: ServiceContext): { defaultExpiry: CalendarDate; maxExceptionDays: number; structuralMaxDays: number; catalogueEmpty: boolean; bypassVendors: IdentityVendor[] } {
  return {
    bypassVendors: IDENTITY_VENDORS.filter((vendor) => ctx.connectors.identity[vendor]),
    defaultExpiry: defaultExpiry(calendarDateIn(ctx.clock(), ctx.timeZone), ctx.rules),
    maxExceptionDays: ctx.rules.maxExceptionDays,
    structuralMaxDays: ctx.rules.structuralMaxDays,
    catalogueEmpty: catalogueIsEmpty(ctx.db),
  };
}

export interface RequestExceptionCommand {
  requesterId: string;
  input: ExceptionRequestDraft;
  /** Slack's view id: a retried submission of the same modal returns the exception it already created. */
  submissionKey?: string;
  /** A link to the conversation the request started from (a message shortcut or a watched channel). */
  originPermalink?: string;
  /** Slack's account of the chosen owner, when it could be looked up in time. */
  ownerAccount?: OwnerAccount;
  /** The bypass group and its people, already found in the vendor by the caller; stored with the request. */
  bypass?: BypassChoice;
}

/** What the audit trail records of a bypass: enough to know who was to be exempted where, without reading the register. */
export function bypassAudit(choice: BypassChoice | undefined) {
  return choice && { vendor: choice.vendor, groupId: choice.groupId, groupName: choice.groupName, people: choice.people.map(({ slackUserId, vendorUserId, email }) => ({ slackUserId, vendorUserId, email })) };
}

export type RequestExceptionResult =
  | { ok: true; exceptionId: number; ref: string; duplicate: boolean }
  | { ok: false; errors: FieldErrors<RequestField> };

/**
 * The request form as submitted, checked against the catalogue's policy (and its own limit) and the owner's Slack
 * account: one check for a new request and an amended one, so an amendment can never pass what a request may not.
 */
export function checkSubmittedRequest(
  ctx: ServiceContext,
  input: RequestExceptionCommand['input'],
  ownerAccount: RequestExceptionCommand['ownerAccount'],
): { ok: true; request: ExceptionRequest; policy?: { id: number; key: string; maxDays: number | null } } | { ok: false; errors: FieldErrors<RequestField> } {
  const policy = input.policy
    ? ctx.db.select({ id: policies.id, key: policies.key, maxDays: policies.maxDays }).from(policies).where(eq(policies.key, input.policy.trim())).get()
    : undefined;
  const validation = validateRequest(input, calendarDateIn(ctx.clock(), ctx.timeZone), ctx.rules, policy);
  const ownerError = ownerProblem(ownerAccount);
  if (ownerError) return { ok: false, errors: { ...(validation.ok ? {} : validation.errors), owner: ownerError } };
  if (!validation.ok) return validation;
  return { ok: true, request: validation.request, policy };
}

export function requestException(ctx: ServiceContext, command: RequestExceptionCommand): RequestExceptionResult {
  const now = ctx.clock();
  const checked = checkSubmittedRequest(ctx, command.input, command.ownerAccount);
  if (!checked.ok) return checked;
  const { request, policy } = checked;

  return ctx.db.transaction(
    (tx) => {
      if (command.submissionKey) {
        const existing = tx.select({ id: exceptions.id }).from(exceptions).where(eq(exceptions.submissionKey, command.submissionKey)).get();
        if (existing) return { ok: true as const, exceptionId: existing.id, ref: formatExceptionRef(existing.id), duplicate: true };
      }
      if (!policy) {
        return { ok: false as const, errors: { policy: 'That policy is not in the catalogue. Pick one from the list, or ask the security team to add it.' } };
      }
      const at = now.toISOString();
      const inserted = tx
        .insert(exceptions)
        .values({
          policyId: policy.id,
          title: request.title,
          scope: request.scope,
          justification: request.justification,
          compensatingControls: request.compensatingControls,
          affectedSystems: request.affectedSystems ?? null,
          externalRef: request.externalRef ?? null,
          requesterId: command.requesterId,
          ownerId: request.ownerId,
          structural: request.structural,
          structuralReason: request.structuralReason ?? null,
          requestedExpiresOn: request.expiresOn,
          status: 'requested',
          submissionKey: command.submissionKey ?? null,
          originPermalink: command.originPermalink ?? null,
          createdAt: at,
          updatedAt: at,
        })
        .returning({ id: exceptions.id })
        .get();
      appendAuditEvent(tx, {
        exceptionId: inserted.id,
        actorId: command.requesterId,
        kind: 'exception.requested',
        payload: { ...request, requesterId: command.requesterId, ...(command.bypass ? { bypass: bypassAudit(command.bypass) } : {}) },
        occurredAt: at,
      });
      if (command.bypass) saveBinding(tx, inserted.id, command.bypass, now);
      queueNotifications(
        tx,
        [
          { kind: 'post_card', exceptionId: inserted.id, card: 'triage', channel: ctx.channels.approvals },
          { kind: 'direct_message', exceptionId: inserted.id, recipientId: command.requesterId, message: 'receipt' },
          ...(request.ownerId !== command.requesterId
            ? [{ kind: 'direct_message' as const, exceptionId: inserted.id, recipientId: request.ownerId, message: 'owner_named' as const }]
            : []),
        ],
        now,
      );
      return { ok: true as const, exceptionId: inserted.id, ref: formatExceptionRef(inserted.id), duplicate: false };
    },
    { behavior: 'immediate' },
  );
}
