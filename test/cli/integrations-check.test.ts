import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { saveBinding } from '../../src/db/integrations';
import { closeException } from '../../src/services/close-exception';
import { decideException } from '../../src/services/decide-exception';
import { startJiraStandIn, type JiraStandIn } from '../support/jira-stand-in';
import { startOktaStandIn, type OktaStandIn } from '../support/okta-stand-in';
import { APPROVALS_CHANNEL, APPROVERS, COMMITTEE, COMMITTEE_CHANNEL, LOW_RISK, REQUESTER, SECURITY, assess, fileRequest, openTestRegister, type TestRegister } from '../services/fixtures';
import { runCapturing } from './run-cli';

/**
 * `exceptions integrations check` against the vendors' stand-ins: each check as ok or FAIL, then what the app would
 * change for the register as it is, and nothing changed in the register or in the vendor.
 */

let t: TestRegister;
let okta: OktaStandIn | undefined;
let jira: JiraStandIn | undefined;
beforeEach(() => {
  t = openTestRegister();
});
afterEach(async () => {
  t.close();
  await Promise.all([okta?.close(), jira?.close()]);
  okta = jira = undefined;
});

function appEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: 'xoxb-integrations-check',
    SLACK_SIGNING_SECRET: 'integrations-check-secret',
    DATABASE_PATH: t.path,
    SECURITY_TEAM_IDS: SECURITY.join(','),
    APPROVER_IDS: APPROVERS.join(','),
    COMMITTEE_IDS: COMMITTEE.join(','),
    APPROVALS_CHANNEL,
    COMMITTEE_CHANNEL,
    ...extra,
  };
}

const oktaEnv = (token = okta!.apiToken) => ({ OKTA_ORG_URL: okta!.url, OKTA_API_TOKEN: token });
const check = (env: Record<string, string>) => runCapturing(['integrations', 'check'], env);

/** An approved exception whose bypass is the Okta group, covering `people` (vendor ids with their emails). */
function approved(groupId: string, groupName: string, people: [id: string, email: string][], externalRef?: string): number {
  const id = fileRequest(t.ctx, externalRef ? { externalRef } : {});
  t.register.db.transaction((tx) =>
    saveBinding(tx, id, { vendor: 'okta', groupId, groupName, people: people.map(([vendorUserId, email]) => ({ slackUserId: null, vendorUserId, email, displayName: null })) }, t.ctx.clock()),
  );
  assess(t.ctx, id, LOW_RISK);
  decideException(t.ctx, { exceptionId: id, deciderId: APPROVERS[0], outcome: 'approve' });
  return id;
}

describe('exceptions integrations check', () => {
  it('says so and exits 0 when no integration is configured', async () => {
    expect(await check(appEnv())).toEqual({ code: 0, out: 'No integration is configured: set OKTA_ORG_URL and OKTA_API_TOKEN, the ENTRA_ variables, or the JIRA_ variables to connect one.\n', err: '' });
  });

  it('prints every check as ok against Okta and Jira, and the issue it would create, never the tokens', async () => {
    okta = await startOktaStandIn();
    jira = await startJiraStandIn();
    const groupId = okta.addGroup({ name: 'MFA-exempt' });
    const ana = okta.addUser({ email: 'ana@acme.com' });
    okta.group(groupId)!.members.add(ana);
    approved(groupId, 'MFA-exempt', [[ana, 'ana@acme.com']]);
    const env = appEnv({ ...oktaEnv(), JIRA_BASE_URL: jira.url, JIRA_EMAIL: jira.account.email, JIRA_API_TOKEN: jira.account.apiToken, JIRA_PROJECT_KEY: jira.projectKey });

    const result = await check(env);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const lines = result.out.split('\n');
    expect(lines[0]).toBe('Okta');
    expect(result.out).toMatch(/^ {2}ok {4}OKTA_API_TOKEN is accepted: It acts as okta-admin@example\.com\.$/m);
    expect(result.out).toMatch(new RegExp(`^  ok    Group MFA-exempt \\(${groupId}\\): "MFA-exempt" exists and its members can be changed\\.$`, 'm'));
    expect(result.out).toMatch(/^Jira$/m);
    expect(result.out).not.toContain('FAIL');
    expect(result.out).toContain('What the app would change for the register as it is now (nothing was changed):');
    expect(result.out).toContain(`  would create a Jira issue in project ${jira.projectKey} for EXC-0001\n`);
    expect(result.out).not.toContain('would add');
    for (const secret of [okta.apiToken, jira.account.apiToken]) expect(result.out).not.toContain(secret);
    expect(jira.issues()).toEqual([]);
  });

  it('a bad token is a FAIL line saying what to fix, and exits 1', async () => {
    okta = await startOktaStandIn();
    const result = await check(appEnv(oktaEnv('00not-the-okta-token-at-all')));
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/^ {2}FAIL {2}OKTA_API_TOKEN is accepted: .+$/m);
    expect(result.out).toContain('cannot tell what would change in Okta until its check passes');
    expect(result.err).toBe('1 check failed: fix what each FAIL line says, then run "exceptions integrations check" again.\n');
    expect(result.out + result.err).not.toContain('00not-the-okta-token-at-all');
  });

  it('a bound group Okta does not know is a FAIL line naming it', async () => {
    okta = await startOktaStandIn();
    approved('00gGONE0000000000', 'VPN-split-tunnel', [['00uNOBODY', 'nobody@acme.com']]);
    const result = await check(appEnv(oktaEnv()));
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/^ {2}FAIL {2}Group VPN-split-tunnel \(00gGONE0000000000\): .+$/m);
    expect(result.out).toMatch(/^ {2}ok {4}OKTA_API_TOKEN is accepted/m);
  });

  it('the dry run lists who would be added and removed, and changes nothing in Okta', async () => {
    okta = await startOktaStandIn();
    const groupId = okta.addGroup({ name: 'MFA-exempt' });
    const [ana, kim, bo, lee] = ['ana', 'kim', 'bo', 'lee'].map((name) => okta!.addUser({ email: `${name}@acme.com` })) as [string, string, string, string];
    const members = okta.group(groupId)!.members;
    members.add(bo);
    members.add(lee);
    approved(groupId, 'MFA-exempt', [
      [ana, 'ana@acme.com'],
      [kim, 'kim@acme.com'],
    ]);
    const ended = approved(groupId, 'MFA-exempt', [
      [bo, 'bo@acme.com'],
      [lee, 'lee@acme.com'],
    ]);
    closeException(t.ctx, { exceptionId: ended, actorId: REQUESTER, note: 'The legacy system is gone; MFA applies to everyone again.' });
    const before = [...members].sort();
    const callsBefore = okta.calls.length;

    const result = await check(appEnv(oktaEnv()));
    expect(result.code).toBe(0);
    expect(result.out).toContain('  would add 2 people to Okta group MFA-exempt for EXC-0001: ana@acme.com, kim@acme.com\n');
    expect(result.out).toContain('  would remove 2 people from Okta group MFA-exempt for EXC-0002: bo@acme.com, lee@acme.com\n');
    expect([...okta.group(groupId)!.members].sort()).toEqual(before);
    expect(okta.calls.slice(callsBefore).every((call) => call.method === 'GET')).toBe(true);
  });

  it('keeps a person another active exception still covers in the same group', async () => {
    okta = await startOktaStandIn();
    const groupId = okta.addGroup({ name: 'MFA-exempt' });
    const ana = okta.addUser({ email: 'ana@acme.com' });
    okta.group(groupId)!.members.add(ana);
    const ended = approved(groupId, 'MFA-exempt', [[ana, 'ana@acme.com']]);
    approved(groupId, 'MFA-exempt', [[ana, 'ana@acme.com']]);
    closeException(t.ctx, { exceptionId: ended, actorId: REQUESTER, note: 'Replaced by the next exception, which covers the same person.' });
    const result = await check(appEnv(oktaEnv()));
    expect(result.code).toBe(0);
    expect(result.out).toContain('  nothing: every vendor holds what the register says\n');
  });
});
