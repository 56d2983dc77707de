import { describe, expect, it } from 'vitest';
import { EXCEPTION_STATUSES, type ExceptionStatus } from '../../src/domain/exception';
import {
  bypassIntent,
  compareFindings,
  driftFindings,
  findDrift,
  findingKey,
  looksLikeJiraKey,
  membershipSentence,
  retryDelayMs,
  type BypassCover,
  type BypassIntent,
} from '../../src/domain/integrations';

const NOW = new Date('2026-03-02T09:00:00Z');
const LONG_AGO = '2026-02-01T09:00:00Z';
const JUST_NOW = '2026-03-02T08:50:00Z';

describe('whether an exception in a state has its bypass applied', () => {
  const CASES: [ExceptionStatus, BypassIntent][] = [
    ['requested', 'none'],
    ['pending_approval', 'none'],
    ['active', 'apply'],
    ['expired', 'remove'],
    ['closed', 'remove'],
    ['revoked', 'remove'],
    ['rejected', 'remove'],
  ];
  it.each(CASES)('%s → %s', (status, intent) => {
    expect(bypassIntent(status)).toBe(intent);
  });
  it('leaves no state out', () => {
    expect(CASES.map(([status]) => status).sort()).toEqual([...EXCEPTION_STATUSES].sort());
  });
});

const cover = (exceptionId: number, status: ExceptionStatus, people: string[], changedAt = LONG_AGO, groupId = 'g-mfa'): BypassCover => ({ exceptionId, status, groupId, people, changedAt });

describe('the reconciliation diff for a group', () => {
  const CASES: { name: string; covers: BypassCover[]; members: string[]; uncovered: string[]; missing: { exceptionId: number; people: string[] }[] }[] = [
    { name: 'in sync', covers: [cover(1, 'active', ['ada', 'bob'])], members: ['bob', 'ada'], uncovered: [], missing: [] },
    { name: 'a person added by hand', covers: [cover(1, 'active', ['ada'])], members: ['ada', 'mallory'], uncovered: ['mallory'], missing: [] },
    { name: 'a person left behind after expiry', covers: [cover(1, 'expired', ['ada'])], members: ['ada'], uncovered: ['ada'], missing: [] },
    { name: 'a person whose exception was closed minutes ago is still being removed', covers: [cover(1, 'closed', ['ada'], JUST_NOW)], members: ['ada'], uncovered: [], missing: [] },
    { name: 'an active exception whose person is missing', covers: [cover(1, 'active', ['ada', 'bob'])], members: ['ada'], uncovered: [], missing: [{ exceptionId: 1, people: ['bob'] }] },
    { name: 'an exception approved minutes ago is still being applied', covers: [cover(1, 'active', ['ada'], JUST_NOW)], members: [], uncovered: [], missing: [] },
    { name: 'a person covered by another active exception stays, though one ended', covers: [cover(1, 'expired', ['ada']), cover(2, 'active', ['ada'])], members: ['ada'], uncovered: [], missing: [] },
    { name: 'an undecided request covers nobody yet', covers: [cover(1, 'pending_approval', ['ada'])], members: ['ada'], uncovered: ['ada'], missing: [] },
    { name: "another group's exceptions do not count", covers: [cover(1, 'active', ['ada'], LONG_AGO, 'g-vpn')], members: ['ada'], uncovered: ['ada'], missing: [] },
    {
      name: 'several exceptions, sorted',
      covers: [cover(7, 'active', ['zed', 'carl']), cover(3, 'active', ['bob']), cover(5, 'revoked', ['eve'])],
      members: ['eve', 'carl', 'mallory'],
      uncovered: ['eve', 'mallory'],
      missing: [{ exceptionId: 3, people: ['bob'] }, { exceptionId: 7, people: ['zed'] }],
    },
  ];
  it.each(CASES)('$name', ({ covers, members, uncovered, missing }) => {
    expect(findDrift({ groupId: 'g-mfa', covers, members, now: NOW })).toEqual({ groupId: 'g-mfa', uncovered, missing });
  });

  it('lets the time a change is given before it counts as drift be set', () => {
    const covers = [cover(1, 'active', ['ada'], JUST_NOW)];
    expect(findDrift({ groupId: 'g-mfa', covers, members: [], now: NOW, settleMs: 5 * 60_000 }).missing).toEqual([{ exceptionId: 1, people: ['ada'] }]);
  });
});

describe('posting each drift finding once', () => {
  const drift = findDrift({ groupId: 'g-mfa', covers: [cover(4, 'active', ['ada', 'bob'])], members: ['ada', 'mallory'], now: NOW });
  const findings = driftFindings('okta', drift);

  it('names each finding the same way on every run', () => {
    expect(findings.map(findingKey)).toEqual(['uncovered:okta:g-mfa:mallory', 'missing:okta:g-mfa:bob:EXC-4']);
  });

  it('posts only what is new, and forgets what no longer holds', () => {
    expect(compareFindings(findings, [])).toEqual({ toPost: findings, resolved: [] });
    expect(compareFindings(findings, ['uncovered:okta:g-mfa:mallory', 'uncovered:okta:g-mfa:trent'])).toEqual({ toPost: [findings[1]], resolved: ['uncovered:okta:g-mfa:trent'] });
  });
});

describe('when to try a vendor again', () => {
  it.each([
    [1, undefined, 1000],
    [2, undefined, 2000],
    [5, undefined, 16_000],
    [30, undefined, 600_000],
    [1, 30_000, 30_000],
    [12, 3_600_000, 3_600_000],
    [5, 500, 16_000],
  ])('after %i failures, the vendor asking %s ms → %i ms', (attempts, asked, delay) => {
    expect(retryDelayMs(attempts, asked)).toBe(delay);
  });
});

describe('the sentence each attempt leaves in the audit trail', () => {
  it.each([
    [{ change: 'remove', count: 3 }, 'removed 3 people from Okta group MFA-exempt for EXC-0042'],
    [{ change: 'add', count: 1 }, 'added 1 person to Okta group MFA-exempt for EXC-0042'],
    [{ change: 'remove', count: 2, failed: 'Okta answered HTTP 503' }, 'could not remove 2 people from Okta group MFA-exempt for EXC-0042: Okta answered HTTP 503'],
  ] as const)('%o', (attempt, sentence) => {
    expect(membershipSentence({ vendorLabel: 'Okta', groupName: 'MFA-exempt', exceptionRef: 'EXC-0042', ...attempt })).toBe(sentence);
  });
});

describe('which external references are checked in Jira', () => {
  it.each([
    ['SEC-142', true],
    [' SEC-142 ', true],
    ['AB_2-7', true],
    ['sec-142', false],
    ['SEC-0', false],
    ['SEC142', false],
    ['CHG0012345', false],
    ['https://jira.example.com/browse/SEC-142', false],
  ])('%s → %s', (reference, checked) => {
    expect(looksLikeJiraKey(reference)).toBe(checked);
  });
});
