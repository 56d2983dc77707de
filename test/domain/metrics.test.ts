import { describe, expect, it } from 'vitest';
import { ageBucket, computeMetrics, isoWeek, mondayOf } from '../../src/domain/metrics';

describe('isoWeek and mondayOf', () => {
  it.each([
    ['2026-11-25', '2026-W48', '2026-11-23'],
    ['2026-11-23', '2026-W48', '2026-11-23'],
    ['2026-11-29', '2026-W48', '2026-11-23'],
    ['2027-01-01', '2026-W53', '2026-12-28'],
    ['2027-01-04', '2027-W01', '2027-01-04'],
    ['2025-12-29', '2026-W01', '2025-12-29'],
  ])('%s is in %s, whose Monday is %s', (date, week, monday) => {
    expect(isoWeek(date)).toBe(week);
    expect(mondayOf(date)).toBe(monday);
  });
});

describe('ageBucket', () => {
  it.each([
    [0, '0–90'],
    [90, '0–90'],
    [91, '91–180'],
    [180, '91–180'],
    [181, '181–365'],
    [365, '181–365'],
    [366, 'over 365'],
  ] as const)('%i days is %s', (days, bucket) => {
    expect(ageBucket(days)).toBe(bucket);
  });
});

describe('computeMetrics (hand-computed register)', () => {
  const today = '2026-11-25';
  const active = [
    { approvedOn: '2026-11-01', policyKey: 'MFA-01' }, // 24 days
    { approvedOn: '2026-08-01', policyKey: 'MFA-01' }, // 116 days
    { approvedOn: '2026-04-01', policyKey: 'NET-02' }, // 238 days
    { approvedOn: '2025-06-01', policyKey: 'MFA-01' }, // 542 days
  ];
  const base = { today, active, policyCount: 8, waitingSince: ['2026-11-20T10:00:00Z', '2026-11-10T09:00:00Z'], expiringIn14Days: 1, renewalsThisQuarter: 2 };

  it('counts, buckets and ranks as a person would', () => {
    const m = computeMetrics({ ...base, history: [] });
    expect(m).toMatchObject({
      week: '2026-W48',
      active: 4,
      changeSinceLastWeek: null,
      changeSinceLastQuarter: null,
      ages: { '0–90': 1, '91–180': 1, '181–365': 1, 'over 365': 1 },
      overOneEighty: 2,
      overOneEightyGrew: false,
      perPolicy: 0.5,
      topPolicies: [
        { key: 'MFA-01', active: 3, many: false },
        { key: 'NET-02', active: 1, many: false },
      ],
      trend: 'not enough history',
      waiting: 2,
      oldestWaitingSince: '2026-11-10T09:00:00Z',
    });
  });

  it('compares with last week and the same week last quarter, and says when the over-180 group grew', () => {
    const history = [
      { week: '2026-W47', active: 3, overOneEighty: 1 },
      { week: isoWeek('2026-08-26'), active: 2, overOneEighty: 1 },
    ];
    const m = computeMetrics({ ...base, history });
    expect(m).toMatchObject({ changeSinceLastWeek: 1, changeSinceLastQuarter: 2, overOneEightyGrew: true, trend: 'up' });
    expect(computeMetrics({ ...base, history: [{ week: isoWeek('2026-08-26'), active: 4, overOneEighty: 2 }] }).trend).toBe('flat');
    expect(computeMetrics({ ...base, history: [{ week: isoWeek('2026-08-26'), active: 9, overOneEighty: 2 }] }).trend).toBe('down');
  });

  it("uses a week next to the same week last quarter when that week's post was missed", () => {
    const m = computeMetrics({ ...base, history: [{ week: isoWeek('2026-09-02'), active: 1, overOneEighty: 0 }] });
    expect(m).toMatchObject({ changeSinceLastQuarter: 3, trend: 'up' });
  });

  it('flags a policy with ten or more active exceptions', () => {
    const many = Array.from({ length: 10 }, () => ({ approvedOn: '2026-11-01', policyKey: 'WISH-1' }));
    expect(computeMetrics({ ...base, active: many, history: [] }).topPolicies).toEqual([{ key: 'WISH-1', active: 10, many: true }]);
  });
});
