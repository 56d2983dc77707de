import { describe, expect, it } from 'vitest';
import { REQUEST_TEXT_LIMITS } from '../../../src/domain/request';
import type { ExceptionRecord } from '../../../src/services/exception-record';
import { checkinAlert, expirySummary } from '../../../src/slack/views/follow-up-messages';
import { personalDigest, type CheckinState, type OrgCalendar } from '../../../src/slack/views/personal-digest';
import { blockTextLength, MESSAGE_BLOCK_TEXT_LIMIT, validateBlocks } from '../../support/block-kit-rules';

const CAL: OrgCalendar = { today: '2026-12-25', timeZone: 'Europe/London' };
const AT = '2026-11-25T10:00:00.000Z';
/** The character that grows most when escaped (& becomes &amp;), at each field's limit. */
const full = (max: number) => '&'.repeat(max);
const L = REQUEST_TEXT_LIMITS;

function record(id: number, overrides: Partial<ExceptionRecord> = {}): ExceptionRecord {
  return {
    id,
    ref: `EXC-${String(id).padStart(4, '0')}`,
    status: 'active',
    policy: { key: 'MFA-01', title: 'Multi-factor authentication', maxDays: null },
    title: `Gap number ${id}`,
    scope: 'hr-app-01',
    justification: 'Replacement due in Q1.',
    compensatingControls: 'VPN with device certificates; logins reviewed weekly.',
    affectedSystems: null,
    externalRef: null,
    requesterId: 'U0REQ',
    ownerId: 'U0OWN',
    ownerConfirmation: 'accepted',
    structural: false,
    structuralReason: null,
    requestedExpiresOn: '2027-01-06',
    expiresOn: '2027-01-06',
    originalExpiresOn: '2027-01-06',
    route: 'fast_path',
    riskScore: 4,
    originPermalink: null,
    createdAt: AT,
    updatedAt: AT,
    activatedAt: AT,
    closingNote: null,
    renewalCount: 0,
    lastCheckinOn: null,
    attentionReason: null,
    lastReviewedAt: null,
    lastReviewedBy: null,
    triageMessage: null,
    approvalMessage: null,
    committeeThreadTs: null,
    round: 0,
    assessment: null,
    decisions: [],
    originalRoute: 'fast_path',
    renewals: [],
    renewal: null,
    amendments: [],
    amendment: null,
    open: null,
    ...overrides,
  } as ExceptionRecord;
}

const open = (id: number): CheckinState => ({ id, askedOn: '2026-12-25', answer: null, answeredAt: null, superseded: false });
const actionIds = (blocks: unknown[]) => (blocks as { type: string; elements?: { action_id?: string }[] }[]).filter((b) => b.type === 'actions').flatMap((b) => (b.elements ?? []).map((e) => e.action_id));

describe("a person's DM for one run", () => {
  it('leads with what asks for a click, then what happened, each day as people say it and the zone where it ends', () => {
    const message = personalDigest({ reminders: [{ record: record(2), expiresOn: '2027-01-06' }], checkins: [{ record: record(2), checkin: open(9) }], expired: [record(1, { status: 'expired', expiresOn: '2026-12-24' })] }, CAL)!;
    const text = JSON.stringify(message.blocks);
    expect(message.text).toBe('EXC-0002 expires soon. EXC-0002: is the compensating control still in place and working? EXC-0001 has expired; the policy applies again in full.');
    expect(actionIds(message.blocks)).toEqual(['renew_exception', 'close_exception', 'view_record', 'checkin_yes', 'checkin_no']);
    expect(text).toContain('Expires *Wed 6 Jan 2027 (in 12 days)*, ending at midnight Europe/London');
    expect(text).toContain('*expired* at the end of Thu 24 Dec (midnight Europe/London)');
  });

  it.each([
    ['closed', record(2, { status: 'closed' }), 'EXC-0002 was *closed*; nothing more to do.'],
    ['revoked', record(2, { status: 'revoked' }), 'EXC-0002 was *revoked*'],
    ['renewed', record(2, { expiresOn: '2027-03-01' }), '*Renewed*: it now expires Mon 1 Mar 2027 (in 66 days), ending at midnight Europe/London.'],
    ['waiting on its renewal', record(2, { open: { stage: 'assessment', round: 1, since: AT } }), 'waiting for the security team’s risk assessment'],
    [
      'waiting on a change of its terms',
      record(2, {
        open: { stage: 'decision', round: 1, since: AT },
        amendment: { round: 1, status: 'pending_approval', requestedBy: 'U0OWN', reason: 'Fewer users now.', scope: 'hr-app-01, 12 users', affectedSystems: null, compensatingControls: 'VPN only.', previousScope: 'hr-app-01', previousAffectedSystems: null, previousCompensatingControls: 'VPN only.', createdAt: AT, decidedAt: null },
      }),
      'Change of terms requested by <@U0OWN>, waiting for a decision. It does not move the expiry',
    ],
  ])('a reminder for an exception since %s says so and has no buttons', (_, moved, says) => {
    const message = personalDigest({ reminders: [{ record: moved, expiresOn: '2027-01-06' }], checkins: [], expired: [] }, CAL)!;
    expect(actionIds(message.blocks)).toEqual([]);
    expect(JSON.stringify(message.blocks)).toContain(says);
    expect(message.text).toBe('No longer waiting for you: EXC-0002.');
  });

  it.each([
    ['answered Yes', { ...open(9), answer: 'yes' as const, answeredAt: AT }, 'You answered *Yes*'],
    ['answered No', { ...open(9), answer: 'no' as const, answeredAt: AT }, 'You answered *No*'],
    ['replaced by a newer one', { ...open(9), superseded: true }, 'closed: a newer one was asked'],
  ])('a check-in %s loses its buttons', (_, checkin, says) => {
    const message = personalDigest({ reminders: [], checkins: [{ record: record(2), checkin }], expired: [] }, CAL)!;
    expect(actionIds(message.blocks)).toEqual([]);
    expect(JSON.stringify(message.blocks)).toContain(says);
  });

  it('stays within Block Kit limits however many items and however long their text, naming what did not fit', () => {
    const huge = (id: number) => record(id, { title: full(L.title.max), compensatingControls: full(L.compensatingControls.max), policy: { key: full(40), title: full(200), maxDays: null } });
    const ids = Array.from({ length: 60 }, (_, i) => i + 1);
    const message = personalDigest(
      {
        reminders: ids.map((id) => ({ record: huge(id), expiresOn: '2027-01-06' })),
        checkins: ids.map((id) => ({ record: huge(id), checkin: open(id) })),
        expired: ids.map((id) => huge(id + 100)),
      },
      CAL,
    )!;
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
    expect(blockTextLength(message.blocks)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
    expect(JSON.stringify(message.blocks)).toMatch(/…and \d+ more: EXC-/);
  });

  it('is nothing at all when there is nothing to tell', () => {
    expect(personalDigest({ reminders: [], checkins: [], expired: [] }, CAL)).toBeUndefined();
  });
});

describe('channel posts', () => {
  it('the expiry summary mentions each owner once, with their exceptions under them', () => {
    const expired = [record(1, { expiresOn: '2026-12-24' }), record(2, { expiresOn: '2026-12-24' }), record(3, { expiresOn: '2026-12-24', ownerId: 'U0OTHER' })];
    const text = JSON.stringify(expirySummary(expired, CAL).blocks);
    expect(text.split('<@U0OWN>')).toHaveLength(2);
    expect(text).toContain('*3 exceptions expired* at the end of Thu 24 Dec (midnight Europe/London)');
  });

  it('the needs-attention alert offers Revoke only while the exception still needs attention', () => {
    const needs = record(1, { attentionReason: 'No answer.' });
    const confirmed = record(2, { lastCheckinOn: '2026-12-27' });
    const message = checkinAlert([needs, confirmed, record(3, { status: 'revoked' })], 'no_answer', ['U0CISO'], CAL);
    expect(actionIds(message.blocks)).toEqual(['revoke_exception', 'view_record']);
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('The owner has since confirmed the compensating control (Sun 27 Dec)');
    expect(text).toContain('*Revoked*; nothing more to decide.');
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
  });
});
