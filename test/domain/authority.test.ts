import { describe, expect, it } from 'vitest';
import { assertMayAssess, assertMayDecide, assertOwnerHasNotDeclined, ownerConfirmationOf } from '../../src/domain/authority';
import { DomainError, type DomainErrorCode } from '../../src/domain/errors';
import type { Roles } from '../../src/domain/roles';

const ROLES: Roles = {
  securityTeam: new Set(['U0SEC1', 'U0SEC2']),
  approvers: new Set(['U0CISO', 'U0DEP']),
  committee: new Set(['U0COM1', 'U0COM2', 'U0COM3']),
  auditors: new Set(['U0AUD']),
};
const PARTIES = { requesterId: 'U0REQ', ownerId: 'U0OWN' };

function outcome(check: () => void): 'allowed' | DomainErrorCode {
  try {
    check();
    return 'allowed';
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

describe('assertMayAssess (SPEC §1: a member of the security team, never the requester or owner)', () => {
  it.each([
    ['U0SEC1', PARTIES, 'allowed'],
    ['U0SEC2', PARTIES, 'allowed'],
    ['U0CISO', PARTIES, 'not_authorised'],
    ['U0COM1', PARTIES, 'not_authorised'],
    ['U0AUD', PARTIES, 'not_authorised'],
    ['U0REQ', PARTIES, 'not_authorised'],
    ['U0SEC1', { requesterId: 'U0SEC1', ownerId: 'U0OWN' }, 'separation_of_duties'],
    ['U0SEC1', { requesterId: 'U0REQ', ownerId: 'U0SEC1' }, 'separation_of_duties'],
    ['U0SEC2', { requesterId: 'U0SEC1', ownerId: 'U0SEC1' }, 'allowed'],
  ] as const)('%s assessing for %j → %s', (actor, parties, expected) => {
    expect(outcome(() => assertMayAssess(actor, parties, ROLES))).toBe(expected);
  });
});

describe('assertMayDecide (SPEC §1: approvers on the fast path, committee members on the committee route)', () => {
  it.each([
    ['U0CISO', 'fast_path', PARTIES, 'allowed'],
    ['U0DEP', 'fast_path', PARTIES, 'allowed'],
    ['U0COM1', 'fast_path', PARTIES, 'not_authorised'],
    ['U0SEC1', 'fast_path', PARTIES, 'not_authorised'],
    ['U0AUD', 'fast_path', PARTIES, 'not_authorised'],
    ['U0REQ', 'fast_path', PARTIES, 'not_authorised'],
    ['U0COM1', 'committee', PARTIES, 'allowed'],
    ['U0COM3', 'committee', PARTIES, 'allowed'],
    ['U0CISO', 'committee', PARTIES, 'not_authorised'],
    ['U0SEC1', 'committee', PARTIES, 'not_authorised'],
    ['U0CISO', 'fast_path', { requesterId: 'U0CISO', ownerId: 'U0OWN' }, 'separation_of_duties'],
    ['U0DEP', 'fast_path', { requesterId: 'U0REQ', ownerId: 'U0DEP' }, 'separation_of_duties'],
    ['U0COM2', 'committee', { requesterId: 'U0COM2', ownerId: 'U0OWN' }, 'separation_of_duties'],
    ['U0COM3', 'committee', { requesterId: 'U0REQ', ownerId: 'U0COM3' }, 'separation_of_duties'],
    ['U0DEP', 'fast_path', { requesterId: 'U0CISO', ownerId: 'U0CISO' }, 'allowed'],
  ] as const)('%s deciding on the %s for %j → %s', (actor, route, parties, expected) => {
    expect(outcome(() => assertMayDecide(actor, parties, route, ROLES))).toBe(expected);
  });

  it.each([
    ['U0CISO', 'fast_path', 'U0CISO', 'separation_of_duties'],
    ['U0DEP', 'fast_path', 'U0CISO', 'allowed'],
    ['U0COM1', 'committee', 'U0COM1', 'separation_of_duties'],
    ['U0COM2', 'committee', 'U0COM1', 'allowed'],
  ] as const)('%s deciding on the %s a round assessed by %s → %s (nobody decides a round they assessed)', (actor, route, assessorId, expected) => {
    expect(outcome(() => assertMayDecide(actor, { ...PARTIES, assessorId }, route, ROLES))).toBe(expected);
  });

  it('a separation-of-duties refusal names the rule', () => {
    expect(() => assertMayDecide('U0CISO', { requesterId: 'U0CISO', ownerId: 'U0OWN' }, 'fast_path', ROLES)).toThrow(/separation of duties/i);
    expect(() => assertMayAssess('U0SEC1', { requesterId: 'U0REQ', ownerId: 'U0SEC1' }, ROLES)).toThrow(/separation of duties/i);
  });
});

describe("the named owner's confirmation (issue 10 §1)", () => {
  it.each([
    [PARTIES, null, 'unconfirmed'],
    [PARTIES, 'accepted', 'confirmed'],
    [PARTIES, 'declined', 'declined'],
    [{ requesterId: 'U0REQ', ownerId: 'U0REQ' }, null, 'confirmed'],
  ] as const)('%j whose owner last answered %s → %s', (parties, answer, expected) => {
    expect(ownerConfirmationOf(parties, answer)).toBe(expected);
  });

  it.each([
    ['confirmed', 'allowed'],
    ['unconfirmed', 'allowed'],
    ['declined', 'owner_declined'],
  ] as const)('approval with the owner %s → %s', (confirmation, expected) => {
    expect(outcome(() => assertOwnerHasNotDeclined('EXC-0001', 'U0OWN', confirmation))).toBe(expected);
  });
});
