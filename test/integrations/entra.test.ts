import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEntraConnector, type EntraConfig } from '../../src/integrations/entra';
import { ConnectorError, listAllMembers, type IdentityConnector } from '../../src/integrations/port';
import { startEntraStandIn, type EntraApp, type EntraStandIn } from '../support/entra-stand-in';

let entra: EntraStandIn;
let now: Date;
let connector: IdentityConnector;
let mfaExempt: string;
let grace: string;

function connect(app: Pick<EntraApp, 'clientId' | 'clientSecret'> = entra.app, overrides: Partial<EntraConfig> = {}): IdentityConnector {
  return createEntraConnector({ tenantId: entra.tenantId, clientId: app.clientId, clientSecret: app.clientSecret, clock: () => now, loginUrl: entra.url, graphUrl: entra.url, ...overrides });
}

async function refusal(work: Promise<unknown>): Promise<ConnectorError> {
  const error = await work.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}

beforeAll(async () => {
  entra = await startEntraStandIn();
  now = new Date();
  connector = connect();
  mfaExempt = entra.addGroup({ displayName: 'MFA-exempt', description: 'Sign-in without MFA' });
  entra.addGroup({ displayName: "MFA-exempt O'Brien's contractors" });
  entra.addGroup({ displayName: 'Legacy VPN bypass' });
  grace = entra.addUser({ mail: 'grace@example.com', displayName: 'Grace Hopper' });
});
afterAll(() => entra.close());

describe('the Entra connector against its stand-in', () => {
  it('finds groups by the start of their name without needing ConsistencyLevel, quotes and all', async () => {
    const before = entra.calls.length;
    expect((await connector.searchGroups('MFA-exempt')).map((group) => group.name)).toEqual(['MFA-exempt', "MFA-exempt O'Brien's contractors"]);
    expect((await connector.searchGroups("mfa-exempt o'b")).map((group) => group.name)).toEqual(["MFA-exempt O'Brien's contractors"]);
    expect(entra.calls.slice(before).every((call) => call.status === 200 && call.consistencyLevel === undefined)).toBe(true);
  });

  it('asks the identity platform for a token once and uses it until shortly before it expires', async () => {
    const fresh = connect();
    const issued = entra.tokensIssued();
    await fresh.searchGroups('MFA');
    await fresh.findGroup(mfaExempt);
    expect(entra.tokensIssued()).toBe(issued + 1);
    now = new Date(now.getTime() + 54 * 60_000);
    await fresh.findGroup(mfaExempt);
    expect(entra.tokensIssued()).toBe(issued + 1);
    now = new Date(now.getTime() + 2 * 60_000);
    await fresh.findGroup(mfaExempt);
    expect(entra.tokensIssued()).toBe(issued + 2);
  });

  it('gets a new token once when Graph no longer accepts the cached one', async () => {
    await connector.findGroup(mfaExempt);
    entra.revokeTokens();
    expect(await connector.findGroup(mfaExempt)).toMatchObject({ name: 'MFA-exempt' });
  });

  it('maps an email to the person by mail, or by user principal name where mail is empty', async () => {
    const upnOnly = entra.addUser({ mail: null, userPrincipalName: 'katherine@example.onmicrosoft.com' });
    expect(await connector.findUserByEmail('Grace@example.com')).toEqual({ id: grace, email: 'grace@example.com', name: 'Grace Hopper' });
    expect(await connector.findUserByEmail('katherine@example.onmicrosoft.com')).toMatchObject({ id: upnOnly });
    expect(await connector.findUserByEmail("o'nobody@example.com")).toBeUndefined();
  });

  it("adds and removes a person, taking Graph's duplicate-add 400 and missing-member 404 as done", async () => {
    await connector.addMember(mfaExempt, grace);
    await connector.addMember(mfaExempt, grace);
    expect(entra.group(mfaExempt)!.members.has(grace)).toBe(true);
    await connector.removeMember(mfaExempt, grace);
    await connector.removeMember(mfaExempt, grace);
    expect(entra.group(mfaExempt)!.members.has(grace)).toBe(false);
    const statuses = entra.calls.filter((call) => call.path.includes('/members')).slice(-4).map((call) => call.status);
    expect(statuses).toEqual([204, 400, 204, 404]);
  });

  it('refuses an unknown group, or an unknown person to add, as not found', async () => {
    expect(await refusal(connector.removeMember('00000000-0000-0000-0000-000000000000', grace))).toMatchObject({ code: 'refused', reason: 'not_found' });
    const error = await refusal(connector.addMember(mfaExempt, '11111111-1111-1111-1111-111111111111'));
    expect(error.reason).toBe('not_found');
    expect(error.message).toContain('Request_ResourceNotFound');
  });

  it('pages through a 10,000-member group by @odata.nextLink, 999 at a time', async () => {
    const big = entra.addGroup({ displayName: 'Everyone exempt (large)' });
    const ids = entra.fillGroup(big, 10_000);
    const before = entra.calls.length;
    const members = await listAllMembers(connector, big);
    expect(new Set(members.map((member) => member.id))).toEqual(new Set(ids));
    expect(members).toHaveLength(10_000);
    expect(entra.calls.length - before).toBe(11);
  });

  it('refuses a wrong secret or tenant as credentials to fix, never quoting the secret', async () => {
    const wrongSecret = 'Wr0ng~SecretThatMustNeverAppear';
    const error = await refusal(connect({ clientId: entra.app.clientId, clientSecret: wrongSecret }).searchGroups('MFA'));
    expect(error).toMatchObject({ code: 'refused', reason: 'credentials', httpStatus: 401 });
    expect(error.message).toContain('AADSTS7000215');
    expect(error.message).toContain('ENTRA_CLIENT_SECRET');
    expect(error.message + String(error.stack)).not.toContain(wrongSecret);
    const tenant = await refusal(connect(entra.app, { tenantId: 'not-our-tenant' }).searchGroups('MFA'));
    expect(tenant).toMatchObject({ code: 'refused', reason: 'credentials', httpStatus: 400 });
    expect(tenant.message).toContain('AADSTS90002');
    expect(tenant.message).not.toContain(entra.app.clientSecret);
  });

  it('refuses a change by an app granted only read permissions as a missing permission', async () => {
    const reader = connect(entra.addApp(['GroupMember.Read.All', 'User.Read.All']));
    expect(await reader.findGroup(mfaExempt)).toBeDefined();
    const error = await refusal(reader.addMember(mfaExempt, grace));
    expect(error).toMatchObject({ code: 'refused', reason: 'permission', httpStatus: 403 });
    expect(error.message).toContain('Authorization_RequestDenied');
    expect(error.message).toContain('GroupMember.ReadWrite.All');
  });

  it('reads the wait Graph asks for from Retry-After, and reports 5xx as unavailable', async () => {
    entra.throttle(1, 7);
    expect(await refusal(connector.addMember(mfaExempt, grace))).toMatchObject({ code: 'rate_limited', retryAfterMs: 7000, retryable: true });
    entra.fail(1, 503);
    expect(await refusal(connector.addMember(mfaExempt, grace))).toMatchObject({ code: 'unavailable', httpStatus: 503, retryAfterMs: 10_000 });
    await connector.addMember(mfaExempt, grace);
    expect(entra.group(mfaExempt)!.members.has(grace)).toBe(true);
  });

  it("checks the app's granted permissions and each group's kind, changing nothing", async () => {
    const dynamic = entra.addGroup({ displayName: 'All engineers (dynamic)', dynamic: true });
    const synced = entra.addGroup({ displayName: 'AD: VPN-bypass', synced: true });
    const privileged = entra.addGroup({ displayName: 'Helpdesk admins', roleAssignable: true });
    const before = entra.calls.length;
    const result = await connector.check([mfaExempt, dynamic, synced, privileged]);
    expect(entra.calls.slice(before).every((call) => call.method === 'GET')).toBe(true);
    expect(result.findings.map((finding) => finding.ok)).toEqual([true, true, true, true, false, false, false]);
    expect(result.findings[4]!.detail).toContain('dynamic membership');
    expect(result.findings[5]!.detail).toContain('on-premises');
    expect(result.findings[6]!.detail).toContain('RoleManagement.ReadWrite.Directory');

    const reader = await connect(entra.addApp(['Group.Read.All'])).check();
    expect(reader.findings.map((finding) => [finding.what, finding.ok])).toEqual([
      ['ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET are accepted', true],
      ['May change group members', false],
      ['May look people up by email', false],
    ]);
  });
});

describe('the Entra connector in a sovereign cloud', () => {
  it('asks for the token and names the person by that cloud’s Graph, not the public one', async () => {
    const sent: { url: string; body: string }[] = [];
    const fake: typeof fetch = async (input, init) => {
      const url = String(input);
      sent.push({ url, body: String(init?.body ?? '') });
      if (url.endsWith('/oauth2/v2.0/token')) return Response.json({ token_type: 'Bearer', expires_in: 3599, access_token: 'token-for-us-gov' });
      return new Response(null, { status: 204 });
    };
    const gov = createEntraConnector({ tenantId: 'tenant-1', clientId: 'client-1', clientSecret: 'secret-1', clock: () => new Date(), loginUrl: 'https://login.microsoftonline.us', graphUrl: 'https://graph.microsoft.us', fetch: fake });
    await gov.addMember('group-1', 'user-1');
    expect(sent[0]!.url).toBe('https://login.microsoftonline.us/tenant-1/oauth2/v2.0/token');
    expect(new URLSearchParams(sent[0]!.body).get('scope')).toBe('https://graph.microsoft.us/.default');
    expect(sent[1]!.url).toBe('https://graph.microsoft.us/v1.0/groups/group-1/members/$ref');
    expect(JSON.parse(sent[1]!.body)).toEqual({ '@odata.id': 'https://graph.microsoft.us/v1.0/directoryObjects/user-1' });
  });
});
