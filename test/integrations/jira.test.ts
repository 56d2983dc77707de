import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJiraConnector, REGISTER_LABEL } from '../../src/integrations/jira';
import { ConnectorError, type ChangeConnector, type RemediationIssue } from '../../src/integrations/port';
import { startJiraStandIn, type JiraAccount, type JiraStandIn } from '../support/jira-stand-in';

const NOW = new Date('2026-03-02T09:00:00Z');

let jira: JiraStandIn;
let connector: ChangeConnector;

function connect(account: Pick<JiraAccount, 'email' | 'apiToken'> = jira.account, projectKey = jira.projectKey): ChangeConnector {
  return createJiraConnector({ baseUrl: jira.url, email: account.email, apiToken: account.apiToken, projectKey, clock: () => NOW });
}

async function refusal(work: Promise<unknown>): Promise<ConnectorError> {
  const error = await work.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}

const REMEDIATION: RemediationIssue = {
  exceptionRef: 'EXC-0042',
  summary: 'MFA exemption for the warehouse scanners',
  policy: 'ACC-7 Multi-factor authentication',
  scope: 'Six shared scanner accounts in the Leeds warehouse',
  compensatingControl: 'Scanners only reach the inventory VLAN; sign-ins are alerted on',
  owner: 'Dana Whitfield',
  expiresOn: '2026-06-30',
  recordUrl: 'https://register.example.com/exceptions/EXC-0042',
};

beforeAll(async () => {
  jira = await startJiraStandIn();
  connector = connect();
});
afterAll(() => jira.close());

describe('the Jira connector against its stand-in', () => {
  it('finds an issue by key, and cannot tell a missing key from one it may not see', async () => {
    const key = jira.addIssue({ summary: 'Rotate the scanner passwords' });
    const hidden = jira.addIssue({ summary: 'Payroll export', project: 'HR' });
    expect(await connector.findIssue(key)).toEqual({ key, summary: 'Rotate the scanner passwords', status: 'To Do', url: `${jira.url}/browse/${key}` });
    expect(await connector.findIssue('SEC-9999')).toBeUndefined();
    expect(await connector.findIssue(hidden)).toBeUndefined();
  });

  it('creates the remediation issue labelled with the exception ID, in Atlassian Document Format, once', async () => {
    const created = await connector.createIssue(REMEDIATION);
    const stored = jira.issue(created.key)!;
    expect(stored.labels).toEqual(['EXC-0042', REGISTER_LABEL]);
    expect(stored.summary).toBe('EXC-0042: MFA exemption for the warehouse scanners');
    const description = JSON.stringify(stored.description);
    for (const fact of ['ACC-7 Multi-factor authentication', 'Six shared scanner accounts', 'inventory VLAN', 'Dana Whitfield', '2026-06-30', REMEDIATION.recordUrl!]) expect(description).toContain(fact);
    expect(created.url).toBe(`${jira.url}/browse/${created.key}`);

    const again = await connector.createIssue(REMEDIATION);
    expect(again.key).toBe(created.key);
    expect(jira.issues().filter((issue) => issue.labels.includes('EXC-0042'))).toHaveLength(1);
  });

  it("keeps a long summary within Jira's 255 characters", async () => {
    const created = await connector.createIssue({ ...REMEDIATION, exceptionRef: 'EXC-0043', summary: 'x'.repeat(400) });
    expect(jira.issue(created.key)!.summary).toHaveLength(255);
  });

  it('comments in Atlassian Document Format, a paragraph per blank-line-separated block', async () => {
    const key = jira.addIssue({ summary: 'Commented on' });
    await connector.comment(key, 'EXC-0042 was renewed until 2026-09-30.\n\nRenewed by Dana Whitfield.');
    expect(jira.issue(key)!.comments).toEqual([
      { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'EXC-0042 was renewed until 2026-09-30.' }] }, { type: 'paragraph', content: [{ type: 'text', text: 'Renewed by Dana Whitfield.' }] }] },
    ]);
    expect((await refusal(connector.comment('SEC-9999', 'nobody reads this'))).reason).toBe('not_found');
  });

  it('moves an issue only where its workflow offers a transition to that status', async () => {
    const key = jira.addIssue({ summary: 'Transitioned' });
    expect(await connector.transition(key, 'In Progress')).toBe('transitioned');
    expect(jira.issue(key)!.status).toBe('In Progress');
    expect(await connector.transition(key, 'in progress')).toBe('already_there');
    expect(await connector.transition(key, 'Closed')).toBe('no_matching_transition');
    expect(await connector.transition(key, 'Done')).toBe('transitioned');
    expect(jira.issue(key)!.status).toBe('Done');
  });

  it('refuses a wrong API token as credentials to fix, never quoting the token or the basic header', async () => {
    const wrongToken = 'ATATTnotTheTokenAndNeverShown';
    const error = await refusal(connect({ email: jira.account.email, apiToken: wrongToken }).findIssue('SEC-1'));
    expect(error).toMatchObject({ code: 'refused', reason: 'credentials', httpStatus: 401 });
    expect(error.message).toContain('Client must be authenticated');
    expect(error.message).toContain('JIRA_API_TOKEN');
    const basic = Buffer.from(`${jira.account.email}:${wrongToken}`).toString('base64');
    for (const secret of [wrongToken, basic]) expect(error.message + String(error.stack)).not.toContain(secret);
  });

  it('refuses what an account without the permission may not do, saying which permissions it needs', async () => {
    const browser = connect(jira.addAccount(['BROWSE_PROJECTS']));
    const key = jira.addIssue({ summary: 'Read only' });
    expect(await browser.findIssue(key)).toBeDefined();
    const create = await refusal(browser.createIssue({ ...REMEDIATION, exceptionRef: 'EXC-0044' }));
    expect(create).toMatchObject({ code: 'refused', reason: 'permission', httpStatus: 403 });
    expect(create.message).toContain('Create issues');
    expect((await refusal(browser.comment(key, 'no'))).reason).toBe('permission');
    expect(await browser.transition(key, 'In Progress')).toBe('no_matching_transition');
  });

  it('reads the wait Jira asks for from Retry-After, and reports 5xx as unavailable', async () => {
    jira.rateLimit(1, 12);
    expect(await refusal(connector.findIssue('SEC-1'))).toMatchObject({ code: 'rate_limited', retryAfterMs: 12_000, retryable: true });
    jira.fail(1, 503);
    expect(await refusal(connector.findIssue('SEC-1'))).toMatchObject({ code: 'unavailable', httpStatus: 503, retryable: true });
    expect(await connector.findIssue('SEC-1')).toBeDefined();
  });

  it('checks the credentials, the project and each permission it needs, changing nothing', async () => {
    const before = jira.calls.length;
    const full = await connector.check();
    expect(jira.calls.slice(before).every((call) => call.method === 'GET')).toBe(true);
    expect(full.ok).toBe(true);
    expect(full.findings.map((finding) => finding.what)).toEqual(['JIRA_EMAIL and JIRA_API_TOKEN are accepted', `Project ${jira.projectKey}`, 'Browse projects', 'Create issues', 'Add comments', 'Transition issues']);

    const commenter = await connect(jira.addAccount(['BROWSE_PROJECTS', 'ADD_COMMENTS'])).check();
    expect(commenter.findings.filter((finding) => !finding.ok).map((finding) => finding.what)).toEqual(['Create issues', 'Transition issues']);

    const elsewhere = await connect(jira.account, 'NOPE').check();
    expect(elsewhere.findings.map((finding) => finding.ok)).toEqual([true, false]);
    expect(elsewhere.findings[1]!.detail).toContain("No project could be found with key 'NOPE'");
  });
});
