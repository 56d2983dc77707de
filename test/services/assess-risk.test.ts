import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assessments } from '../../src/db/schema';
import { assessRisk, authorizeAssessment } from '../../src/services/assess-risk';
import { loadExceptionRecord } from '../../src/services/exception-record';
import {
  APPROVALS_CHANNEL,
  APPROVERS,
  COMMITTEE,
  COMMITTEE_CHANNEL,
  HIGH_RISK,
  LOW_RISK,
  NOW,
  OWNER,
  REQUESTER,
  SECURITY,
  assess,
  auditRows,
  countRows,
  domainErrorOf,
  fileRequest,
  openTestRegister,
  outboxRows,
  type TestRegister,
} from './fixtures';

let t: TestRegister;
beforeEach(() => {
  t = openTestRegister();
});
afterEach(() => t.close());

const STRUCTURAL = {
  structural: true,
  structuralReason: 'The mainframe is replaced over two budget cycles; a 90-day clock forces an unsafe cutover.',
  expiresOn: '2027-11-25',
};

describe('assessRisk (SPEC §1: the security team scores likelihood × impact; the score picks the route)', () => {
  it.each([
    ['low risk (2 × 3 = 6)', {}, { likelihood: 2, impact: 3 }, 6, 'fast_path', APPROVALS_CHANNEL],
    ['just under the threshold (11 is not on the scale; 2 × 5 = 10)', {}, { likelihood: 2, impact: 5 }, 10, 'fast_path', APPROVALS_CHANNEL],
    ['at the threshold (3 × 4 = 12)', {}, { likelihood: 3, impact: 4 }, 12, 'committee', COMMITTEE_CHANNEL],
    ['the highest risk (5 × 5 = 25)', {}, { likelihood: 5, impact: 5 }, 25, 'committee', COMMITTEE_CHANNEL],
    ['low risk but structural', STRUCTURAL, { likelihood: 1, impact: 1 }, 1, 'committee', COMMITTEE_CHANNEL],
  ] as const)('%s → %s', (_label, request, ratings, score, route, channel) => {
    const id = fileRequest(t.ctx, request);
    const outboxBefore = outboxRows(t.register).length;
    const result = assessRisk(t.ctx, { exceptionId: id, assessorId: SECURITY[1], input: { ...ratings, rationale: LOW_RISK.rationale } });
    expect(result).toEqual({ ok: true, ref: 'EXC-0001', score, route });

    const record = loadExceptionRecord(t.ctx.db, id);
    expect(record).toMatchObject({ status: 'pending_approval', route, riskScore: score, updatedAt: NOW.toISOString() });
    expect(record?.assessment).toMatchObject({ assessorId: SECURITY[1], ...ratings, score, rationale: LOW_RISK.rationale, assessedAt: NOW.toISOString() });
    expect(record?.assessment?.routeReasons.length ? 'committee' : 'fast_path').toBe(route);

    expect(outboxRows(t.register).slice(outboxBefore).map((row) => row.payload)).toEqual([
      { kind: 'refresh_card', exceptionId: id, card: 'triage' },
      { kind: 'post_card', exceptionId: id, card: 'approval', channel },
      // The requester learns it was assessed and whose decision it now waits for.
      { kind: 'direct_message', exceptionId: id, recipientId: REQUESTER, message: 'assessed' },
    ]);
  });

  it('a long requested duration sends the exception to the committee when the maximum was lowered after the request', () => {
    const id = fileRequest(t.ctx, { expiresOn: '2027-02-23' });
    const stricter = t.with({ rules: { ...t.ctx.rules, maxExceptionDays: 60 } });
    expect(assessRisk(stricter, { exceptionId: id, assessorId: SECURITY[0], input: LOW_RISK })).toMatchObject({ ok: true, route: 'committee' });
  });

  it('records one audit event by the assessor, carrying the ratings and route', () => {
    const id = fileRequest(t.ctx);
    assess(t.ctx, id, HIGH_RISK, SECURITY[1]);
    const events = auditRows(t.register).filter((e) => e.exceptionId === id);
    expect(events.map((e) => [e.kind, e.actorId])).toEqual([
      ['exception.requested', REQUESTER],
      ['exception.assessed', SECURITY[1]],
    ]);
    expect(JSON.parse(events[1]?.payload ?? '{}')).toMatchObject({ likelihood: 3, impact: 4, score: 12, route: 'committee' });
  });

  describe('refusals write nothing', () => {
    it.each([
      ['an approver who is not on the security team', {}, APPROVERS[0], 'not_authorised'],
      ['a committee member', {}, COMMITTEE[0], 'not_authorised'],
      ['the requester', {}, REQUESTER, 'not_authorised'],
      ['a security team member who requested it', { requester: SECURITY[0] }, SECURITY[0], 'separation_of_duties'],
      ['a security team member who owns it', { owner: SECURITY[1] }, SECURITY[1], 'separation_of_duties'],
    ] as const)('%s → %s', (_label, parties, assessorId, code) => {
      const id = fileRequest(t.ctx, 'owner' in parties ? { owner: parties.owner } : {}, 'requester' in parties ? parties.requester : REQUESTER);
      const before = countRows(t.register);
      expect(domainErrorOf(() => assessRisk(t.ctx, { exceptionId: id, assessorId, input: LOW_RISK })).code).toBe(code);
      expect(domainErrorOf(() => authorizeAssessment(t.ctx, id, assessorId)).code).toBe(code);
      expect(countRows(t.register)).toEqual(before);
      expect(loadExceptionRecord(t.ctx.db, id)?.status).toBe('requested');
    });

    it('a second assessment is refused with invalid_transition, and the first stands', () => {
      const id = fileRequest(t.ctx);
      assess(t.ctx, id, LOW_RISK, SECURITY[0]);
      const before = countRows(t.register);
      expect(domainErrorOf(() => assessRisk(t.ctx, { exceptionId: id, assessorId: SECURITY[1], input: HIGH_RISK })).code).toBe('invalid_transition');
      expect(domainErrorOf(() => authorizeAssessment(t.ctx, id, SECURITY[1])).code).toBe('invalid_transition');
      expect(countRows(t.register)).toEqual(before);
      expect(t.ctx.db.select().from(assessments).where(eq(assessments.exceptionId, id)).all()).toHaveLength(1);
      expect(loadExceptionRecord(t.ctx.db, id)).toMatchObject({ riskScore: 6, route: 'fast_path' });
    });

    it.each([
      ['likelihood 0', { ...LOW_RISK, likelihood: 0 }, 'likelihood'],
      ['impact 6', { ...LOW_RISK, impact: 6 }, 'impact'],
      ['a fractional likelihood', { ...LOW_RISK, likelihood: 2.5 }, 'likelihood'],
      ['a one-word rationale', { ...LOW_RISK, rationale: 'fine' }, 'rationale'],
    ])('%s returns a field error', (_label, input, field) => {
      const id = fileRequest(t.ctx);
      const before = countRows(t.register);
      const result = assessRisk(t.ctx, { exceptionId: id, assessorId: SECURITY[0], input });
      expect(result.ok ? [] : Object.keys(result.errors)).toEqual([field]);
      expect(countRows(t.register)).toEqual(before);
    });

    it('an exception that does not exist → not_found', () => {
      expect(domainErrorOf(() => assessRisk(t.ctx, { exceptionId: 42, assessorId: SECURITY[0], input: LOW_RISK })).code).toBe('not_found');
    });
  });

  it('authorizeAssessment lets an independent security team member open the form', () => {
    const id = fileRequest(t.ctx, { owner: OWNER });
    expect(authorizeAssessment(t.ctx, id, SECURITY[0]).ref).toBe('EXC-0001');
  });
});
