import { createEntraConnector } from './entra';
import { createJiraConnector } from './jira';
import { createOktaConnector } from './okta';
import type { ChangeConnector, IdentityConnector, IdentityVendor, Vendor } from './port';

/** The environment each connector is configured by; a vendor is configured when all of its variables are set. */
export const INTEGRATION_VARIABLES = {
  okta: ['OKTA_ORG_URL', 'OKTA_API_TOKEN'],
  entra: ['ENTRA_TENANT_ID', 'ENTRA_CLIENT_ID', 'ENTRA_CLIENT_SECRET'],
  jira: ['JIRA_BASE_URL', 'JIRA_EMAIL', 'JIRA_API_TOKEN', 'JIRA_PROJECT_KEY'],
} as const satisfies Record<Vendor, readonly string[]>;

/** What config.ts hands over once the variables are parsed; the base URLs of the vendors' APIs are overridable for stand-ins. */
export interface IntegrationSettings {
  okta?: { orgUrl: string; apiToken: string };
  entra?: { tenantId: string; clientId: string; clientSecret: string; loginUrl?: string; graphUrl?: string };
  jira?: { baseUrl: string; email: string; apiToken: string; projectKey: string };
}

export interface Connectors {
  /** Only the configured ones: a vendor without settings is absent from forms, cards and the check. */
  identity: Partial<Record<IdentityVendor, IdentityConnector>>;
  change?: ChangeConnector;
}

/** A vendor half configured is a mistake to name at start-up, not a connector to quietly leave out. */
export function partlyConfigured(env: Record<string, string | undefined>): string[] {
  return Object.values(INTEGRATION_VARIABLES).flatMap((names: readonly string[]) => {
    const set = names.filter((name) => env[name]?.trim());
    if (set.length === 0 || set.length === names.length) return [];
    return names.filter((name) => !set.includes(name)).map((name) => `${name}: is required when ${set.join(' and ')} ${set.length === 1 ? 'is' : 'are'} set`);
  });
}

export function createConnectors(settings: IntegrationSettings, deps: { clock: () => Date; fetch?: typeof fetch }): Connectors {
  const identity: Connectors['identity'] = {};
  if (settings.okta) identity.okta = createOktaConnector({ ...settings.okta, ...deps });
  if (settings.entra) identity.entra = createEntraConnector({ ...settings.entra, ...deps });
  return { identity, change: settings.jira && createJiraConnector({ ...settings.jira, ...deps }) };
}
