import { describe, expect, it } from 'vitest';
import { compareWithTrail, replayException, ReplayProblem, type TrailEvent } from '../../src/db/audit-replay';

const REQUEST = {
  policyKey: 'IA-2',
  title: 'No MFA on the payroll console',
  scope: 'The payroll console PAY-01',
  justification: 'The vendor adds MFA in February; we upgrade the week it ships.',
  compensatingControls: 'Admin VLAN only; logins alert the SOC.',
  ownerId: 'U0OWN',
  expiresOn: '2027-01-31',
  durationDays: 67,
  structural: false,
};
const RISK = { likelihood: 2, impact: 3, score: 6, rationale: 'Two known users on the admin VLAN.', reasons: ['score 6 is below 12'] };

let id = 0;
const event = (kind: TrailEvent['kind'], actorId: string, occurredAt: string, payload: Record<string, unknown> = {}): TrailEvent => ({ id: ++id, kind, actorId, occurredAt, payload });

const requested = () => event('exception.requested', 'U0REQ', '2026-11-25T10:00:00.000Z', { ...REQUEST, requesterId: 'U0REQ' });
const assessed = (route = 'fast_path', round = 0) => event(round ? 'renewal.assessed' : 'exception.assessed', 'U0SEC1', '2026-11-25T11:00:00.000Z', { round, ...RISK, route });
const approved = () => event('exception.approved', 'U0CISO', '2026-11-25T12:00:00.000Z', { outcome: 'approve', comment: null, tally: {}, expiresOn: '2027-01-31' });

describe('replaying an exception from its audit trail', () => {
  it('a request, its assessment and its approval: active until the expiry the approval fixed', () => {
    const state = replayException([requested(), assessed(), approved()], 'UTC');
    expect(state).toMatchObject({
      status: 'active',
      requesterId: 'U0REQ',
      ownerId: 'U0OWN',
      requestedExpiresOn: '2027-01-31',
      expiresOn: '2027-01-31',
      originalExpiresOn: '2027-01-31',
      route: 'fast_path',
      riskScore: 6,
      createdAt: '2026-11-25T10:00:00.000Z',
      activatedAt: '2026-11-25T12:00:00.000Z',
      affectedSystems: null,
      structuralReason: null,
    });
    expect(state.assessments).toEqual([{ round: 0, assessorId: 'U0SEC1', likelihood: 2, impact: 3, score: 6, rationale: RISK.rationale, route: 'fast_path', routeReasons: 'score 6 is below 12', assessedAt: '2026-11-25T11:00:00.000Z' }]);
    expect(state.decisions).toEqual([{ round: 0, deciderId: 'U0CISO', outcome: 'approve', comment: null, decidedAt: '2026-11-25T12:00:00.000Z' }]);
  });

  it('a committee vote, then a rejection: rejected, both decisions kept, closed when the rejection came', () => {
    const vote = event('exception.vote_recorded', 'U0COM1', '2026-11-26T09:00:00.000Z', { round: 0, outcome: 'approve', comment: null, tally: {} });
    const rejected = event('exception.rejected', 'U0COM2', '2026-11-26T10:00:00.000Z', { outcome: 'reject', comment: 'Payroll data needs MFA.', tally: {}, expiresOn: null });
    const state = replayException([requested(), assessed('committee'), vote, rejected], 'UTC');
    expect(state).toMatchObject({ status: 'rejected', route: 'committee', closedAt: '2026-11-26T10:00:00.000Z', expiresOn: null });
    expect(state.decisions.map((d) => [d.deciderId, d.outcome, d.comment])).toEqual([
      ['U0COM1', 'approve', null],
      ['U0COM2', 'reject', 'Payroll data needs MFA.'],
    ]);
  });

  it('expiry, then a renewal approved while expired: active again with the new expiry, the original kept, one renewal counted', () => {
    const trail = [
      requested(),
      assessed(),
      approved(),
      event('exception.checkin_answered', 'U0OWN', '2027-01-10T23:30:00.000Z', { checkinId: 1, answer: 'yes' }),
      event('renewal.requested', 'U0OWN', '2027-01-20T10:00:00.000Z', { round: 1, progress: 'Half the consoles are on the new release.', percentComplete: 50, controlTestedOn: '2027-01-15', expiresOn: '2027-04-15' }),
      assessed('fast_path', 1),
      event('exception.expired', 'scheduler', '2027-02-01T00:05:00.000Z', { expiresOn: '2027-01-31', today: '2027-02-01' }),
      event('renewal.approved', 'U0CISO', '2027-02-02T10:00:00.000Z', { round: 1, comment: null, tally: {}, newExpiresOn: '2027-04-15', reactivated: true }),
    ];
    const state = replayException(trail, 'Pacific/Auckland');
    expect(state).toMatchObject({ status: 'active', expiresOn: '2027-04-15', originalExpiresOn: '2027-01-31', renewalCount: 1, currentRound: 1, needsAttention: false });
    // 23:30 UTC on the 10th is the 11th in Auckland: the check-in's day is counted in TZ, as the app counts it.
    expect(state.lastCheckinOn).toBe('2027-01-11');
    expect(state.renewals).toEqual([
      expect.objectContaining({ round: 1, status: 'approved', requestedBy: 'U0OWN', route: 'fast_path', newExpiresOn: '2027-04-15', evidenceUrl: null, decidedAt: '2027-02-02T10:00:00.000Z' }),
    ]);
    expect(state.decisions.map((d) => [d.round, d.deciderId])).toEqual([
      [0, 'U0CISO'],
      [1, 'U0CISO'],
    ]);
  });

  it('closing withdraws the renewal still waiting and keeps the note', () => {
    const renewal = event('renewal.requested', 'U0OWN', '2027-01-20T10:00:00.000Z', { round: 1, progress: 'Half the consoles are on the new release.', percentComplete: 50, controlTestedOn: '2027-01-15', expiresOn: '2027-04-15' });
    const closed = event('exception.closed', 'U0OWN', '2027-01-21T10:00:00.000Z', { note: 'MFA is live on PAY-01.', renewalWithdrawn: true });
    const state = replayException([requested(), assessed(), approved(), renewal, closed], 'UTC');
    expect(state).toMatchObject({ status: 'closed', closingNote: 'MFA is live on PAY-01.', closedAt: '2027-01-21T10:00:00.000Z' });
    expect(state.renewals[0]).toMatchObject({ status: 'withdrawn', decidedAt: '2027-01-21T10:00:00.000Z' });
  });

  it('a request withdrawn by its requester before its assessment: rejected (SPEC §1), never active, with its note and no decision', () => {
    const withdrawn = event('exception.withdrawn', 'U0REQ', '2026-11-26T09:00:00.000Z', { note: 'Withdrawn by the requester: no longer needed.', waitingFor: 'assessment' });
    const state = replayException([requested(), withdrawn], 'UTC');
    expect(state).toMatchObject({ status: 'rejected', closingNote: 'Withdrawn by the requester: no longer needed.', closedAt: '2026-11-26T09:00:00.000Z', activatedAt: null, expiresOn: null });
    expect(state.decisions).toEqual([]);
    const sentBack = event('exception.changes_requested', 'U0SEC1', '2026-11-25T11:00:00.000Z', { round: 0, stage: 'assessment', changes: 'Name the console.' });
    expect(replayException([requested(), sentBack, { ...withdrawn, id: ++id }], 'UTC')).toMatchObject({ status: 'rejected', sentBack: false });
  });

  it("the owner's Accept and Decline change no row: the record reads them from the trail", () => {
    const answers = [event('exception.owner_declined', 'U0OWN', '2026-11-25T10:30:00.000Z', { ownerId: 'U0OWN' }), event('exception.owner_accepted', 'U0OWN', '2026-11-25T10:40:00.000Z', { ownerId: 'U0OWN' })];
    expect(replayException([requested(), ...answers], 'UTC')).toEqual(replayException([requested()], 'UTC'));
  });

  it.each<[string, () => TrailEvent[], RegExp]>([
    ['no event at all', () => [], /has no event for it/],
    ['a history that does not start with the request', () => [assessed()], /starts with exception\.assessed/],
    ['an approval before any assessment', () => [requested(), approved()], /exception\.approved cannot happen to an exception that is requested/],
    ['an approval without an expiry date', () => [requested(), assessed(), { ...approved(), payload: { outcome: 'approve', comment: null } }], /fixes no expiry date/],
    ['an expiry of an exception never approved', () => [requested(), event('exception.expired', 'scheduler', '2027-02-01T00:05:00.000Z')], /cannot happen to an exception that is requested/],
    ['details that are not the kind’s', () => [requested(), { ...assessed(), payload: { round: 0, likelihood: 'high' } }], /its details are not those of exception\.assessed/],
    ['a withdrawal by anyone but the requester', () => [requested(), event('exception.withdrawn', 'U0OWN', '2026-11-26T09:00:00.000Z', { note: 'Withdrawn by the requester.' })], /exception\.withdrawn by U0OWN, who is not its requester/],
    ['a withdrawal once assessed', () => [requested(), assessed(), event('exception.withdrawn', 'U0REQ', '2026-11-26T09:00:00.000Z', { note: 'Withdrawn by the requester.' })], /a withdrawal of an exception that is pending approval: only a request not yet assessed is withdrawn/],
    ['a renewal decided that was never asked for', () => [requested(), assessed(), approved(), event('renewal.approved', 'U0CISO', '2027-02-02T10:00:00.000Z', { round: 1, comment: null, newExpiresOn: '2027-04-15' })], /renewal 1, which is not pending approval/],
    ['an owner answer given by someone else', () => [requested(), event('exception.owner_accepted', 'U0SEC1', '2026-11-25T10:30:00.000Z', { ownerId: 'U0OWN' })], /exception\.owner_accepted by U0SEC1, who is not its owner/],
    ['a register-wide event naming the exception', () => [requested(), event('metrics.posted', 'scheduler', '2026-11-30T09:00:00.000Z')], /about the register as a whole/],
  ])('refuses to replay %s, naming the event', (_case, trail, problem) => {
    const events = trail();
    let thrown: unknown;
    try {
      replayException(events, 'UTC');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ReplayProblem);
    expect((thrown as ReplayProblem).message).toMatch(problem);
    expect((thrown as ReplayProblem).eventId).toBe(events.length === 0 ? null : events.at(-1)!.id);
  });
});

describe('comparing the register with its trail', () => {
  const trail = () => replayException([requested(), assessed(), approved(), event('exception.expired', 'scheduler', '2027-02-01T00:05:00.000Z')], 'UTC');

  it('finds nothing when the rows say what the trail says', () => {
    expect(compareWithTrail(trail(), trail())).toEqual([]);
  });

  it('names each field set by hand: an expired exception back to active until 2031', () => {
    const register = { ...trail(), status: 'active' as const, expiresOn: '2031-12-31' };
    expect(compareWithTrail(register, trail())).toEqual([
      { field: 'status', register: '"active"', trail: '"expired"' },
      { field: 'expires_on', register: '"2031-12-31"', trail: '"2027-01-31"' },
    ]);
  });

  it('names a re-attributed decision twice: the one the register has and the one the trail has', () => {
    const replayed = trail();
    const register = { ...replayed, decisions: replayed.decisions.map((d) => ({ ...d, deciderId: 'U0MALLORY' })) };
    expect(compareWithTrail(register, replayed)).toEqual([
      { field: 'decision of round 0 by U0MALLORY', register: '{"outcome":"approve","comment":null,"decidedAt":"2026-11-25T12:00:00.000Z"}', trail: 'nothing' },
      { field: 'decision of round 0 by U0CISO', register: 'nothing', trail: '{"outcome":"approve","comment":null,"decidedAt":"2026-11-25T12:00:00.000Z"}' },
    ]);
  });

  it('compares a row on its fields whatever order they come in', () => {
    const replayed = trail();
    const register = { ...replayed, assessments: replayed.assessments.map(({ assessedAt, ...rest }) => ({ assessedAt, ...rest })) };
    expect(compareWithTrail(register, replayed)).toEqual([]);
  });
});
