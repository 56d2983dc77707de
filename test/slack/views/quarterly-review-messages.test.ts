import { describe, expect, it } from 'vitest';
import type { ExceptionRecord } from '../../../src/services/exception-record';
import { OVERDUE_PER_MESSAGE } from '../../../src/services/quarterly-review';
import { reviewOverdue, type ReviewContext } from '../../../src/slack/views/quarterly-review-messages';
import { blockTextLength, MESSAGE_BLOCK_TEXT_LIMIT, validateBlocks } from '../../support/block-kit-rules';

const AT = '2027-01-04T09:30:00.000Z';
const CONTEXT: ReviewContext = { today: '2027-01-04', timeZone: 'Europe/London', committeeRiskThreshold: 12, latestQuarter: '2027-Q1' };
const full = (max: number) => '&'.repeat(max);

function overdue(overrides: Partial<ExceptionRecord> = {}): ExceptionRecord {
  return {
    id: 1,
    ref: 'EXC-0001',
    status: 'active',
    policy: { key: full(40), title: 'MFA', maxDays: null },
    title: full(150),
    ownerId: 'U0OWN',
    riskScore: 16,
    originalExpiresOn: '2026-12-15',
    expiresOn: '2027-02-20',
    attentionReason: full(500),
    lastReviewedAt: null,
    lastReviewedBy: null,
    updatedAt: AT,
    renewals: [{ round: 1, status: 'approved', requestedBy: 'U0OWN', progress: full(2000), percentComplete: 60, evidenceUrl: null, controlTestedOn: '2026-11-20', requestedExpiresOn: '2027-02-20', newExpiresOn: '2027-02-20', createdAt: AT, decidedAt: AT }],
    ...overrides,
  } as ExceptionRecord;
}

const buttonsOf = (blocks: unknown[]) => JSON.stringify(blocks).match(/"action_id":"(reapprove|close)_exception"/g) ?? [];

describe('a quarterly review item open past its original expiry', () => {
  it.each([
    ['still to decide', overdue(), 2, 'Risk 16 (high)'],
    ['re-approved in this review', overdue({ lastReviewedAt: '2027-01-04T10:15:00.000Z', lastReviewedBy: 'U0COM1' }), 0, ':white_check_mark: Re-approved by <@U0COM1>'],
    ['closed as fixed', overdue({ status: 'closed' }), 0, 'Closed as fixed on'],
    ['revoked', overdue({ status: 'revoked' }), 0, 'Revoked on'],
    ['expired', overdue({ status: 'expired' }), 0, 'Expired at the end of Sat 20 Feb'],
  ] as const)('%s: says where it stands, with buttons only while there is something to decide', (_, record, buttons, says) => {
    const { blocks } = reviewOverdue([record], '2027-Q1', CONTEXT);
    expect(buttonsOf(blocks)).toHaveLength(buttons);
    expect(JSON.stringify(blocks)).toContain(says);
  });

  it("loses its buttons in an older quarter's review once a newer review carries it", () => {
    const { blocks } = reviewOverdue([overdue()], '2026-Q4', CONTEXT);
    expect(buttonsOf(blocks)).toEqual([]);
    expect(JSON.stringify(blocks)).toContain('Carried over to the 2027-Q1 review: decide it there.');
  });

  it('stays within Block Kit limits with a full page of the longest items', () => {
    const records = Array.from({ length: OVERDUE_PER_MESSAGE }, (_, i) => overdue({ id: i + 1, ref: `EXC-${String(i + 1).padStart(4, '0')}` }));
    const { blocks } = reviewOverdue(records, '2027-Q1', CONTEXT);
    expect(validateBlocks(blocks, 'message')).toEqual([]);
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(blockTextLength(blocks)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
  });
});
