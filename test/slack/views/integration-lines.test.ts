import { describe, expect, it } from 'vitest';
import type { BypassStatus, IntegrationStatus } from '../../../src/db/integrations';
import type { ExceptionStatus } from '../../../src/domain/exception';
import { appliedSection, bypassLine, bypassWarning, issueLink, issueWarning, syncWords } from '../../../src/slack/views/integration-lines';

const AT = '2027-01-16T00:05:00.000Z';
const people = [
  { slackUserId: 'U0OWNER', vendorUserId: '00u1', email: 'owner@example.com', displayName: 'Owner' },
  { slackUserId: null, vendorUserId: '00u2', email: 'contractor@example.com', displayName: null },
];
const bypass = (over: Partial<BypassStatus> = {}): BypassStatus => ({ vendor: 'okta', vendorLabel: 'Okta', groupId: '00g1', groupName: 'MFA-exempt', people, state: 'applied', inSync: true, ...over });
const failing = (code: string, attempts = 2) => ({ since: AT, attempts, nextAttemptAt: '2027-01-16T01:05:00.000Z', lastError: 'Could not remove a person: Okta refused.', lastErrorCode: code });

describe('the bypass line, by where the register and the vendor stand', () => {
  it.each<[ExceptionStatus, Partial<BypassStatus>, string, string]>([
    ['pending_approval', { state: 'not_applied' }, 'added on approval', 'in sync with the register'],
    ['active', { state: 'applying', inSync: false, pending: failing('unavailable', 0) }, 'being applied', 'not in sync yet: the change is on its way'],
    ['active', { state: 'applied' }, 'applied', 'in sync with the register'],
    ['active', { state: 'not_applied', inSync: false }, 'not applied yet', 'not in sync: approved, but nothing is on its way to apply it'],
    ['expired', { state: 'removing', inSync: false, pending: failing('refused') }, 'being removed', 'not in sync: the change keeps failing (below)'],
    ['closed', { state: 'removed' }, 'removed', 'in sync with the register'],
    ['rejected', { state: 'not_applied' }, 'never applied', 'in sync with the register'],
  ])('%s, %j: "%s", %s', (status, over, state, sync) => {
    expect(bypassLine(status, bypass(over))).toBe(`Okta group *MFA-exempt* · 2 people · ${state}`);
    expect(syncWords(status, bypass(over))).toBe(sync);
  });
});

describe('the warning', () => {
  it("says plainly what failed, in the vendor's words, since when and when the register tries again", () => {
    const warning = bypassWarning('expired', bypass({ state: 'removing', inSync: false, pending: failing('refused', 3) }))!;
    expect(warning).toMatch(/^:warning: \*Expired, but still applied in Okta group MFA-exempt:\* Okta refused the removal: “Could not remove a person: Okta refused\.” Trying again since <!date\^\d+\^/);
    expect(warning).toContain('(3 attempts; next <!date^');
    expect(bypassWarning('active', bypass({ state: 'applying', inSync: false, pending: failing('unavailable', 1) }))).toContain('*Active, but not yet applied in Okta group MFA-exempt:* Okta could not be reached for the addition');
    expect(bypassWarning('revoked', bypass({ state: 'removing', inSync: false, pending: failing('rate_limited', 1) }))).toContain('Okta asked the register to slow down with the removal');
  });

  it('is absent while things are in sync or a change has simply not been tried yet', () => {
    expect(bypassWarning('active', bypass())).toBeUndefined();
    expect(bypassWarning('expired', bypass({ state: 'removing', inSync: false, pending: failing('unavailable', 0) }))).toBeUndefined();
  });

  it('names a bypass still held with nothing left to retry, and what to do', () => {
    expect(bypassWarning('expired', bypass({ state: 'applied', inSync: false }))).toBe(
      ':warning: *Expired, but still applied in Okta group MFA-exempt:* the register has no removal left to try. Remove the people from the group in Okta by hand.',
    );
  });

  it('escapes what the vendor and the group name say, so neither can ping or forge a link', () => {
    const warning = bypassWarning('expired', bypass({ groupName: '<!channel>', state: 'removing', inSync: false, pending: { ...failing('refused'), lastError: '<https://evil.example|click>' } }))!;
    expect(warning).not.toContain('<!channel>');
    expect(warning).not.toContain('<https://evil');
  });
});

describe('the Jira issue', () => {
  const issue = (url: string): IntegrationStatus => ({ issue: { vendor: 'jira', vendorLabel: 'Jira', key: 'SEC-142', url, createdByApp: true, inSync: true } });
  it('links its key to the issue, and shows only the key when the address could break the link', () => {
    expect(issueLink(issue('https://example.atlassian.net/browse/SEC-142'))).toBe('Jira <https://example.atlassian.net/browse/SEC-142|SEC-142>');
    expect(issueLink(issue('https://example.atlassian.net/browse/SEC-142|forged>'))).toBe('Jira SEC-142');
    expect(issueLink({})).toBeUndefined();
  });

  it('warns when the issue could not be created yet or is behind', () => {
    expect(issueWarning({ issuePending: failing('unavailable', 2) })).toContain(':warning: *No Jira issue yet:* Jira could not be reached for the new issue');
    expect(issueWarning({ issue: { ...issue('https://x.example/SEC-1').issue!, inSync: false, pending: failing('refused', 1) } })).toContain('*Jira SEC-142 is behind the register:* Jira refused the update');
  });
});

describe("the record's \"Where it is applied\"", () => {
  it('names the group, the people (Slack mentions, else email), the issue, and nothing for an exception with no vendor', () => {
    const [section] = appliedSection('active', { bypass: bypass(), issue: { vendor: 'jira', vendorLabel: 'Jira', key: 'SEC-142', url: 'https://example.atlassian.net/browse/SEC-142', createdByApp: false, inSync: true } });
    expect(section!.text!.text).toBe(
      '*Where it is applied*\nOkta group *MFA-exempt* · 2 people · applied · in sync with the register\nPeople: <@U0OWNER>, contractor@example.com\nJira <https://example.atlassian.net/browse/SEC-142|SEC-142>, referenced in the request · in sync with the register',
    );
    expect(appliedSection('active', {})).toEqual([]);
  });

  it('stays within a section with a thousand people', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ slackUserId: null, vendorUserId: `00u${i}`, email: `${'&'.repeat(150)}@example.com`, displayName: null }));
    const [section] = appliedSection('expired', { bypass: bypass({ people: many, state: 'removing', inSync: false, pending: { ...failing('refused'), lastError: '&'.repeat(3000) } }) }, 800);
    expect(Array.from(section!.text!.text).length).toBeLessThanOrEqual(3000);
    expect(section!.text!.text).toContain('Okta group *MFA-exempt* · 1000 people · being removed');
  });
});
