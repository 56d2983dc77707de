import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decisions } from '../../src/db/schema';
import { authorizeDecision, decideException } from '../../src/services/decide-exception';
import { loadExceptionRecord } from '../../src/services/exception-record';
import {
  APPROVERS,
  COMMITTEE,
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

const REASON = 'The compensating control does not cover remote logins.';

function fastPathException(overrides = {}, requesterId = REQUESTER): number {
  const id = fileRequest(t.ctx, overrides, requesterId);
  expect(assess(t.ctx, id, LOW_RISK).route).toBe('fast_path');
  return id;
}

function committeeException(overrides = {}, requesterId = REQUESTER): number {
  const id = fileRequest(t.ctx, overrides, requesterId);
  expect(assess(t.ctx, id, HIGH_RISK).route).toBe('committee');
  return id;
}

const decisionRows = (id: number) => t.ctx.db.select().from(decisions).where(eq(decisions.exceptionId, id)).all();

describe('decideException on the fast path (one approver)', () => {
  it('an approval activates the exception and fixes its expiry and original expiry', () => {
    const id = fastPathException({ expiresOn: '2027-01-31' });
    const result = decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[1], outcome: 'approve' });
    expect(result).toMatchObject({ ref: 'EXC-0001', outcome: 'approved', tally: { approvals: 1, rejections: 0, needed: 1, outcome: 'approved' } });
    expect(loadExceptionRecord(t.ctx.db, id)).toMatchObject({
      status: 'active',
      expiresOn: '2027-01-31',
      originalExpiresOn: '2027-01-31',
      activatedAt: NOW.toISOString(),
      decisions: [{ deciderId: APPROVERS[1], outcome: 'approve', comment: null, decidedAt: NOW.toISOString() }],
    });
  });

  it('keeps an optional approval comment, trimmed', () => {
    const id = fastPathException();
    decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve', comment: '  Revisit after the upgrade.  ' });
    expect(decisionRows(id).map((d) => d.comment)).toEqual(['Revisit after the upgrade.']);
  });

  it('a slow approval cannot stretch the clock: the expiry is capped at the approval day + the maximum', () => {
    const id = fastPathException({ expiresOn: '2027-02-23' });
    const later = t.with({ clock: () => new Date('2026-12-20T09:00:00Z'), rules: { ...t.ctx.rules, maxExceptionDays: 30 } });
    decideException(later, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
    expect(loadExceptionRecord(t.ctx.db, id)).toMatchObject({ status: 'active', expiresOn: '2027-01-19', originalExpiresOn: '2027-01-19' });
  });

  it('an approval after the requested date has passed is refused with expiry_passed, and nothing is written', () => {
    const id = fastPathException({ expiresOn: '2026-11-26' });
    const later = t.with({ clock: () => new Date('2026-11-27T09:00:00Z') });
    const before = countRows(t.register);
    expect(domainErrorOf(() => decideException(later, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' })).code).toBe('expiry_passed');
    expect(countRows(t.register)).toEqual(before);
    expect(loadExceptionRecord(t.ctx.db, id)?.status).toBe('pending_approval');
  });

  it('"has passed" is judged in the organisation\'s time zone', () => {
    // 10:00 UTC on 25 November is 23:00 in Auckland; two hours later Auckland is on the 26th, the requested expiry.
    const auckland = t.with({ timeZone: 'Pacific/Auckland' });
    const id = fileRequest(auckland, { expiresOn: '2026-11-26' });
    assess(auckland, id, LOW_RISK);
    const twoHoursLater = t.with({ timeZone: 'Pacific/Auckland', clock: () => new Date('2026-11-25T12:00:00Z') });
    expect(domainErrorOf(() => decideException(twoHoursLater, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' })).code).toBe('expiry_passed');
    expect(decideException(t.with({ clock: () => new Date('2026-11-25T12:00:00Z') }), { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' }).outcome).toBe(
      'approved',
    );
  });

  it('a rejection with a reason rejects and fixes no expiry', () => {
    const id = fastPathException();
    const result = decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'reject', comment: `  ${REASON}  ` });
    expect(result.outcome).toBe('rejected');
    expect(loadExceptionRecord(t.ctx.db, id)).toMatchObject({
      status: 'rejected',
      expiresOn: null,
      originalExpiresOn: null,
      activatedAt: null,
      decisions: [{ deciderId: APPROVERS[0], outcome: 'reject', comment: REASON }],
    });
  });

  it.each([
    ['no reason', undefined],
    ['an empty reason', ''],
    ['nine characters', 'too risky'],
    ['ten spaces', ' '.repeat(10)],
    ['nine characters padded with spaces', '   too risky   '],
  ])('a rejection with %s is refused with invalid_request, and nothing is written', (_label, comment) => {
    const id = fastPathException();
    const before = countRows(t.register);
    expect(domainErrorOf(() => decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'reject', comment })).code).toBe('invalid_request');
    expect(countRows(t.register)).toEqual(before);
    expect(loadExceptionRecord(t.ctx.db, id)?.status).toBe('pending_approval');
  });

  it('tells someone without authority that they may not decide, before asking them for a reason', () => {
    const id = fastPathException();
    expect(domainErrorOf(() => decideException(t.ctx, { exceptionId: id, deciderId: 'U0NOBODY', outcome: 'reject', comment: '' })).code).toBe('not_authorised');
  });

  it('a rejection reason of exactly 10 characters is enough', () => {
    const id = fastPathException();
    expect(decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'reject', comment: 'No control' }).outcome).toBe('rejected');
  });
});

describe('decideException on the committee route (quorum of distinct members; any rejection rejects)', () => {
  it('the first approval is recorded and the tally stays pending; the second distinct approval activates', () => {
    const id = committeeException({ expiresOn: '2027-01-31' });
    const first = decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[0], outcome: 'approve' });
    expect(first).toMatchObject({ outcome: 'pending', tally: { approvals: 1, rejections: 0, needed: 2, outcome: 'pending' } });
    expect(loadExceptionRecord(t.ctx.db, id)).toMatchObject({ status: 'pending_approval', expiresOn: null, activatedAt: null });

    const second = decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[2], outcome: 'approve' });
    expect(second).toMatchObject({ outcome: 'approved', tally: { approvals: 2, rejections: 0, needed: 2, outcome: 'approved' } });
    expect(loadExceptionRecord(t.ctx.db, id)).toMatchObject({ status: 'active', expiresOn: '2027-01-31', originalExpiresOn: '2027-01-31' });
    expect(decisionRows(id).map((d) => d.deciderId)).toEqual([COMMITTEE[0], COMMITTEE[2]]);
  });

  it('with a quorum of 3, two approvals are still pending', () => {
    const id = committeeException();
    const quorum3 = t.with({ rules: { ...t.ctx.rules, committeeQuorum: 3 } });
    expect(decideException(quorum3, { exceptionId: id, deciderId: COMMITTEE[0], outcome: 'approve' }).outcome).toBe('pending');
    expect(decideException(quorum3, { exceptionId: id, deciderId: COMMITTEE[1], outcome: 'approve' }).outcome).toBe('pending');
    expect(loadExceptionRecord(t.ctx.db, id)?.status).toBe('pending_approval');
    expect(decideException(quorum3, { exceptionId: id, deciderId: COMMITTEE[2], outcome: 'approve' }).outcome).toBe('approved');
    expect(loadExceptionRecord(t.ctx.db, id)?.status).toBe('active');
  });

  it('a structural exception approved by the committee keeps its year-long expiry', () => {
    const id = fileRequest(t.ctx, {
      structural: true,
      structuralReason: 'The mainframe is replaced over two budget cycles; a 90-day clock forces an unsafe cutover.',
      expiresOn: '2027-11-25',
    });
    expect(assess(t.ctx, id, LOW_RISK).route).toBe('committee');
    decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[0], outcome: 'approve' });
    decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[1], outcome: 'approve' });
    expect(loadExceptionRecord(t.ctx.db, id)).toMatchObject({ status: 'active', expiresOn: '2027-11-25' });
  });

  it.each([
    ['as the first vote', [] as string[]],
    ['after one approval', [COMMITTEE[0]]],
  ])('one rejection %s rejects the exception', (_label, approvers) => {
    const id = committeeException();
    for (const deciderId of approvers) decideException(t.ctx, { exceptionId: id, deciderId, outcome: 'approve' });
    const result = decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[1], outcome: 'reject', comment: REASON });
    expect(result.outcome).toBe('rejected');
    expect(loadExceptionRecord(t.ctx.db, id)).toMatchObject({ status: 'rejected', expiresOn: null });
  });

  it.each(['approve', 'reject'] as const)('the same member deciding twice (%s) → already_voted, still exactly one decision row', (second) => {
    const id = committeeException();
    decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[0], outcome: 'approve' });
    const before = countRows(t.register);
    const error = domainErrorOf(() => decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[0], outcome: second, comment: REASON }));
    expect(error.code).toBe('already_voted');
    expect(domainErrorOf(() => authorizeDecision(t.ctx, id, COMMITTEE[0], 'approve')).code).toBe('already_voted');
    expect(decisionRows(id)).toHaveLength(1);
    expect(countRows(t.register)).toEqual(before);
    expect(loadExceptionRecord(t.ctx.db, id)?.status).toBe('pending_approval');
  });
});

describe('who may decide (SPEC §1)', () => {
  it.each([
    ['a committee member on the fast path', 'fast_path', {}, REQUESTER, COMMITTEE[0], 'not_authorised'],
    ['a security team member on the fast path', 'fast_path', {}, REQUESTER, SECURITY[0], 'not_authorised'],
    ['an approver on the committee route', 'committee', {}, REQUESTER, APPROVERS[0], 'not_authorised'],
    ['the requester', 'fast_path', {}, REQUESTER, REQUESTER, 'not_authorised'],
    ['an approver who requested it', 'fast_path', {}, APPROVERS[0], APPROVERS[0], 'separation_of_duties'],
    ['an approver who owns it', 'fast_path', { owner: APPROVERS[1] }, REQUESTER, APPROVERS[1], 'separation_of_duties'],
    ['a committee member who requested it', 'committee', {}, COMMITTEE[0], COMMITTEE[0], 'separation_of_duties'],
    ['a committee member who owns it', 'committee', { owner: COMMITTEE[2] }, REQUESTER, COMMITTEE[2], 'separation_of_duties'],
  ] as const)('%s → %s, and nothing is written', (_label, route, overrides, requesterId, deciderId, code) => {
    const id = route === 'fast_path' ? fastPathException(overrides, requesterId) : committeeException(overrides, requesterId);
    const before = countRows(t.register);
    for (const outcome of ['approve', 'reject'] as const) {
      expect(domainErrorOf(() => decideException(t.ctx, { exceptionId: id, deciderId, outcome, comment: REASON })).code).toBe(code);
    }
    expect(domainErrorOf(() => authorizeDecision(t.ctx, id, deciderId, 'reject')).code).toBe(code);
    expect(countRows(t.register)).toEqual(before);
  });
});

describe('decisions outside pending_approval are refused with invalid_transition', () => {
  it.each([
    ['not yet assessed', false, undefined, 'requested'],
    ['already rejected', true, 'reject', 'rejected'],
    ['already active', true, 'approve', 'active'],
  ] as const)('%s', (_label, assessed, earlier, status) => {
    const id = fileRequest(t.ctx);
    if (assessed) assess(t.ctx, id, LOW_RISK);
    if (earlier) decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: earlier, comment: REASON });
    expect(loadExceptionRecord(t.ctx.db, id)?.status).toBe(status);
    const before = countRows(t.register);
    for (const outcome of ['approve', 'reject'] as const) {
      expect(domainErrorOf(() => decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[1], outcome, comment: REASON })).code).toBe('invalid_transition');
    }
    expect(domainErrorOf(() => authorizeDecision(t.ctx, id, APPROVERS[1], 'approve')).code).toBe('invalid_transition');
    expect(countRows(t.register)).toEqual(before);
    expect(loadExceptionRecord(t.ctx.db, id)?.status).toBe(status);
  });

  it('an exception that does not exist → not_found', () => {
    expect(domainErrorOf(() => decideException(t.ctx, { exceptionId: 99, deciderId: APPROVERS[0], outcome: 'approve' })).code).toBe('not_found');
  });
});

describe('notifications queued by a decision', () => {
  const queuedSince = (from: number) => outboxRows(t.register).slice(from).map((row) => row.payload);

  it('a final approval refreshes both cards and DMs the requester and the owner', () => {
    const id = fastPathException();
    const from = outboxRows(t.register).length;
    decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
    const queued = queuedSince(from);
    expect(queued).toHaveLength(4);
    expect(queued).toEqual(
      expect.arrayContaining([
        { kind: 'refresh_card', exceptionId: id, card: 'approval' },
        { kind: 'refresh_card', exceptionId: id, card: 'triage' },
        { kind: 'direct_message', exceptionId: id, recipientId: REQUESTER, message: 'approved' },
        { kind: 'direct_message', exceptionId: id, recipientId: OWNER, message: 'approved' },
      ]),
    );
  });

  it('an owner who is also the requester gets one DM, not two', () => {
    const id = fastPathException({ owner: REQUESTER });
    const from = outboxRows(t.register).length;
    decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'reject', comment: REASON });
    const dms = queuedSince(from).filter((n) => n.kind === 'direct_message');
    expect(dms).toEqual([{ kind: 'direct_message', exceptionId: id, recipientId: REQUESTER, message: 'rejected' }]);
  });

  it('a committee vote that leaves the tally pending only refreshes the approval card', () => {
    const id = committeeException();
    const from = outboxRows(t.register).length;
    decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[0], outcome: 'approve' });
    expect(queuedSince(from)).toEqual([{ kind: 'refresh_card', exceptionId: id, card: 'approval' }]);
  });

  it('a committee rejection DMs the requester and the owner that it was rejected', () => {
    const id = committeeException();
    const from = outboxRows(t.register).length;
    decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[1], outcome: 'reject', comment: REASON });
    const dms = queuedSince(from).filter((n) => n.kind === 'direct_message');
    expect(dms).toHaveLength(2);
    expect(dms).toEqual(
      expect.arrayContaining([
        { kind: 'direct_message', exceptionId: id, recipientId: REQUESTER, message: 'rejected' },
        { kind: 'direct_message', exceptionId: id, recipientId: OWNER, message: 'rejected' },
      ]),
    );
  });
});

describe('audit events recorded by decisions', () => {
  it('a pending vote and the final approval are one event each, by the person who pressed the button', () => {
    const id = committeeException();
    decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[0], outcome: 'approve' });
    decideException(t.ctx, { exceptionId: id, deciderId: COMMITTEE[1], outcome: 'approve' });
    const events = auditRows(t.register).filter((e) => e.exceptionId === id);
    expect(events.map((e) => [e.kind, e.actorId, e.occurredAt])).toEqual([
      ['exception.requested', REQUESTER, NOW.toISOString()],
      ['exception.assessed', SECURITY[0], NOW.toISOString()],
      ['exception.vote_recorded', COMMITTEE[0], NOW.toISOString()],
      ['exception.approved', COMMITTEE[1], NOW.toISOString()],
    ]);
    expect(JSON.parse(events[3]?.payload ?? '{}')).toMatchObject({ outcome: 'approve', expiresOn: '2027-01-31' });
  });

  it('a rejection event carries the reason', () => {
    const id = fastPathException();
    decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'reject', comment: REASON });
    const last = auditRows(t.register).at(-1);
    expect(last).toMatchObject({ kind: 'exception.rejected', actorId: APPROVERS[0], exceptionId: id });
    expect(JSON.parse(last?.payload ?? '{}')).toMatchObject({ outcome: 'reject', comment: REASON });
  });
});
