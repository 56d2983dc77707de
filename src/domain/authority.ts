import { DomainError } from './errors';
import type { ApprovalRoute } from './exception';
import type { Roles } from './roles';

export interface Parties {
  requesterId: string;
  ownerId: string;
}

/** The parties to one round's decision: also whoever assessed that round. */
export interface DecisionParties extends Parties {
  assessorId?: string | null;
}

/** SPEC §1: nobody assesses or decides an exception they requested or own. */
function assertIndependent(actorId: string, parties: Parties, verb: string): void {
  if (actorId === parties.requesterId || actorId === parties.ownerId) {
    const role = actorId === parties.requesterId ? 'requested' : 'own';
    throw new DomainError(
      'separation_of_duties',
      `You cannot ${verb} an exception you ${role}: separation of duties. Ask another member of the team to do it.`,
    );
  }
}

export function assertMayAssess(actorId: string, parties: Parties, roles: Roles): void {
  if (!roles.securityTeam.has(actorId)) {
    throw new DomainError('not_authorised', 'Only the security team can assess risk. Ask a member of the security team to assess it.');
  }
  assertIndependent(actorId, parties, 'assess');
}

export function decidersFor(route: ApprovalRoute, roles: Roles): ReadonlySet<string> {
  return route === 'committee' ? roles.committee : roles.approvers;
}

/** Who of a route's deciders may decide a round: not its requester, owner or assessor (separation of duties). */
export function eligibleDeciders(pool: readonly string[], parties: DecisionParties): string[] {
  return pool.filter((id) => id !== parties.requesterId && id !== parties.ownerId && id !== parties.assessorId);
}

export function assertMayDecide(actorId: string, parties: DecisionParties, route: ApprovalRoute, roles: Roles): void {
  if (!decidersFor(route, roles).has(actorId)) {
    throw new DomainError(
      'not_authorised',
      route === 'committee'
        ? 'This exception is decided by the steering committee, and you are not on it. Ask a committee member to decide.'
        : 'Only the CISO or a delegated approver can decide this exception. Ask one of the approvers.',
    );
  }
  assertIndependent(actorId, parties, 'approve or reject');
  if (parties.assessorId === actorId) {
    throw new DomainError(
      'separation_of_duties',
      'You assessed the risk of this round, so you cannot also decide it: separation of duties. Another approver (or committee member) decides.',
    );
  }
}

/** Whether the owner has said they own it: a requester who names themselves is confirmed from the start. */
export const OWNER_CONFIRMATIONS = ['confirmed', 'unconfirmed', 'declined'] as const;
export type OwnerConfirmation = (typeof OWNER_CONFIRMATIONS)[number];

/** What follows the owner's name wherever it is shown. */
export const OWNER_CONFIRMATION_NOTES: Record<OwnerConfirmation, string> = { confirmed: '', unconfirmed: ' (owner not yet confirmed)', declined: ' (declined to be owner)' };

/** `answer` is the owner's latest Accept or Decline, if any. */
export function ownerConfirmationOf(parties: Parties, answer: 'accepted' | 'declined' | null): OwnerConfirmation {
  if (answer === 'declined') return 'declined';
  return answer === 'accepted' || parties.requesterId === parties.ownerId ? 'confirmed' : 'unconfirmed';
}

/** Nobody is accountable for an exception its named owner declined, so it is not approved until asked again. */
export function assertOwnerHasNotDeclined(ref: string, ownerId: string, confirmation: OwnerConfirmation): void {
  if (confirmation === 'declined') {
    throw new DomainError(
      'owner_declined',
      `${ref} cannot be approved: its named owner <@${ownerId}> declined to own it, so nobody is accountable for it. Reject it; the requester can ask again naming the right owner. Nothing was changed.`,
    );
  }
}

/** Closing and renewing belong to the people accountable for the exception: its owner and its requester. */
export function assertIsAccountable(actorId: string, parties: Parties, verb: 'close' | 'renew' | 'change the terms of'): void {
  if (actorId !== parties.ownerId && actorId !== parties.requesterId) {
    throw new DomainError('not_authorised', `Only the owner or the requester can ${verb} this exception. Ask the owner (<@${parties.ownerId}>) to do it.`);
  }
}

/** Who may look at the whole register: the people who run the process, and read-only auditors. */
export function maySeeEverything(actorId: string, roles: Roles): boolean {
  return roles.securityTeam.has(actorId) || roles.approvers.has(actorId) || roles.committee.has(actorId) || roles.auditors.has(actorId);
}

/** An exception is visible to its requester and owner and to everyone who may see the whole register. */
export function maySee(actorId: string, parties: Parties, roles: Roles): boolean {
  return actorId === parties.requesterId || actorId === parties.ownerId || maySeeEverything(actorId, roles);
}

/**
 * The one answer to someone who may not see an exception, the same whether it exists or not, so that a refusal
 * tells a bystander nothing: not its owner, not its status, not even that it exists.
 */
export function hiddenFrom(ref: string): DomainError {
  return new DomainError(
    'not_authorised',
    `There is no exception ${ref} that you can see: an exception is shown only to its requester and owner, the security team, approvers, the committee and auditors. \`/exception list\` shows the ones you requested or own.`,
  );
}

/** Revoking is the CISO's, a delegate's or the committee's: never the requester's or owner's (they close instead). */
export function mayRevoke(actorId: string, parties: Parties, roles: Roles): boolean {
  return actorId !== parties.requesterId && actorId !== parties.ownerId && (roles.approvers.has(actorId) || roles.committee.has(actorId));
}
