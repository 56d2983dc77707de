import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors';
import { EXCEPTION_STATUSES, type ExceptionStatus } from '../../src/domain/exception';
import { LIFECYCLE_ACTIONS, canTransition, nextStatus, type LifecycleAction } from '../../src/domain/lifecycle';

/** SPEC §1, the diagram read arrow by arrow. */
const ALLOWED: [ExceptionStatus, LifecycleAction, ExceptionStatus][] = [
  ['requested', 'assess', 'pending_approval'],
  ['requested', 'withdraw', 'rejected'],
  ['requested', 'reject', 'rejected'],
  // Sent back for changes and amended, a request waits for its assessment again (issue 11).
  ['requested', 'send_back', 'requested'],
  ['requested', 'amend', 'requested'],
  ['pending_approval', 'send_back', 'requested'],
  ['pending_approval', 'approve', 'active'],
  ['pending_approval', 'reject', 'rejected'],
  ['active', 'expire', 'expired'],
  ['active', 'renew', 'active'],
  ['active', 'close', 'closed'],
  ['active', 'revoke', 'revoked'],
  // A renewal approved after the exception lapsed reactivates it (issue 3).
  ['expired', 'renew', 'active'],
];

/** Nothing is left open: every pair not in ALLOWED is refused (the diagram draws withdraw only from `requested`). */
const UNSETTLED: [ExceptionStatus, LifecycleAction][] = [];

const isListed = (list: readonly (readonly [ExceptionStatus, LifecycleAction, ...unknown[]])[], from: ExceptionStatus, action: LifecycleAction) =>
  list.some(([f, a]) => f === from && a === action);

const REFUSED: [ExceptionStatus, LifecycleAction][] = EXCEPTION_STATUSES.flatMap((from) =>
  LIFECYCLE_ACTIONS.filter((action) => !isListed(ALLOWED, from, action) && !isListed(UNSETTLED, from, action)).map(
    (action): [ExceptionStatus, LifecycleAction] => [from, action],
  ),
);

function refusal(from: ExceptionStatus, action: LifecycleAction): DomainError {
  try {
    nextStatus(from, action);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error(`${from} --${action}--> was allowed`);
}

describe('lifecycle transitions (SPEC §1)', () => {
  it('the allowed, refused and unsettled tables together cover every status × action exactly once', () => {
    expect(ALLOWED.length + REFUSED.length + UNSETTLED.length).toBe(EXCEPTION_STATUSES.length * LIFECYCLE_ACTIONS.length);
  });

  it.each(ALLOWED)('%s --%s--> %s', (from, action, to) => {
    expect(canTransition(from, action)).toBe(true);
    expect(nextStatus(from, action)).toBe(to);
  });

  it.each(REFUSED)('%s --%s--> is refused with invalid_transition', (from, action) => {
    expect(canTransition(from, action)).toBe(false);
    const error = refusal(from, action);
    expect(error.code).toBe('invalid_transition');
    expect(error.message.length).toBeGreaterThan(0);
  });

  it.each(['rejected', 'closed', 'revoked'] as const)('%s is terminal: no action moves it', (status) => {
    for (const action of LIFECYCLE_ACTIONS) expect(canTransition(status, action)).toBe(false);
  });

  it.each([
    ['requested', 'approve'],
    ['pending_approval', 'assess'],
    ['active', 'approve'],
    ['rejected', 'approve'],
  ] as const)('skipping or repeating a stage is refused: %s --%s-->', (from, action) => {
    expect(refusal(from, action).code).toBe('invalid_transition');
  });
});
