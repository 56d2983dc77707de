import { describe, expect, it } from 'vitest';
import { addCalendarDays } from '../../../src/domain/calendar';
import { computeMetrics, isoWeek } from '../../../src/domain/metrics';
import type { ExceptionRecord } from '../../../src/services/exception-record';
import { metricsMessage, verdictSentence } from '../../../src/slack/views/metrics-message';
import { blockTextLength, MESSAGE_BLOCK_TEXT_LIMIT, validateBlocks } from '../../support/block-kit-rules';

const today = '2026-11-30';
const full = (max: number) => '&'.repeat(max);
const ids = Array.from({ length: 40 }, (_, i) => i + 1);
const metrics = computeMetrics({
  today,
  active: ids.map((i) => ({ approvedOn: addCalendarDays(today, -i * 9), policyKey: full(40).slice(0, 39) + String(i % 6) })),
  policyCount: 8,
  waiting: ids.map((i) => ({ exceptionId: i, since: '2026-11-01T10:00:00Z', sinceDay: '2026-11-01' })),
  expiring: ids.map((i) => ({ exceptionId: i, expiresOn: addCalendarDays(today, i % 14) })),
  renewalsThisQuarter: 3,
  history: Array.from({ length: 13 }, (_, i) => ({ week: isoWeek(addCalendarDays(today, -7 * (i + 1))), active: 30, overOneEighty: 4 })),
});
const records = new Map(ids.map((id) => [id, { id, ref: `EXC-${String(id).padStart(4, '0')}`, title: full(150), policy: { key: full(40) }, ownerId: 'U0OWN' } as ExceptionRecord]));

describe('the weekly post', () => {
  it('stays within Block Kit limits with everything waiting and expiring at once, the longest titles and both charts', () => {
    const { blocks } = metricsMessage(metrics, { count: 12345, hash: 'f'.repeat(64) }, { charts: { active: 'F0ACTIVE000', ages: 'F0AGES0000' }, records });
    expect(validateBlocks(blocks, 'message')).toEqual([]);
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(blockTextLength(blocks)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
    // Five of each by name, the rest by ID, none left out.
    expect(JSON.stringify(blocks)).toContain('…and 35 more: EXC-0006, EXC-0007');
  });

  it.each([
    [{ direction: 'worse', comparedWith: 'last quarter', since: '2026-08-31', activeChange: 6, overOneEightyChange: 4 }, '*Worse* than the same week last quarter (Mon 31 Aug): *40 active exceptions* (6 more), 12 older than 180 days (4 more).'],
    [{ direction: 'better', comparedWith: 'last week', since: '2026-11-23', activeChange: -2, overOneEightyChange: 0 }, '*Better* than last week (Mon 23 Nov): *40 active exceptions* (2 fewer), 12 older than 180 days (no change).'],
    [{ direction: 'steady', comparedWith: 'last quarter', since: '2026-08-31', activeChange: 1, overOneEightyChange: 0 }, '*Steady* since the same week last quarter (Mon 31 Aug): *40 active exceptions* (1 more), 12 older than 180 days (no change).'],
    [null, 'First report: *40 active exceptions*, 12 older than 180 days. Next week\'s post compares with this one.'],
  ] as const)('opens with one factual sentence: %j', (verdict, sentence) => {
    expect(verdictSentence({ verdict, active: 40, overOneEighty: 12, today })).toBe(sentence);
  });
});
