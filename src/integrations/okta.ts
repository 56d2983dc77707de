import { errorFrom, nextPageUrl, readJson, send, type VendorHttp } from './http';
import { ConnectorError, type BypassGroup, checkFindings, type IdentityConnector, type IdentityPerson, type MemberPage } from './port';

export interface OktaConfig {
  /** OKTA_ORG_URL, e.g. https://example.okta.com */
  orgUrl: string;
  /** OKTA_API_TOKEN (SSWS). */
  apiToken: string;
  clock: () => Date;
  fetch?: typeof fetch;
  /** Members per page when reading a group; Okta serves up to 1,000 on this endpoint. */
  pageSize?: number;
}

interface OktaGroup {
  id: string;
  type?: string;
  profile?: { name?: string; description?: string | null };
}

interface OktaUser {
  id: string;
  profile?: { email?: string; login?: string; firstName?: string; lastName?: string };
}

interface OktaErrorBody {
  errorCode?: string;
  errorSummary?: string;
  errorCauses?: { errorSummary?: string }[];
}

/** Only OKTA_GROUP memberships can be changed through the API; app and built-in groups are fed from elsewhere. */
const CHANGEABLE_GROUP_TYPE = 'OKTA_GROUP';

/**
 * Okta Management API: Groups API for the bypass group and its members, Users API to map an email to a person.
 * Authenticates with an API token (`Authorization: SSWS …`), which acts with the admin roles of the admin who made it.
 */
export function createOktaConnector(config: OktaConfig): IdentityConnector {
  const base = config.orgUrl.replace(/\/+$/, '');
  const pageSize = config.pageSize ?? 1000;
  const http: VendorHttp = {
    vendor: 'okta',
    fetch: config.fetch ?? fetch,
    clock: config.clock,
    secrets: [config.apiToken],
    vendorMessage: (body) => {
      if (!body || typeof body !== 'object') return undefined;
      const error = body as OktaErrorBody;
      const causes = (error.errorCauses ?? []).map((cause) => cause.errorSummary).filter(Boolean);
      return error.errorSummary ? [error.errorSummary, ...causes].join('; ') : undefined;
    },
    fixes: {
      credentials: 'Check OKTA_API_TOKEN: it may have been revoked, or expired after 30 days unused (Security › API › Tokens).',
      permission: "The admin who created OKTA_API_TOKEN needs a role that manages this group's membership (Group Membership Administrator for the bypass groups).",
      not_found: 'Check that the group and the person still exist in Okta.',
    },
  };
  const headers = { authorization: `SSWS ${config.apiToken}`, accept: 'application/json' };

  const get = async (url: string, action: string, allow?: number[]) => send(http, { method: 'GET', url, headers, action, allow });

  function toGroup(group: OktaGroup): BypassGroup {
    return { id: group.id, name: group.profile?.name ?? group.id, description: group.profile?.description ?? undefined };
  }

  function toPerson(user: OktaUser): IdentityPerson {
    const name = [user.profile?.firstName, user.profile?.lastName].filter(Boolean).join(' ');
    return { id: user.id, email: user.profile?.email ?? user.profile?.login, name: name || undefined };
  }

  async function readGroup(groupId: string): Promise<OktaGroup | undefined> {
    const response = await get(`${base}/api/v1/groups/${encodeURIComponent(groupId)}`, 'look up the Okta group', [404]);
    return response.status === 404 ? undefined : ((await readJson(response)) as OktaGroup);
  }

  async function membership(method: 'PUT' | 'DELETE', groupId: string, userId: string, action: string): Promise<void> {
    const url = `${base}/api/v1/groups/${encodeURIComponent(groupId)}/users/${encodeURIComponent(userId)}`;
    const response = await send(http, { method, url, headers, action, allow: method === 'DELETE' ? [404] : [] });
    if (response.status !== 404) return;
    // Okta says 404 both for an unknown group and an unknown person; a person gone from the directory is out of it.
    const body = await readJson(response);
    if (!(await readGroup(groupId))) throw await errorFrom(http, response, action, body);
  }

  return {
    kind: 'identity',
    vendor: 'okta',

    async searchGroups(query) {
      const url = `${base}/api/v1/groups?q=${encodeURIComponent(query)}&limit=20`;
      const groups = (await readJson(await get(url, 'search Okta groups'))) as OktaGroup[];
      return groups.map(toGroup);
    },

    async findGroup(groupId) {
      const group = await readGroup(groupId);
      return group && toGroup(group);
    },

    async findUserByEmail(email) {
      // A quote would end Okta's search expression early; no real address needs one.
      const search = `profile.email eq "${email.replace(/["\\]/g, '')}"`;
      const users = (await readJson(await get(`${base}/api/v1/users?search=${encodeURIComponent(search)}&limit=2`, 'find the person in Okta'))) as OktaUser[];
      const first = users[0];
      return first && toPerson(first);
    },

    async groupMembers(groupId, next): Promise<MemberPage> {
      const url = next ?? `${base}/api/v1/groups/${encodeURIComponent(groupId)}/users?limit=${pageSize}`;
      const response = await get(url, 'read the members of the Okta group');
      const users = (await readJson(response)) as OktaUser[];
      return { members: users.map(toPerson), next: nextPageUrl(http, linkNext(response.headers.get('link')), base) };
    },

    addMember: (groupId, userId) => membership('PUT', groupId, userId, 'add the person to the Okta group'),
    removeMember: (groupId, userId) => membership('DELETE', groupId, userId, 'remove the person from the Okta group'),

    async check(groupIds = []) {
      const { findings, attempt } = checkFindings();
      const signedIn = await attempt('OKTA_API_TOKEN is accepted', async () => {
        const me = (await readJson(await get(`${base}/api/v1/users/me`, 'check the Okta API token'))) as OktaUser;
        return `It acts as ${me.profile?.login ?? me.id}.`;
      });
      if (signedIn) {
        await attempt('Can read groups', async () => {
          await get(`${base}/api/v1/groups?limit=1`, 'list Okta groups');
          return 'Groups can be searched for the request form.';
        });
        await attempt('Can read people', async () => {
          await get(`${base}/api/v1/users?limit=1`, 'list Okta people');
          return 'People can be found by their email.';
        });
        for (const groupId of groupIds) {
          await attempt(`Group ${groupId}`, async () => {
            const group = await readGroup(groupId);
            if (!group) throw await errorFrom(http, new Response(null, { status: 404 }), `find Okta group ${groupId}`);
            if (group.type && group.type !== CHANGEABLE_GROUP_TYPE) {
              throw new ConnectorError({ code: 'refused', reason: 'invalid', vendor: 'okta', message: `Okta group "${group.profile?.name ?? groupId}" is of type ${group.type}: its members are fed from elsewhere and cannot be changed through Okta's API. Use an Okta group (OKTA_GROUP) for the bypass.` });
            }
            return `"${group.profile?.name ?? groupId}" exists and its members can be changed.`;
          });
        }
      }
      return { vendor: 'okta', ok: findings.every((finding) => finding.ok), findings };
    },
  };
}

/** The `rel="next"` target of an RFC 8288 Link header, as Okta pages its lists. */
export function linkNext(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part.trim());
    if (match?.[1]) return match[1];
  }
  return undefined;
}
