import { describe, expect, it } from 'vitest';
import { replayException, ReplayProblem, type TrailEvent } from '../../src/db/audit-replay';
import { activeAmendmentPlan, amendmentRefused, assertMaySendBack, changesBetween, ChangesRequested, sentBackRefusal, type RequestTerms } from '../../src/domain/amendment';
import { DomainError } from '../../src/domain/errors';
import type { OpenStage } from '../../src/domain/shown-for';
import type { Roles } from '../../src/domain/roles';

const ROLES: Roles = {
  securityTeam: new Set(['U0SEC1', 'U0SEC2']),
  approvers: new Set(['U0CISO', 'U0DEPUTY']),
  committee: new Set(['U0COM1', 'U0COM2', 'U0COM3']),
  auditors: new Set(['U0AUDIT']),
};
const PARTIES = { requesterId: 'U0REQ', ownerId: 'U0OWNER', assessorId: 'U0SEC1' };

function refusalOf(run: () => void): DomainError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

describe('who may send a request back, at which stage', () => {
  it.each<[string, OpenStage, 'fast_path' | 'committee' | null, string | undefined]>([
    ['U0SEC2', 'assessment', null, undefined],
    ['U0SEC1', 'assessment', null, undefined],
    ['U0CISO', 'assessment', null, 'not_authorised'],
    ['U0COM1', 'assessment', null, 'not_authorised'],
    ['U0REQ', 'assessment', null, 'not_authorised'],
    ['U0CISO', 'decision', 'fast_path', undefined],
    ['U0DEPUTY', 'decision', 'fast_path', undefined],
    ['U0COM1', 'decision', 'fast_path', 'not_authorised'],
    ['U0SEC2', 'decision', 'fast_path', 'not_authorised'],
    ['U0COM2', 'decision', 'committee', undefined],
    ['U0CISO', 'decision', 'committee', 'not_authorised'],
  ])('%s at its %s (%s) → %s', (actor, stage, route, code) => {
    expect(refusalOf(() => assertMaySendBack(actor, PARTIES, stage, route, ROLES))?.code).toBe(code);
  });

  it('keeps separation of duties: the owner never sends it back, nor the assessor at the decision it assessed', () => {
    const securityOwner = { ...PARTIES, ownerId: 'U0SEC2' };
    expect(refusalOf(() => assertMaySendBack('U0SEC2', securityOwner, 'assessment', null, ROLES))?.code).toBe('separation_of_duties');
    const cisoAssessed = { ...PARTIES, assessorId: 'U0CISO' };
    expect(refusalOf(() => assertMaySendBack('U0CISO', cisoAssessed, 'decision', 'fast_path', ROLES))?.code).toBe('separation_of_duties');
  });
});

describe('what to change', () => {
  it.each([
    ['a sentence', 'Scope: only the 12 payroll users.', true],
    ['too short', 'fix it', false],
    ['only spaces', '             ', false],
    ['missing', undefined, false],
    ['over 2000 characters', 'x'.repeat(2001), false],
    ['a control character', 'Scope: only the\u0007 payroll users.', false],
  ])('%s → accepted: %s', (_label, value, ok) => {
    expect(ChangesRequested.safeParse(value).success).toBe(ok);
  });
});

const TERMS: RequestTerms = {
  policyKey: 'MFA-01',
  title: 'Legacy HR system without MFA',
  scope: 'hr-app-01 and its 40 users',
  justification: 'The quarterly close runs through a system that cannot do MFA.',
  compensatingControls: 'VPN only, logins reviewed weekly.',
  ownerId: 'U0OWNER',
  expiresOn: '2027-01-15',
  affectedSystems: null,
  externalRef: null,
  structural: false,
  structuralReason: null,
};

describe('both versions, field by field', () => {
  it('lists only what changed, in the form order, with both values', () => {
    expect(changesBetween(TERMS, { ...TERMS, compensatingControls: 'VPN gateway vpn-gw-2 only.', scope: 'hr-app-01 and 12 payroll users', affectedSystems: 'hr-app-01' })).toEqual([
      { field: 'scope', from: TERMS.scope, to: 'hr-app-01 and 12 payroll users' },
      { field: 'compensatingControls', from: TERMS.compensatingControls, to: 'VPN gateway vpn-gw-2 only.' },
      { field: 'affectedSystems', from: null, to: 'hr-app-01' },
    ]);
  });

  it('is empty when nothing changed', () => {
    expect(changesBetween(TERMS, { ...TERMS })).toEqual([]);
  });
});

describe('an active exception is never edited in place', () => {
  it.each([
    ['scope', { scope: 'hr-app-01 and 80 users' }, ['scope']],
    ['affected systems', { affectedSystems: 'hr-app-01, hr-db-01' }, ['affectedSystems']],
    ['compensating control', { compensatingControls: 'Logins reviewed monthly.' }, ['compensatingControls']],
  ] as const)('a change of its %s needs assessment and approval again', (_label, change, substantive) => {
    expect(activeAmendmentPlan('EXC-0001', changesBetween(TERMS, { ...TERMS, ...change }))).toEqual({ needsReapproval: true, substantive });
  });

  it('wording alone (title, justification, reference) needs no new decision', () => {
    expect(activeAmendmentPlan('EXC-0001', changesBetween(TERMS, { ...TERMS, title: 'Legacy HR app without MFA', externalRef: 'CHG-1234' }))).toEqual({ needsReapproval: false });
  });

  it.each([
    ['its expiry', { expiresOn: '2027-03-01' }, /renewal/],
    ['its policy', { policyKey: 'NET-02' }, /another request/],
    ['its owner', { ownerId: 'U0OTHER' }, /new owner accepts it/],
  ] as const)('refuses a change of %s, saying what to do instead', (_label, change, instead) => {
    const error = refusalOf(() => activeAmendmentPlan('EXC-0001', changesBetween(TERMS, { ...TERMS, ...change })));
    expect(error?.code).toBe('invalid_request');
    expect(error?.message).toMatch(instead);
  });

  it('refuses to send back or amend an active exception, explaining that it stays on the terms it was approved on', () => {
    expect(amendmentRefused('EXC-0001', 'active', 'sent back').message).toMatch(/stays on its old terms/);
    expect(amendmentRefused('EXC-0001', 'rejected', 'amended').message).toBe('EXC-0001 is rejected, so it cannot be amended. Nothing was changed.');
    expect(sentBackRefusal('EXC-0001', 'U0REQ', 'decided').message).toMatch(/^EXC-0001 was sent back to <@U0REQ> for changes, so it cannot be decided now/);
  });
});

describe('replaying a request sent back and amended', () => {
  const request = { policyKey: 'MFA-01', title: TERMS.title, scope: TERMS.scope, justification: TERMS.justification, compensatingControls: TERMS.compensatingControls, ownerId: 'U0OWNER', expiresOn: '2027-01-15', structural: false };
  const assessed = (id: number, actorId: string, score: number) => ({ id, kind: 'exception.assessed' as const, actorId, occurredAt: `2026-11-2${id}T10:00:00.000Z`, payload: { round: 0, likelihood: 1, impact: score, score, rationale: 'VPN only, 40 users.', route: 'fast_path', reasons: [] } });
  const trail: TrailEvent[] = [
    { id: 1, kind: 'exception.requested', actorId: 'U0REQ', occurredAt: '2026-11-20T10:00:00.000Z', payload: request },
    assessed(2, 'U0SEC1', 3),
    { id: 3, kind: 'exception.changes_requested', actorId: 'U0CISO', occurredAt: '2026-11-23T10:00:00.000Z', payload: { round: 0, stage: 'decision', changes: 'Scope: only the 12 payroll users.' } },
    { id: 4, kind: 'exception.amended', actorId: 'U0REQ', occurredAt: '2026-11-24T10:00:00.000Z', payload: { round: 0, changes: [{ field: 'scope', from: TERMS.scope, to: 'hr-app-01 and 12 payroll users' }], request: { ...request, scope: 'hr-app-01 and 12 payroll users' } } },
  ];

  it('sets aside the assessment given to the version sent back, and takes the amended terms', () => {
    const state = replayException(trail, 'UTC');
    expect(state).toMatchObject({ status: 'requested', scope: 'hr-app-01 and 12 payroll users', route: null, riskScore: null, assessments: [], decisions: [], requestedExpiresOn: '2027-01-15', expiresOn: null });
    const reassessed = replayException([...trail, assessed(5, 'U0SEC2', 2)], 'UTC');
    expect(reassessed).toMatchObject({ status: 'pending_approval', riskScore: 2, assessments: [expect.objectContaining({ assessorId: 'U0SEC2', score: 2 })] });
  });

  it.each([
    ['an assessment while it is sent back', [...trail.slice(0, 3), assessed(4, 'U0SEC2', 2)], /cannot happen|sent back/],
    ['an amendment of a request never sent back', [trail[0]!, { ...trail[3]!, id: 2 }], /not sent back/],
    ['an amendment by someone else than its requester', [...trail.slice(0, 3), { ...trail[3]!, actorId: 'U0OWNER' }], /did not request it/],
    ['a second send-back before it is amended', [...trail.slice(0, 3), { ...trail[2]!, id: 4, payload: { round: 0, stage: 'assessment', changes: 'Again.' } }], /already sent back/],
  ])('refuses a trail with %s', (_label, events, problem) => {
    expect(() => replayException(events as TrailEvent[], 'UTC')).toThrow(ReplayProblem);
    expect(() => replayException(events as TrailEvent[], 'UTC')).toThrow(problem);
  });
});
