import { DomainError } from './errors';
import { STATUS_LABELS, type ExceptionStatus } from './exception';

export const LIFECYCLE_ACTIONS = ['assess', 'approve', 'reject', 'withdraw', 'expire', 'close', 'revoke', 'renew', 'send_back', 'amend'] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

/**
 * SPEC §1 as data: the only moves an exception can make. Anything missing here is refused.
 * Sent back for changes (issue 11), a request waits for its requester as `requested` until it is amended (the trail,
 * not a status, says it was sent back: see domain/amendment); the amended request is assessed and decided afresh.
 * Withdrawn by its requester while it still waits for its assessment (or was sent back to them), it is `rejected`, as
 * the diagram draws it; the trail's `exception.withdrawn` says nobody rejected it (see domain/withdrawal). Once
 * assessed it can only be rejected or sent back: the diagram has no withdraw arrow from `pending_approval`.
 */
export const TRANSITIONS: Readonly<Record<ExceptionStatus, Partial<Record<LifecycleAction, ExceptionStatus>>>> = {
  requested: { assess: 'pending_approval', reject: 'rejected', withdraw: 'rejected', send_back: 'requested', amend: 'requested' },
  pending_approval: { approve: 'active', reject: 'rejected', send_back: 'requested' },
  active: { expire: 'expired', close: 'closed', revoke: 'revoked', renew: 'active' },
  // A renewal approved after the exception lapsed brings it back, with an expiry counted from the approval.
  expired: { renew: 'active' },
  rejected: {},
  closed: {},
  revoked: {},
};

const ACTION_VERBS: Record<LifecycleAction, string> = {
  assess: 'assessed',
  approve: 'approved',
  reject: 'rejected',
  withdraw: 'withdrawn',
  expire: 'expired',
  close: 'closed',
  revoke: 'revoked',
  renew: 'renewed',
  send_back: 'sent back for changes',
  amend: 'amended',
};

export function canTransition(from: ExceptionStatus, action: LifecycleAction): boolean {
  return TRANSITIONS[from][action] !== undefined;
}

export function transitionRefused(from: ExceptionStatus, action: LifecycleAction): DomainError {
  return new DomainError('invalid_transition', `This exception is ${STATUS_LABELS[from].toLowerCase()}, so it cannot be ${ACTION_VERBS[action]}.`);
}

export function nextStatus(from: ExceptionStatus, action: LifecycleAction): ExceptionStatus {
  const to = TRANSITIONS[from][action];
  if (!to) throw transitionRefused(from, action);
  return to;
}
