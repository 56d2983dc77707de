import { afterEach } from 'vitest';
import { INPUT_ACTION_ID } from '../../src/slack/ids';
import { BYPASS_BLOCK_IDS, BYPASS_GROUP_PICKER } from '../../src/slack/views/request-modal';
import { startEntraStandIn, type EntraStandIn } from '../support/entra-stand-in';
import { startJiraStandIn, type JiraStandIn } from '../support/jira-stand-in';
import { startOktaStandIn, type OktaStandIn } from '../support/okta-stand-in';
import { PEOPLE, type Harness } from './harness';

/** The vendors' stand-ins a test runs the app against, and the environment that connects the app to them. */
export interface Vendors {
  okta?: OktaStandIn;
  entra?: EntraStandIn;
  jira?: JiraStandIn;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startVendors(which: { okta?: boolean; entra?: boolean; jira?: boolean }): Promise<Vendors> {
  const vendors: Vendors = { env: {}, close: async () => undefined };
  if (which.okta) {
    const okta = (vendors.okta = await startOktaStandIn());
    Object.assign(vendors.env, { OKTA_ORG_URL: okta.url, OKTA_API_TOKEN: okta.apiToken });
  }
  if (which.entra) {
    const entra = (vendors.entra = await startEntraStandIn());
    Object.assign(vendors.env, {
      ENTRA_TENANT_ID: entra.tenantId,
      ENTRA_CLIENT_ID: entra.app.clientId,
      ENTRA_CLIENT_SECRET: entra.app.clientSecret,
      ENTRA_LOGIN_URL: entra.url,
      ENTRA_GRAPH_URL: entra.url,
    });
  }
  if (which.jira) {
    const jira = (vendors.jira = await startJiraStandIn());
    Object.assign(vendors.env, { JIRA_BASE_URL: jira.url, JIRA_EMAIL: jira.account.email, JIRA_API_TOKEN: jira.account.apiToken, JIRA_PROJECT_KEY: jira.projectKey });
  }
  vendors.close = async () => {
    await Promise.all([vendors.okta?.close(), vendors.entra?.close(), vendors.jira?.close()]);
  };
  return vendors;
}

/**
 * The vendors' stand-ins of one test file: `start` runs the ones a test asks for, and after each test the app that
 * `app` hands over is stopped first (it is the one calling them), then the stand-ins.
 */
export function vendorStage(app: () => Harness | undefined) {
  let current: Vendors | undefined;
  const stopped = new WeakSet<Harness>();
  afterEach(async () => {
    const harness = app();
    if (harness && !stopped.has(harness)) {
      stopped.add(harness);
      await harness.close();
    }
    await current?.close();
    current = undefined;
  });
  return {
    start: async (which: { okta?: boolean; entra?: boolean; jira?: boolean }) => (current = await startVendors(which)),
    okta: () => current!.okta!,
    entra: () => current!.entra!,
    jira: () => current!.jira!,
  };
}

/** Slack people whose profile email (given to an app with users:read.email) is the one the vendors' directories know. */
const EMAILED = {
  [PEOPLE.requester]: { name: 'ana', realName: 'Ana Lima', email: 'ana@acme.com' },
  [PEOPLE.security]: { name: 'sam', realName: 'Sam Reyes', email: 'sam@acme.com' },
  [PEOPLE.committee1]: { name: 'kim', realName: 'Kim Osei', email: 'kim@acme.com' },
} as const;

export function addEmailedPeople(h: Harness, ids: (keyof typeof EMAILED)[]): void {
  for (const id of ids) h.standIn.addUser({ id, tz: 'Europe/London', ...EMAILED[id] });
}

/** The request modal's bypass inputs, as Slack sends them in view_submission: a group from the picker and its people. */
export function bypassValues(bypass: { group?: string; people?: string[] }): Record<string, Record<string, unknown>> {
  return {
    [BYPASS_BLOCK_IDS.group]: {
      [BYPASS_GROUP_PICKER]: { type: 'external_select', selected_option: bypass.group ? { text: { type: 'plain_text', text: 'group' }, value: bypass.group } : null },
    },
    [BYPASS_BLOCK_IDS.people]: { [INPUT_ACTION_ID]: { type: 'multi_users_select', selected_users: bypass.people ?? [] } },
  };
}
