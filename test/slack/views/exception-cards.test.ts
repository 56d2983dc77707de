import { describe, expect, it } from 'vitest';
import { tallyVotes } from '../../../src/domain/decision';
import { REQUEST_TEXT_LIMITS } from '../../../src/domain/request';
import type { ExceptionRecord } from '../../../src/services/exception-record';
import { assessmentModal } from '../../../src/slack/views/decision-modals';
import { approvalCard, triageCard, type CardContext } from '../../../src/slack/views/exception-cards';
import { stallEscalation, stallNotice, stallNudge } from '../../../src/slack/views/stall-messages';
import { blockTextLength, MESSAGE_BLOCK_TEXT_LIMIT, validateBlocks, validateView } from '../../support/block-kit-rules';

const CTX: CardContext = {
  approverIds: ['U0CISO', 'U0DEP'],
  committeeIds: ['U0COM1', 'U0COM2', 'U0COM3'],
  committeeChannel: 'C0COMMITTEE',
  committeeRiskThreshold: 12,
  committeeQuorum: 2,
};

/** Every text at its limit, in the character that grows most when escaped (& becomes &amp;). */
const full = (max: number) => '&'.repeat(max);
const L = REQUEST_TEXT_LIMITS;
const AT = '2026-11-25T10:00:00.000Z';

function record(overrides: Partial<ExceptionRecord> = {}): ExceptionRecord {
  return {
    id: 7,
    ref: 'EXC-0007',
    status: 'requested',
    policy: { key: full(40), title: full(200), maxDays: null },
    title: full(L.title.max),
    scope: full(L.scope.max),
    justification: full(L.justification.max),
    compensatingControls: full(L.compensatingControls.max),
    affectedSystems: full(L.affectedSystems.max),
    externalRef: full(L.externalRef.max),
    requesterId: 'U0REQ',
    ownerId: 'U0OWN',
    ownerConfirmation: 'unconfirmed',
    structural: true,
    structuralReason: full(L.structuralReason.max),
    requestedExpiresOn: '2027-10-01',
    expiresOn: null,
    originalExpiresOn: null,
    route: null,
    riskScore: null,
    originPermalink: null,
    createdAt: AT,
    updatedAt: AT,
    activatedAt: null,
    closingNote: null,
    renewalCount: 0,
    lastCheckinOn: null,
    attentionReason: null,
    lastReviewedAt: null,
    lastReviewedBy: null,
    triageMessage: { channel: 'C0APPROVAL', ts: '1.1' },
    approvalMessage: null,
    committeeThreadTs: null,
    round: 0,
    assessment: null,
    decisions: [],
    originalRoute: null,
    renewals: [],
    renewal: null,
    amendments: [],
    amendment: null,
    open: { stage: 'assessment', round: 0, since: AT },
    sentBack: null,
    amended: null,
    integration: {},
    ...overrides,
  } as ExceptionRecord;
}

const assessed = { assessorId: 'U0SEC1', likelihood: 4, impact: 4, score: 16, rationale: full(2000), routeReasons: ['risk score 16 is at or above the committee threshold of 12'], assessedAt: AT };
const vote = (deciderId: string, outcome: 'approve' | 'reject' = 'approve') => ({ deciderId, outcome, comment: outcome === 'reject' ? full(2000) : null, decidedAt: AT });
const renewal = { number: 1, round: 1, status: 'requested' as const, requestedBy: 'U0OWN', progress: full(2000), percentComplete: 60, evidenceUrl: full(500), controlTestedOn: '2026-12-20', requestedExpiresOn: '2027-12-01', newExpiresOn: null, createdAt: AT, decidedAt: null };

const committeeWaiting = record({ status: 'pending_approval', route: 'committee', riskScore: 16, assessment: assessed, open: { stage: 'decision', round: 0, since: AT }, approvalMessage: { channel: 'C0COMMITTEE', ts: '2.2' } });
const STATES: [string, ExceptionRecord][] = [
  ['waiting for assessment', record()],
  ['waiting for one approver', record({ status: 'pending_approval', route: 'fast_path', riskScore: 6, assessment: { ...assessed, score: 6 }, open: { stage: 'decision', round: 0, since: AT } })],
  ['waiting for the committee with 1 of 2 votes', { ...committeeWaiting, decisions: [vote('U0COM1')] }],
  ['approved by the committee', { ...committeeWaiting, status: 'active', open: null, expiresOn: '2027-10-01', originalExpiresOn: '2027-10-01', decisions: [vote('U0COM1'), vote('U0COM3')] }],
  ['rejected', { ...committeeWaiting, status: 'rejected', open: null, decisions: [vote('U0COM1'), vote('U0COM2', 'reject')] }],
  [
    'renewal waiting for assessment',
    record({ status: 'active', route: 'committee', riskScore: 16, expiresOn: '2027-10-01', originalExpiresOn: '2027-10-01', round: 1, renewal, renewals: [renewal], open: { stage: 'assessment', round: 1, since: AT } }),
  ],
];

describe('cards at the limits of every field, in each state', () => {
  it.each(STATES)('%s: the triage card and the decision message stay within Block Kit limits', (_state, r) => {
    const tally = tallyVotes(r.decisions, r.route ?? 'fast_path', CTX.committeeQuorum);
    const messages = [triageCard(r, CTX), ...(r.route ? [approvalCard(r, tally, CTX, { threaded: false }), approvalCard(r, tally, CTX, { threaded: true })] : [])];
    for (const message of messages) {
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      expect(blockTextLength(message.blocks)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
      // The ask comes first: the header, then where it stands.
      expect(message.blocks.slice(0, 2).map((b) => b.type)).toEqual(['header', 'section']);
    }
  });

  it('the assessment modal for a renewal at its limits is a valid view', () => {
    const [, renewing] = STATES.at(-1)!;
    expect(validateView(assessmentModal(renewing, 12))).toEqual([]);
  });

  it('an escalation of hundreds of stalled requests lists what fits and names the rest', () => {
    const many = Array.from({ length: 400 }, (_, i) => ({ ...committeeWaiting, id: i + 1, ref: `EXC-${String(i + 1).padStart(4, '0')}` }));
    for (const to of ['committee', 'approvers'] as const) {
      const message = stallEscalation(many, 40, to, CTX);
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      expect(blockTextLength(message.blocks)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
      expect(JSON.stringify(message.blocks)).toMatch(/…and \d+ more: EXC-/);
    }
  });

  it('the nudges and the stall notice stay within limits and escape the title', () => {
    const messages = [stallNudge(committeeWaiting, CTX.committeeIds.slice(), 9, { again: true }), stallNotice(committeeWaiting, { round: 0, stage: 'decision', escalated: true, workingDays: 6 }, CTX)!];
    for (const message of messages) expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(JSON.stringify(messages[1]!.blocks)).toContain('&amp;&amp;');
    expect(stallNotice(committeeWaiting, { round: 0, stage: 'assessment', escalated: false, workingDays: 3 }, CTX)).toBeUndefined();
  });
});

describe('a change of terms at the limits of every field', () => {
  const change = (status: 'requested' | 'pending_approval' | 'approved' | 'rejected') => ({
    round: 1,
    status,
    requestedBy: 'U0OWN',
    reason: full(2000),
    scope: `<${full(L.scope.max - 1)}`,
    affectedSystems: null,
    compensatingControls: `<${full(L.compensatingControls.max - 1)}`,
    previousScope: full(L.scope.max),
    previousAffectedSystems: full(L.affectedSystems.max),
    previousCompensatingControls: full(L.compensatingControls.max),
    createdAt: AT,
    decidedAt: status === 'approved' || status === 'rejected' ? AT : null,
  });
  const active = { status: 'active' as const, route: 'committee' as const, riskScore: 16, expiresOn: '2027-10-01', originalExpiresOn: '2027-10-01', round: 1, assessment: assessed };
  const CHANGES: [string, ExceptionRecord, string][] = [
    ['waiting for assessment', record({ ...active, amendment: change('requested'), amendments: [change('requested')], open: { stage: 'assessment', round: 1, since: AT } }), 'Change of terms waiting for risk assessment'],
    ['waiting for the committee', record({ ...active, amendment: change('pending_approval'), amendments: [change('pending_approval')], open: { stage: 'decision', round: 1, since: AT }, decisions: [vote('U0COM1')] }), 'Change of terms waiting for the steering committee'],
    ['approved', record({ ...active, amendment: change('approved'), amendments: [change('approved')], open: null, decisions: [vote('U0COM1'), vote('U0COM3')] }), 'change of terms approved by'],
    ['rejected', record({ ...active, amendment: change('rejected'), amendments: [change('rejected')], open: null, decisions: [vote('U0COM1', 'reject')] }), 'change of terms rejected by'],
  ];

  it.each(CHANGES)('%s: the cards say so, show both versions and stay within Block Kit limits', (_state, r, lead) => {
    const tally = tallyVotes(r.decisions, 'committee', CTX.committeeQuorum);
    const triage = triageCard(r, CTX);
    expect(JSON.stringify(triage.blocks[1])).toContain(lead);
    for (const message of [triage, approvalCard(r, tally, CTX, { threaded: false }), approvalCard(r, tally, CTX, { threaded: true })]) {
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      expect(blockTextLength(message.blocks)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
      const content = JSON.stringify(message.blocks);
      // Both versions of each changed field, escaped; never called a renewal.
      expect(content).toContain('*Scope*\\n_');
      expect(content).toContain('&lt;&amp;');
      expect(`${message.text} ${content}`).not.toMatch(/renewal/i);
    }
    expect(validateView(assessmentModal(r, 12))).toEqual([]);
  });

  it('the decision message names the change of terms, and its Approve names what is accepted', () => {
    const [, waiting] = CHANGES[1]!;
    const card = approvalCard(waiting, tallyVotes(waiting.decisions, 'committee', CTX.committeeQuorum), CTX, { threaded: false });
    expect(card.blocks[0]).toMatchObject({ type: 'header', text: { text: expect.stringMatching(/^Decision needed: change of terms of EXC-0007 · /) } });
    expect(JSON.stringify(card.blocks)).toContain('You accept the risk of the change of terms of');
    expect(card.text).toMatch(/^Decision needed on the change of terms of EXC-0007/);
  });
});

describe('where it is applied, on the cards', () => {
  const pending = { since: AT, attempts: 12, nextAttemptAt: AT, lastError: full(2000), lastErrorCode: 'refused' };
  const people = Array.from({ length: 1000 }, (_, i) => ({ slackUserId: `U0P${i}`, vendorUserId: `00u${i}`, email: `${full(60)}@example.com`, displayName: null }));
  const failing = {
    bypass: { vendor: 'okta' as const, vendorLabel: 'Okta', groupId: '00g1', groupName: full(256), people, state: 'removing' as const, inSync: false, pending },
    issue: { vendor: 'jira' as const, vendorLabel: 'Jira', key: 'SEC-142', url: 'https://example.atlassian.net/browse/SEC-142', createdByApp: true, inSync: false, pending },
  };

  it.each(STATES)('%s, with a failing bypass group and Jira issue: still within limits, the first line still first', (_state, r) => {
    const withIntegration = { ...r, integration: failing };
    const tally = tallyVotes(r.decisions, r.route ?? 'fast_path', CTX.committeeQuorum);
    const messages = [triageCard(withIntegration, CTX), ...(r.route ? [approvalCard(withIntegration, tally, CTX, { threaded: false }), approvalCard(withIntegration, tally, CTX, { threaded: true })] : [])];
    for (const message of messages) {
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      expect(blockTextLength(message.blocks)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
      expect(message.blocks.slice(0, 2).map((b) => b.type)).toEqual(['header', 'section']);
      expect(JSON.stringify(message.blocks)).toContain('1000 people');
      expect(JSON.stringify(message.blocks)).toContain('Jira <https://example.atlassian.net/browse/SEC-142|SEC-142>');
    }
  });

  it('a card of an exception that names no vendor says nothing about one', () => {
    const [, waiting] = STATES[1]!;
    expect(JSON.stringify(triageCard(waiting, CTX).blocks)).not.toMatch(/Okta|Entra|Jira|group/);
  });
});
