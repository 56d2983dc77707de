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

describe('the weekly post: ended exceptions still applied in an identity provider', () => {
  const pending = { since: '2026-11-20T10:00:00.000Z', attempts: 9, nextAttemptAt: '2026-11-30T10:00:00.000Z', lastError: full(2000), lastErrorCode: 'refused' };
  const stillApplied = ids.map((i) => ({ exceptionId: i, status: i % 2 ? ('expired' as const) : ('revoked' as const), vendorLabel: i % 3 ? 'Okta' : 'Microsoft Entra ID', groupName: full(256), people: i }));
  const withBypass = new Map(
    [...records].map(([id, record]) => [id, { ...record, integration: { bypass: { vendor: 'okta', vendorLabel: 'Okta', groupId: '00g1', groupName: full(256), people: [], state: 'removing', inSync: false, pending } } } as ExceptionRecord]),
  );

  it('counts and names them at the top of the lists, within Block Kit limits alongside everything else at its longest', () => {
    const { blocks, text } = metricsMessage({ ...metrics, stillAppliedItems: stillApplied }, { count: 12345, hash: 'f'.repeat(64) }, { charts: { active: 'F0ACTIVE000', ages: 'F0AGES0000' }, records: withBypass });
    expect(validateBlocks(blocks, 'message')).toEqual([]);
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(blockTextLength(blocks)).toBeLessThanOrEqual(MESSAGE_BLOCK_TEXT_LIMIT);
    const content = JSON.stringify(blocks);
    expect(content).toContain(':warning: *Expired or revoked in the register, still applied in Okta and Microsoft Entra ID*: *40*');
    expect(content.indexOf('still applied in Okta and')).toBeLessThan(content.indexOf('*Waiting for assessment or a decision*'));
    expect(content).toContain('…and 35 more: EXC-0006');
    expect(content).toContain('Expired · 1 person still in Okta group');
    expect(text).toContain('But 40 exceptions the register has ended are still applied in Okta and Microsoft Entra ID (below).');
  });

  it('says nothing about them when there are none', () => {
    const content = JSON.stringify(metricsMessage(metrics, undefined, { records }).blocks);
    expect(content).not.toContain('still applied');
  });

  it('the first line keeps its verdict on the figures and adds the warning', () => {
    const verdict = { direction: 'better', comparedWith: 'last week', since: '2026-11-23', activeChange: -2, overOneEightyChange: 0 } as const;
    expect(verdictSentence({ verdict, active: 40, overOneEighty: 12, today, stillAppliedItems: stillApplied.slice(0, 1) })).toBe(
      '*Better* than last week (Mon 23 Nov): *40 active exceptions* (2 fewer), 12 older than 180 days (no change). :warning: But *1 exception the register has ended is still applied in Okta* (below).',
    );
  });
});
