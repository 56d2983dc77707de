import { DomainError } from './errors';
import { STATUS_LABELS, type ExceptionStatus } from './exception';

export const LIFECYCLE_ACTIONS = ['assess', 'approve', 'reject', 'withdraw', 'expire', 'close', 'revoke', 'renew'] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

/** SPEC §1 as data: the only moves an exception can make. Anything missing here is refused. */
export const TRANSITIONS: Readonly<Record<ExceptionStatus, Partial<Record<LifecycleAction, ExceptionStatus>>>> = {
  requested: { assess: 'pending_approval', reject: 'rejected', withdraw: 'rejected' },
  pending_approval: { approve: 'active', reject: 'rejected' },
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
