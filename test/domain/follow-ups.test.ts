import { describe, expect, it } from 'vitest';
import { calendarDateIn } from '../../src/domain/calendar';
import { checkinWorthAsking, dueReminder, escalationTarget, hasExpired, repeatNudgeDue, stallFollowUpDue, stallKey, stallStage, workingDaysSince } from '../../src/domain/follow-ups';

describe('hasExpired: an exception expires at the end of its expiry day', () => {
  it.each([
    // [expiresOn, today, expired]
    ['2027-01-15', '2027-01-14', false],
    ['2027-01-15', '2027-01-15', false], // the whole expiry day is still covered
    ['2027-01-15', '2027-01-16', true], // from the next day on
    ['2027-01-15', '2027-03-01', true], // long after (catch-up after downtime)
    ['2026-12-31', '2027-01-01', true], // across a year boundary
    ['2027-02-28', '2027-03-01', true],
    ['2028-02-28', '2028-02-29', true], // the leap day is the day after
    ['2028-02-29', '2028-02-29', false],
    ['2028-02-29', '2028-03-01', true],
  ])('expiring %s, on %s: expired=%s', (expiresOn, today, expired) => {
    expect(hasExpired(expiresOn, today)).toBe(expired);
  });

  it.each([
    // The last minute of the expiry day in the organisation's time zone is not yet expired; the first minute after is.
    ['2027-01-15T23:59:59Z', 'UTC', false],
    ['2027-01-16T00:00:00Z', 'UTC', true],
    // 23:59 UTC on the 15th is already the 16th in Auckland (UTC+13): expired there.
    ['2027-01-15T23:59:00Z', 'Pacific/Auckland', true],
    ['2027-01-15T10:59:00Z', 'Pacific/Auckland', false], // 23:59 on the 15th there
    ['2027-01-15T11:00:00Z', 'Pacific/Auckland', true], // 00:00 on the 16th there
    // 03:00 UTC on the 16th is still the 15th in Los Angeles (UTC-8): not expired there.
    ['2027-01-16T03:00:00Z', 'America/Los_Angeles', false],
    ['2027-01-16T07:59:00Z', 'America/Los_Angeles', false],
    ['2027-01-16T08:00:00Z', 'America/Los_Angeles', true],
  ])('an exception expiring 2027-01-15 at %s in %s: expired=%s', (instant, timeZone, expired) => {
    expect(hasExpired('2027-01-15', calendarDateIn(new Date(instant), timeZone))).toBe(expired);
  });
});

describe('dueReminder: 14, 7 and 1 days before expiry, each once, the most urgent only', () => {
  const EXPIRES = '2027-01-15';
  const DAYS = [14, 7, 1];

  it.each<[string, string, number[], number | undefined]>([
    ['15 days left: too early', '2026-12-31', [], undefined],
    ['exactly 14 days left', '2027-01-01', [], 14],
    ['13 days left, nothing sent yet', '2027-01-02', [], 14],
    ['13 days left, 14 already sent', '2027-01-02', [14], undefined],
    ['8 days left, 14 already sent', '2027-01-07', [14], undefined],
    ['exactly 7 days left, 14 sent', '2027-01-08', [14], 7],
    ['exactly 7 days left after downtime: not the stale 14', '2027-01-08', [], 7],
    ['5 days left after downtime: only 7', '2027-01-10', [], 7],
    ['5 days left, 7 sent', '2027-01-10', [14, 7], undefined],
    ['2 days left, 14 and 7 sent', '2027-01-13', [14, 7], undefined],
    ['exactly 1 day left, 14 and 7 sent', '2027-01-14', [14, 7], 1],
    ['exactly 1 day left after downtime', '2027-01-14', [], 1],
    ['on the expiry day, nothing sent', '2027-01-15', [], 1],
    ['on the expiry day, 1 sent', '2027-01-15', [14, 7, 1], undefined],
    ['the day after expiry', '2027-01-16', [], undefined],
    ['long after expiry', '2027-02-20', [14], undefined],
    // Once a more urgent reminder went out, a less urgent one is never sent.
    ['10 days left but 7 was already sent', '2027-01-05', [7], undefined],
    ['10 days left but 1 was already sent', '2027-01-05', [1], undefined],
    ['5 days left but 1 was already sent', '2027-01-10', [1], undefined],
  ])('%s', (_label, today, alreadySent, expected) => {
    expect(dueReminder(EXPIRES, today, DAYS, alreadySent)).toBe(expected);
  });

  it('does not depend on the order REMINDER_DAYS is written in', () => {
    expect(dueReminder(EXPIRES, '2027-01-10', [1, 14, 7], [])).toBe(7);
    expect(dueReminder(EXPIRES, '2027-01-14', [7, 1, 14], [14])).toBe(1);
  });

  it('works with other thresholds, e.g. 30 and 3, counted across a month end', () => {
    expect(dueReminder('2027-03-02', '2027-01-31', [30, 3], [])).toBe(30);
    expect(dueReminder('2027-03-02', '2027-01-30', [30, 3], [])).toBeUndefined();
    expect(dueReminder('2027-03-02', '2027-02-27', [30, 3], [30])).toBe(3);
  });
});

describe('workingDaysSince: Monday to Friday, the days after the start up to and including today', () => {
  // 2026-11-25 is a Wednesday; 2026-11-27 a Friday; 2026-11-28/29 the weekend; 2026-11-30 a Monday.
  it.each([
    ['Wed → same Wed', '2026-11-25', '2026-11-25', 0],
    ['Wed → Thu', '2026-11-25', '2026-11-26', 1],
    ['Wed → Fri', '2026-11-25', '2026-11-27', 2],
    ['Wed → Sat', '2026-11-25', '2026-11-28', 2],
    ['Wed → Sun', '2026-11-25', '2026-11-29', 2],
    ['Wed → Mon', '2026-11-25', '2026-11-30', 3],
    ['Wed → next Wed', '2026-11-25', '2026-12-02', 5],
    ['Wed → next Thu', '2026-11-25', '2026-12-03', 6],
    ['Fri → Sat', '2026-11-27', '2026-11-28', 0],
    ['Fri → Sun', '2026-11-27', '2026-11-29', 0],
    ['Fri → Mon', '2026-11-27', '2026-11-30', 1],
    ['Fri → Tue', '2026-11-27', '2026-12-01', 2],
    ['Fri → Wed', '2026-11-27', '2026-12-02', 3],
    ['Fri → next Fri', '2026-11-27', '2026-12-04', 5],
    ['Fri → the Monday after next', '2026-11-27', '2026-12-07', 6],
    ['Sat → Mon', '2026-11-28', '2026-11-30', 1],
    ['Sun → Mon', '2026-11-29', '2026-11-30', 1],
    ['Mon → Mon two weeks later', '2026-11-30', '2026-12-14', 10],
    ['across the year end (Wed 30 Dec → Mon 4 Jan)', '2026-12-30', '2027-01-04', 3],
    ['today before the start', '2026-11-30', '2026-11-25', 0],
  ])('%s: %s → %s is %i', (_label, since, today, expected) => {
    expect(workingDaysSince(since, today)).toBe(expected);
  });
});

describe('stallStage: nudge after more than 2 working days, escalate after more than 5', () => {
  it.each<[number, ReturnType<typeof stallStage>]>([
    [0, undefined],
    [1, undefined],
    [2, undefined],
    [3, 'stall_nudge'],
    [4, 'stall_nudge'],
    [5, 'stall_nudge'],
    [6, 'stall_escalation'],
    [7, 'stall_escalation'],
    [40, 'stall_escalation'],
  ])('%i working days waiting → %s', (days, stage) => {
    expect(stallStage(days)).toBe(stage);
  });

  it('a request made on a Friday is first nudged on Wednesday and escalated the Monday after next', () => {
    const stageOn = (today: string) => stallStage(workingDaysSince('2026-11-27', today));
    expect(stageOn('2026-12-01')).toBeUndefined(); // Tue: 2 working days
    expect(stageOn('2026-12-02')).toBe('stall_nudge'); // Wed: 3
    expect(stageOn('2026-12-04')).toBe('stall_nudge'); // Fri: 5
    expect(stageOn('2026-12-06')).toBe('stall_nudge'); // Sun: still 5
    expect(stageOn('2026-12-07')).toBe('stall_escalation'); // Mon: 6
  });
});

describe('after the escalation: nudged again every 3 working days until someone acts', () => {
  it.each([
    [5, 0],
    [6, 0],
    [8, 0],
    [9, 1],
    [11, 1],
    [12, 2],
    [30, 8],
  ])('%i working days waiting → nudge again number %i is due', (days, repeat) => {
    expect(repeatNudgeDue(days)).toBe(repeat);
  });

  const nothingSent = { nudged: false, escalated: false, lastRepeat: 0 };
  it.each<[string, number, Parameters<typeof stallFollowUpDue>[1], ReturnType<typeof stallFollowUpDue>]>([
    ['not yet', 2, nothingSent, undefined],
    ['the first nudge', 3, nothingSent, { kind: 'nudge' }],
    ['nothing more before the escalation', 5, { ...nothingSent, nudged: true }, undefined],
    ['the escalation on time', 6, { ...nothingSent, nudged: true }, { kind: 'escalation', covers: 0 }],
    // After downtime the escalation stands in for what was due meanwhile, and the next nudge comes at least 3 working days later.
    ['a late escalation, standing in for the nudge', 7, nothingSent, { kind: 'escalation', covers: 1 }],
    ['a much later escalation', 11, nothingSent, { kind: 'escalation', covers: 2 }],
    ['nothing between', 8, { nudged: true, escalated: true, lastRepeat: 0 }, undefined],
    ['the first nudge again', 9, { nudged: true, escalated: true, lastRepeat: 0 }, { kind: 'nudge_again', repeat: 1 }],
    ['not the same one twice', 10, { nudged: true, escalated: true, lastRepeat: 1 }, undefined],
    ['the next one', 12, { nudged: true, escalated: true, lastRepeat: 1 }, { kind: 'nudge_again', repeat: 2 }],
    ['only the latest after downtime', 20, { nudged: true, escalated: true, lastRepeat: 1 }, { kind: 'nudge_again', repeat: 4 }],
    ['the escalation first, whatever the count', 12, { nudged: true, escalated: false, lastRepeat: 0 }, { kind: 'escalation', covers: 2 }],
  ])('%s (%i working days)', (_label, days, sent, expected) => {
    expect(stallFollowUpDue(days, sent)).toEqual(expected);
  });
});

describe('stallKey: each amended version of a request stalls afresh', () => {
  it.each([
    [0, 'assessment', 0, '0:assessment'],
    [0, 'decision', 0, '0:decision'],
    [0, 'assessment', 1, '0:assessment:amended:1'],
    [0, 'decision', 2, '0:decision:amended:2'],
    [3, 'assessment', 0, '3:assessment'],
  ] as const)('round %i, %s, amended %i times: %s', (round, stage, amendments, key) => {
    expect(stallKey(round, stage, amendments)).toBe(key);
  });
});

describe('checkinWorthAsking: no check-in for an exception that ends before an answer would be due', () => {
  it.each([
    ['2027-01-15', '2027-01-01', 7, true],
    ['2027-01-09', '2027-01-01', 7, true],
    ['2027-01-08', '2027-01-01', 7, false],
    ['2027-01-01', '2027-01-01', 7, false],
    [null, '2027-01-01', 7, true],
  ] as const)('expiring %s, asked %s, %i days of grace: %s', (expiresOn, today, grace, worth) => {
    expect(checkinWorthAsking(expiresOn, today, grace)).toBe(worth);
  });
});

describe('escalationTarget: never back to whoever is stalling it', () => {
  it.each([
    ['assessment', null, 'committee'],
    ['assessment', 'committee', 'committee'],
    ['decision', 'fast_path', 'committee'],
    ['decision', 'committee', 'approvers'],
  ] as const)('%s on route %s → %s', (stage, route, target) => {
    expect(escalationTarget(stage, route)).toBe(target);
  });
});
