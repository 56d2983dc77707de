import { describe, expect, it } from 'vitest';
import { createConnectors, partlyConfigured } from '../../src/integrations/connectors';

const clock = () => new Date('2026-03-02T09:00:00Z');

describe('which connectors exist', () => {
  it('builds only the vendors that are configured', () => {
    expect(createConnectors({}, { clock })).toEqual({ identity: {}, change: undefined });
    const some = createConnectors({ okta: { orgUrl: 'https://example.okta.com', apiToken: 't' }, jira: { baseUrl: 'https://example.atlassian.net', email: 'bot@example.com', apiToken: 't', projectKey: 'SEC' } }, { clock });
    expect(Object.keys(some.identity)).toEqual(['okta']);
    expect(some.identity.okta!.vendor).toBe('okta');
    expect(some.change!.vendor).toBe('jira');
  });

  it.each([
    [{}, []],
    [{ OKTA_ORG_URL: 'https://example.okta.com', OKTA_API_TOKEN: 't' }, []],
    [{ OKTA_ORG_URL: 'https://example.okta.com' }, ['OKTA_API_TOKEN: is required when OKTA_ORG_URL is set']],
    [{ ENTRA_TENANT_ID: 'x', ENTRA_CLIENT_SECRET: ' ' }, ['ENTRA_CLIENT_ID: is required when ENTRA_TENANT_ID is set', 'ENTRA_CLIENT_SECRET: is required when ENTRA_TENANT_ID is set']],
    [{ JIRA_BASE_URL: 'https://x.atlassian.net', JIRA_EMAIL: 'a@b.c', JIRA_API_TOKEN: 't' }, ['JIRA_PROJECT_KEY: is required when JIRA_BASE_URL and JIRA_EMAIL and JIRA_API_TOKEN are set']],
  ])('names what is missing from a half-configured vendor: %o', (env, problems) => {
    expect(partlyConfigured(env)).toEqual(problems);
  });
});
