import { z } from 'zod';
import { assertMayAssess, assertMayDecide, type DecisionParties } from './authority';
import { DomainError } from './errors';
import type { ApprovalRoute, ExceptionStatus } from './exception';
import { fieldErrorsFrom, type FieldErrors } from './field-errors';
import { CONTROL_CHARACTERS, ExceptionRequestText, type ExceptionRequest } from './request';
import type { Roles } from './roles';
import { StaleInteraction, type MessageLocation, type OpenStage } from './shown-for';

/**
 * Issue 11, "Ask for changes": a request can be sent back to its requester instead of being rejected. The rules:
 * - While it waits for its risk assessment, the security team sends it back; while it waits for its decision, the
 *   people who may decide it do (the approvers on the fast path, the committee otherwise). Separation of duties holds
 *   as for assessing and deciding: never the requester or owner, and never the assessor of the round being decided.
 * - Sent back, it waits for its requester: nobody assesses or decides it, and nobody is nudged about it.
 * - Only its requester amends it. The amended request waits for its assessment again: an assessment or votes given
 *   to the version sent back no longer count (the trail keeps them, with both versions, field by field).
 * - An active exception is never edited in place. Its scope, affected systems and compensating control are what was
 *   approved; changing them is an amendment that is assessed and approved again, and until the new terms are
 *   approved the exception stays active on its old ones. Its expiry moves only by renewal, and another policy or
 *   owner is another request. `/exception amend` offers that change (`validateTermChange`); it is a round of its
 *   own, numbered with the renewals, assessed and decided like one.
 */

/** What the requester is asked to change: a sentence they can act on, like a rejection's reason. */
export const ChangesRequested = z
  .string({ error: 'Say what to change: the requester amends the request from what you write here.' })
  .trim()
  .min(10, { error: 'Say what to change in at least 10 characters: the requester amends the request from what you write here.' })
  .max(2000, { error: 'What to change must be at most 2000 characters.' })
  .refine((value) => !CONTROL_CHARACTERS.test(value), { error: 'What to change contains control characters; paste it as plain text.' });

/** Who may send a request back at the stage it waits for; throws the refusal they can act on. */
export function assertMaySendBack(actorId: string, parties: DecisionParties, stage: OpenStage, route: ApprovalRoute | null, roles: Roles): void {
  if (stage === 'assessment') {
    if (!roles.securityTeam.has(actorId)) {
      throw new DomainError('not_authorised', 'While a request waits for its risk assessment, only the security team can ask for changes. Ask a member of the security team.');
    }
    assertMayAssess(actorId, parties, roles);
    return;
  }
  if (!route) throw new DomainError('invalid_transition', 'This request has no approval route yet, so nobody decides it; it cannot be sent back at its decision.');
  assertMayDecide(actorId, parties, route, roles);
}

/** The request's own fields, as amended: everything the requester typed, none of what the process added. */
export const AMENDABLE_FIELDS = [
  'policyKey',
  'title',
  'scope',
  'justification',
  'compensatingControls',
  'ownerId',
  'expiresOn',
  'affectedSystems',
  'externalRef',
  'structural',
  'structuralReason',
] as const;
export type AmendableField = (typeof AMENDABLE_FIELDS)[number];

export type RequestTerms = Pick<ExceptionRequest, 'policyKey' | 'title' | 'scope' | 'justification' | 'compensatingControls' | 'ownerId' | 'expiresOn' | 'structural'> & {
  affectedSystems: string | null;
  externalRef: string | null;
  structuralReason: string | null;
};

/** The words the history and the cards use for each field. */
export const AMENDABLE_FIELD_LABELS: Record<AmendableField, string> = {
  policyKey: 'Policy',
  title: 'Title',
  scope: 'Scope',
  justification: 'Business justification',
  compensatingControls: 'Compensating control',
  ownerId: 'Owner',
  expiresOn: 'Requested expiry',
  affectedSystems: 'Affected systems',
  externalRef: 'External reference',
  structural: 'Structural',
  structuralReason: 'Structural reason',
};

export interface FieldChange {
  field: AmendableField;
  from: string | boolean | null;
  to: string | boolean | null;
}

/** Both versions, field by field, in the form's order; an empty list means nothing was changed. */
export function changesBetween(before: RequestTerms, after: RequestTerms): FieldChange[] {
  return AMENDABLE_FIELDS.filter((field) => before[field] !== after[field]).map((field) => ({ field, from: before[field], to: after[field] }));
}

/** The terms an active exception was approved on: changing one needs assessment and approval again. */
export const SUBSTANTIVE_FIELDS = ['scope', 'affectedSystems', 'compensatingControls'] as const satisfies readonly AmendableField[];

/** What an active exception's amendment may not change at all, and what to do instead. */
const NOT_BY_AMENDMENT: Partial<Record<AmendableField, string>> = {
  expiresOn: 'its expiry moves only by renewal (`/exception renew`)',
  policyKey: 'an exception from another policy is another request (`/exception request`)',
  ownerId: 'another owner is another request, so that the new owner accepts it',
  structural: 'whether it is structural was decided with its duration; that is a renewal or a new request',
};

export type ActiveAmendmentPlan = { needsReapproval: false } | { needsReapproval: true; substantive: AmendableField[] };

/**
 * How an amendment of an active exception would be handled: substantive changes are assessed and approved again,
 * the exception staying active on its old terms meanwhile; wording alone (title, justification, external reference)
 * needs no new decision. Throws when it changes what an amendment cannot.
 */
export function activeAmendmentPlan(ref: string, changes: readonly FieldChange[]): ActiveAmendmentPlan {
  const refused = changes.flatMap((c) => (NOT_BY_AMENDMENT[c.field] ? [NOT_BY_AMENDMENT[c.field]!] : []));
  if (refused.length > 0) throw new DomainError('invalid_request', `${ref} is active, and ${refused.join('; ')}. Nothing was changed.`);
  const substantive = changes.map((c) => c.field).filter((field) => (SUBSTANTIVE_FIELDS as readonly AmendableField[]).includes(field));
  return substantive.length > 0 ? { needsReapproval: true, substantive } : { needsReapproval: false };
}

/** Only a request not yet decided is sent back or amended; an active exception's terms change as `activeAmendmentPlan` says. */
export function amendmentRefused(ref: string, status: ExceptionStatus, verb: 'sent back' | 'amended'): DomainError {
  if (status === 'active' || status === 'expired') {
    return new DomainError(
      'invalid_transition',
      `${ref} is already decided (${status}), so it cannot be ${verb}. Its scope, affected systems and compensating control are the terms it was approved on: ${status === 'active' ? `propose a change with \`/exception amend ${ref}\`; it is assessed and approved again, and until then it stays on its old terms` : 'changing them needs assessment and approval again'}. Its expiry moves by renewal.`,
    );
  }
  return new DomainError('invalid_transition', `${ref} is ${status.replace('_', ' ')}, so it cannot be ${verb}. Nothing was changed.`);
}

/** The answer to anyone who tries to assess or decide a request while it waits for its requester. */
export function sentBackRefusal(ref: string, requesterId: string, verb: 'assessed' | 'decided'): DomainError {
  return new DomainError(
    'invalid_transition',
    `${ref} was sent back to <@${requesterId}> for changes, so it cannot be ${verb} now: once they amend it, it waits for its risk assessment again. Nothing was changed.`,
  );
}

/**
 * Each version is decided on a message of its own: a decision button pressed on the message of a version that was
 * sent back (an old copy still showing its buttons) would otherwise act on the amended request, unseen.
 */
export function assertDecidedOnThisVersion(amended: boolean, pressedOn: MessageLocation | undefined, current: MessageLocation | null): void {
  if (!amended || !pressedOn || !current || (pressedOn.channel === current.channel && pressedOn.ts === current.ts)) return;
  const lead = 'This was for the version sent back for changes; the amended request is decided here';
  throw new StaleInteraction(`This was for the version sent back for changes; the amended request is decided on its own decision message. Nothing was changed.`, lead, current);
}

/** The fields of a change to an active exception's terms, in the form's order. */
export const TERM_CHANGE_FIELDS = ['scope', 'affectedSystems', 'compensatingControls', 'reason'] as const;
export type TermChangeField = (typeof TERM_CHANGE_FIELDS)[number];
export type TermChangeDraft = Partial<Record<TermChangeField, string>>;

/** The terms a change of an active exception can touch: exactly the substantive ones. */
export type ActiveTerms = Pick<RequestTerms, 'scope' | 'compensatingControls' | 'affectedSystems'>;

export interface TermChange extends ActiveTerms {
  reason: string;
}

const TermChangeText = ExceptionRequestText.pick({ scope: true, compensatingControls: true, affectedSystems: true }).extend({
  reason: z
    .string({ error: 'Say why the terms change: the security team assesses the change from it.' })
    .trim()
    .min(10, { error: 'Say why the terms change in at least 10 characters: the security team assesses the change from it.' })
    .max(2000, { error: 'Why the terms change must be at most 2000 characters; link to a document for the details.' })
    .refine((value) => !CONTROL_CHARACTERS.test(value), { error: 'Why the terms change contains control characters; paste it as plain text.' }),
});

export type TermChangeValidation = { ok: true; change: TermChange; changes: FieldChange[] } | { ok: false; errors: FieldErrors<TermChangeField> };

/** A proposed change of an active exception's terms: each field as a request's, and at least one of them different. */
export function validateTermChange(input: TermChangeDraft, current: ActiveTerms): TermChangeValidation {
  const parsed = TermChangeText.safeParse(input);
  if (!parsed.success) return { ok: false, errors: fieldErrorsFrom<TermChangeField>(parsed.error.issues) };
  const change: TermChange = { ...parsed.data, affectedSystems: parsed.data.affectedSystems ?? null };
  const changes = SUBSTANTIVE_FIELDS.filter((field) => change[field] !== current[field]).map((field) => ({ field, from: current[field], to: change[field] }));
  if (changes.length === 0) {
    return { ok: false, errors: { scope: 'Nothing is changed yet: edit the scope, the affected systems or the compensating control, or cancel.' } };
  }
  return { ok: true, change, changes };
}

/** A change of terms as stored: the new terms beside the ones they replace. */
export interface ProposedTerms extends ActiveTerms {
  previousScope: string;
  previousAffectedSystems: string | null;
  previousCompensatingControls: string;
}

const PREVIOUS = { scope: 'previousScope', affectedSystems: 'previousAffectedSystems', compensatingControls: 'previousCompensatingControls' } as const;

/** What a change of terms changes, field by field, in the form's order. */
export function termChangesOf(proposed: ProposedTerms): FieldChange[] {
  return SUBSTANTIVE_FIELDS.filter((field) => proposed[PREVIOUS[field]] !== proposed[field]).map((field) => ({ field, from: proposed[PREVIOUS[field]], to: proposed[field] }));
}
