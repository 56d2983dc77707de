import { describe, expect, it } from 'vitest';
import { ageBucket, completeMetrics, computeMetrics, isoWeek, mondayOf, mondayOfIsoWeek } from '../../src/domain/metrics';

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
  const base = {
    today,
    active,
    policyCount: 8,
    waiting: [
      { exceptionId: 7, since: '2026-11-20T10:00:00Z', sinceDay: '2026-11-20' },
      { exceptionId: 5, since: '2026-11-10T09:00:00Z', sinceDay: '2026-11-10' },
    ],
    expiring: [
      { exceptionId: 9, expiresOn: '2026-12-08' },
      { exceptionId: 3, expiresOn: '2026-12-01' },
    ],
    renewalsThisQuarter: 2,
  };

  it('lists the ended exceptions still applied in an identity provider by ID, and none when it is told of none', () => {
    const still = [9, 2].map((exceptionId) => ({ exceptionId, status: 'expired' as const, vendorLabel: 'Okta', groupName: 'MFA-exempt', people: 3 }));
    expect(computeMetrics({ ...base, history: [], stillApplied: still }).stillAppliedItems.map((i) => i.exceptionId)).toEqual([2, 9]);
    expect(computeMetrics({ ...base, history: [] }).stillAppliedItems).toEqual([]);
  });

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
      waitingItems: [
        { exceptionId: 5, since: '2026-11-10T09:00:00Z', days: 15 },
        { exceptionId: 7, since: '2026-11-20T10:00:00Z', days: 5 },
      ],
      expiringIn14Days: 2,
      expiringItems: [
        { exceptionId: 3, expiresOn: '2026-12-01' },
        { exceptionId: 9, expiresOn: '2026-12-08' },
      ],
      verdict: null,
      series: [{ week: '2026-W48', monday: '2026-11-23', active: 4, ages: { '0–90': 1, '91–180': 1, '181–365': 1, 'over 365': 1 } }],
    });
  });

  it('charts every week from the same week last quarter to this one, a week without a post as a gap', () => {
    const ages = { '0–90': 3, '91–180': 0, '181–365': 0, 'over 365': 0 };
    const history = ['2026-W35', '2026-W36', '2026-W40', '2026-W47'].map((week) => ({ week, active: 3, overOneEighty: 0, ages }));
    const m = computeMetrics({ ...base, history });
    expect(m.series).toHaveLength(14);
    expect(m.series[0]).toEqual({ week: '2026-W35', monday: '2026-08-24', active: 3, ages });
    expect(m.series.map((p) => p.active)).toEqual([3, 3, null, null, null, 3, null, null, null, null, null, null, 3, 4]);
    // A register with three weeks of history charts three weeks, not twelve.
    expect(computeMetrics({ ...base, history: history.slice(3).concat({ week: '2026-W46', active: 2, overOneEighty: 0, ages }) }).series.map((p) => p.monday)).toEqual(['2026-11-09', '2026-11-16', '2026-11-23']);
  });

  it.each([
    ['more exceptions', 2, 2, 'worse'],
    ['as many, but more of them older than 180 days', 4, 1, 'worse'],
    ['as many, fewer of them old', 4, 3, 'better'],
    ['fewer exceptions', 9, 2, 'better'],
    ['within one exception', 5, 2, 'steady'],
  ] as const)('the verdict against the same week last quarter with %s', (_, before, olderBefore, direction) => {
    const m = computeMetrics({ ...base, history: [{ week: isoWeek('2026-08-26'), active: before, overOneEighty: olderBefore }] });
    expect(m.verdict).toEqual({ direction, comparedWith: 'last quarter', since: '2026-08-24', activeChange: 4 - before, overOneEightyChange: 2 - olderBefore });
  });

  it('compares with last week when there is no quarter of history yet', () => {
    expect(computeMetrics({ ...base, history: [{ week: '2026-W47', active: 4, overOneEighty: 2 }] }).verdict).toEqual({ direction: 'steady', comparedWith: 'last week', since: '2026-11-16', activeChange: 0, overOneEightyChange: 0 });
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

describe('mondayOfIsoWeek', () => {
  it.each([
    ['2026-W48', '2026-11-23'],
    ['2026-W53', '2026-12-28'],
    ['2027-W01', '2027-01-04'],
    ['2026-W01', '2025-12-29'],
  ])('%s begins on %s', (week, monday) => {
    expect(mondayOfIsoWeek(week)).toBe(monday);
  });
});

describe('completeMetrics', () => {
  it('gives figures queued by an earlier version what the post now reads: no names, no chart, the week as a date', () => {
    const queued = { week: '2026-W48', active: 4, changeSinceLastWeek: 1, series: [{ week: '2026-W48', active: 4 }] } as unknown as Parameters<typeof completeMetrics>[0];
    expect(completeMetrics(queued)).toMatchObject({ week: '2026-W48', monday: '2026-11-23', today: '2026-11-23', active: 4, changeSinceLastWeek: 1, waitingItems: [], expiringItems: [], stillAppliedItems: [], series: [], verdict: null });
  });
});
