import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEntraStandIn, type EntraStandIn } from '../support/entra-stand-in';
import { startJiraStandIn, type JiraStandIn } from '../support/jira-stand-in';
import { startOktaStandIn, type OktaStandIn } from '../support/okta-stand-in';

/** What each stand-in refuses that the connectors never send: the stand-ins hold the vendors' rules on their own. */
let okta: OktaStandIn;
let entra: EntraStandIn;
let jira: JiraStandIn;

beforeAll(async () => {
  [okta, entra, jira] = await Promise.all([startOktaStandIn(), startEntraStandIn(), startJiraStandIn()]);
});
afterAll(() => Promise.all([okta.close(), entra.close(), jira.close()]));

async function graphToken(): Promise<string> {
  const form = new URLSearchParams({ client_id: entra.app.clientId, client_secret: entra.app.clientSecret, scope: 'https://graph.microsoft.com/.default', grant_type: 'client_credentials' });
  const response = await fetch(`${entra.url}/${entra.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form });
  return ((await response.json()) as { access_token: string }).access_token;
}

describe('the Okta stand-in', () => {
  it('takes an API token only as SSWS, answering 401 E0000011 otherwise', async () => {
    const response = await fetch(`${okta.url}/api/v1/groups`, { headers: { authorization: `Bearer ${okta.apiToken}` } });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ errorCode: 'E0000011', errorSummary: 'Invalid token provided' });
  });

  it('reports its rate limit on every answer, and 429 E0000047 when it is reached', async () => {
    const ok = await fetch(`${okta.url}/api/v1/groups`, { headers: { authorization: `SSWS ${okta.apiToken}` } });
    expect(ok.headers.get('x-rate-limit-limit')).toBeTruthy();
    okta.rateLimit(1, 5);
    const limited = await fetch(`${okta.url}/api/v1/groups`, { headers: { authorization: `SSWS ${okta.apiToken}` } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-rate-limit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-rate-limit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(await limited.json()).toMatchObject({ errorCode: 'E0000047' });
  });
});

describe('the Entra stand-in', () => {
  it('refuses a client-credentials request without the /.default scope', async () => {
    const form = new URLSearchParams({ client_id: entra.app.clientId, client_secret: entra.app.clientSecret, scope: 'GroupMember.ReadWrite.All', grant_type: 'client_credentials' });
    const response = await fetch(`${entra.url}/${entra.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_scope', error_codes: [1002012] });
  });

  it('answers $search on groups only with ConsistencyLevel: eventual, and $top only up to 999', async () => {
    const token = await graphToken();
    const group = entra.addGroup({ displayName: 'MFA-exempt' });
    const search = `${entra.url}/v1.0/groups?$search="displayName:MFA"`;
    expect((await fetch(search, { headers: { authorization: `Bearer ${token}` } })).status).toBe(400);
    expect((await fetch(search, { headers: { authorization: `Bearer ${token}`, consistencylevel: 'eventual' } })).status).toBe(200);
    const tooMany = await fetch(`${entra.url}/v1.0/groups/${group}/members?$top=1000`, { headers: { authorization: `Bearer ${token}` } });
    expect(tooMany.status).toBe(400);
    expect(JSON.stringify(await tooMany.json())).toContain('Must be between 1 and 999 inclusive');
  });

  it('answers an expired or missing token with 401 InvalidAuthenticationToken', async () => {
    const response = await fetch(`${entra.url}/v1.0/groups`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' } });
  });
});

describe('the Jira stand-in', () => {
  const auth = () => ({ authorization: `Basic ${Buffer.from(`${jira.account.email}:${jira.account.apiToken}`).toString('base64')}`, 'content-type': 'application/json' });
  const create = (fields: Record<string, unknown>) => fetch(`${jira.url}/rest/api/3/issue`, { method: 'POST', headers: auth(), body: JSON.stringify({ fields: { project: { key: jira.projectKey }, issuetype: { name: 'Task' }, summary: 'A summary', ...fields } }) });

  it('refuses a plain-text description, since v3 takes Atlassian Document Format', async () => {
    const response = await create({ description: 'plain text' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ errors: { description: expect.stringContaining('Atlassian Document') } });
  });

  it('refuses a label with a space, and an empty text node', async () => {
    expect(await (await create({ labels: ['security exception'] })).json()).toMatchObject({ errors: { labels: expect.stringContaining('contains spaces') } });
    expect((await create({ description: { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: '' }] }] } })).status).toBe(400);
  });

  it('refuses a transition its workflow does not offer', async () => {
    const key = jira.addIssue({ summary: 'Done already', status: 'Done' });
    const response = await fetch(`${jira.url}/rest/api/3/issue/${key}/transitions`, { method: 'POST', headers: auth(), body: JSON.stringify({ transition: { id: '31' } }) });
    expect(response.status).toBe(400);
    expect(jira.issue(key)!.status).toBe('Done');
  });

  it('sends Retry-After and an ISO 8601 X-RateLimit-Reset with a 429', async () => {
    jira.rateLimit(1, 4);
    const response = await fetch(`${jira.url}/rest/api/3/myself`, { headers: auth() });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('4');
    expect(response.headers.get('x-ratelimit-reset')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
  });
});
