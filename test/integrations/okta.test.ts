import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOktaConnector, linkNext } from '../../src/integrations/okta';
import { ConnectorError, listAllMembers, type IdentityConnector } from '../../src/integrations/port';
import { startOktaStandIn, type OktaStandIn } from '../support/okta-stand-in';

// A register clock far from the stand-in's: waits must be read against Okta's own Date header.
const NOW = new Date('2026-03-02T09:00:00Z');

let okta: OktaStandIn;
let connector: IdentityConnector;
let mfaExempt: string;
let ada: string;

beforeAll(async () => {
  okta = await startOktaStandIn();
  connector = createOktaConnector({ orgUrl: okta.url, apiToken: okta.apiToken, clock: () => NOW });
  mfaExempt = okta.addGroup({ name: 'MFA-exempt', description: 'People allowed to sign in without MFA' });
  okta.addGroup({ name: 'MFA-enforced' });
  okta.addGroup({ name: 'Legacy VPN bypass' });
  ada = okta.addUser({ email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' });
});
afterAll(() => okta.close());

async function refusal(work: Promise<unknown>): Promise<ConnectorError> {
  const error = await work.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(ConnectorError);
  return error as ConnectorError;
}

describe('the Okta connector against its stand-in', () => {
  it('finds bypass groups by the start of their name, for the request form', async () => {
    expect((await connector.searchGroups('mfa')).map((group) => group.name)).toEqual(['MFA-exempt', 'MFA-enforced']);
    expect(await connector.searchGroups('nothing like it')).toEqual([]);
    expect(await connector.findGroup(mfaExempt)).toEqual({ id: mfaExempt, name: 'MFA-exempt', description: 'People allowed to sign in without MFA' });
    expect(await connector.findGroup('00gnosuchgroup')).toBeUndefined();
  });

  it('maps a Slack profile email to the Okta person, whatever its case', async () => {
    expect(await connector.findUserByEmail('Ada@Example.com')).toEqual({ id: ada, email: 'ada@example.com', name: 'Ada Lovelace' });
    expect(await connector.findUserByEmail('nobody@example.com')).toBeUndefined();
  });

  it('adds and removes a person, and doing either twice is still success', async () => {
    await connector.addMember(mfaExempt, ada);
    await connector.addMember(mfaExempt, ada);
    expect(okta.group(mfaExempt)!.members.has(ada)).toBe(true);
    await connector.removeMember(mfaExempt, ada);
    await connector.removeMember(mfaExempt, ada);
    expect(okta.group(mfaExempt)!.members.has(ada)).toBe(false);
  });

  it('counts a person gone from the directory as removed, but an unknown group as a refusal to fix', async () => {
    await connector.removeMember(mfaExempt, '00udeparted');
    const error = await refusal(connector.removeMember('00gnosuchgroup', ada));
    expect(error).toMatchObject({ code: 'refused', reason: 'not_found', retryable: false });
    expect(error.message).toContain('Not found: Resource not found');
    expect((await refusal(connector.addMember(mfaExempt, '00unosuchperson'))).reason).toBe('not_found');
  });

  it('pages through a 10,000-member group, 1,000 at a time', async () => {
    const big = okta.addGroup({ name: 'Everyone exempt (large)' });
    const ids = okta.fillGroup(big, 10_000);
    const before = okta.calls.length;
    const members = await listAllMembers(connector, big);
    expect(members).toHaveLength(10_000);
    expect(new Set(members.map((member) => member.id))).toEqual(new Set(ids));
    expect(okta.calls.length - before).toBe(10);
  });

  it('never follows a next-page link to another address with the token', async () => {
    const sent: string[] = [];
    const elsewhere: typeof fetch = async (input) => {
      sent.push(String(input));
      return new Response('[]', { status: 200, headers: { link: '<https://collector.example.net/api/v1/groups/x/users?after=1>; rel="next"' } });
    };
    const tricked = createOktaConnector({ orgUrl: okta.url, apiToken: okta.apiToken, clock: () => NOW, fetch: elsewhere });
    expect(await refusal(tricked.groupMembers(mfaExempt))).toMatchObject({ code: 'refused', reason: 'invalid' });
    expect(sent.every((url) => url.startsWith(okta.url))).toBe(true);
  });

  it('refuses a bad token as credentials to fix, never quoting the token', async () => {
    const badToken = '00BadTokenThatMustNeverBeShown1234';
    const wrong = createOktaConnector({ orgUrl: okta.url, apiToken: badToken, clock: () => NOW });
    const error = await refusal(wrong.addMember(mfaExempt, ada));
    expect(error).toMatchObject({ code: 'refused', reason: 'credentials', httpStatus: 401 });
    expect(error.message).toContain('Invalid token provided');
    expect(error.message).toContain('OKTA_API_TOKEN');
    expect(error.message + String(error.stack)).not.toContain(badToken);
  });

  it('refuses a change by an admin without a membership role as a missing permission', async () => {
    const readOnly = createOktaConnector({ orgUrl: okta.url, apiToken: okta.readOnlyToken, clock: () => NOW });
    expect(await readOnly.searchGroups('MFA')).not.toEqual([]);
    const error = await refusal(readOnly.addMember(mfaExempt, ada));
    expect(error).toMatchObject({ code: 'refused', reason: 'permission', httpStatus: 403 });
    expect(error.message).toContain('You do not have permission');
    expect(error.message).not.toContain(okta.readOnlyToken);
  });

  it("reads the wait Okta asks for from X-Rate-Limit-Reset against Okta's clock", async () => {
    okta.rateLimit(1, 30);
    const error = await refusal(connector.addMember(mfaExempt, ada));
    expect(error.code).toBe('rate_limited');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(29_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(31_000);
    await connector.addMember(mfaExempt, ada);
  });

  it('reports an outage as unavailable, to be retried', async () => {
    okta.fail(1, 500);
    expect(await refusal(connector.removeMember(mfaExempt, ada))).toMatchObject({ code: 'unavailable', httpStatus: 500, retryable: true });
    const closed = createOktaConnector({ orgUrl: 'http://127.0.0.1:9', apiToken: okta.apiToken, clock: () => NOW });
    const error = await refusal(closed.findUserByEmail('ada@example.com'));
    expect(error.code).toBe('unavailable');
    expect(error.message).not.toContain(okta.apiToken);
  });

  it('checks credentials, permissions and the named groups without changing anything', async () => {
    const appGroup = okta.addGroup({ name: 'Workday employees', type: 'APP_GROUP' });
    const before = okta.calls.length;
    const result = await connector.check([mfaExempt, appGroup, '00gnosuchgroup']);
    expect(okta.calls.slice(before).every((call) => call.method === 'GET')).toBe(true);
    expect(result.ok).toBe(false);
    expect(result.findings.map((finding) => [finding.what, finding.ok])).toEqual([
      ['OKTA_API_TOKEN is accepted', true],
      ['Can read groups', true],
      ['Can read people', true],
      [`Group ${mfaExempt}`, true],
      [`Group ${appGroup}`, false],
      ['Group 00gnosuchgroup', false],
    ]);
    expect(result.findings[4]!.detail).toContain('APP_GROUP');

    const wrong = await createOktaConnector({ orgUrl: okta.url, apiToken: '00NotTheToken0000', clock: () => NOW }).check([mfaExempt]);
    expect(wrong.findings).toHaveLength(1);
    expect(wrong.findings[0]).toMatchObject({ ok: false });
  });
});

describe('reading the Link header', () => {
  it.each([
    [null, undefined],
    ['<https://x.okta.com/api/v1/groups/1/users?limit=2>; rel="self"', undefined],
    ['<https://x.okta.com/a?limit=2>; rel="self", <https://x.okta.com/a?after=9&limit=2>; rel="next"', 'https://x.okta.com/a?after=9&limit=2'],
  ])('%s → %s', (header, next) => {
    expect(linkNext(header)).toBe(next);
  });
});
