import { errorFrom, nextPageUrl, readJson, send, type VendorHttp, type VendorRequest } from './http';
import { ConnectorError, isConnectorError, type BypassGroup, checkFindings, type IdentityConnector, type IdentityPerson, type MemberPage } from './port';

export interface EntraConfig {
  /** ENTRA_TENANT_ID */
  tenantId: string;
  /** ENTRA_CLIENT_ID: the app registration's application (client) ID. */
  clientId: string;
  /** ENTRA_CLIENT_SECRET */
  clientSecret: string;
  clock: () => Date;
  fetch?: typeof fetch;
  /** The Microsoft identity platform; tests point it at a stand-in. */
  loginUrl?: string;
  /** Microsoft Graph; tests point it at a stand-in. */
  graphUrl?: string;
  pageSize?: number;
}

interface GraphGroup {
  id: string;
  displayName?: string;
  description?: string | null;
  groupTypes?: string[];
  isAssignableToRole?: boolean | null;
  onPremisesSyncEnabled?: boolean | null;
}

interface GraphUser {
  '@odata.type'?: string;
  id: string;
  mail?: string | null;
  userPrincipalName?: string;
  displayName?: string | null;
}

interface GraphList<T> {
  value: T[];
  '@odata.nextLink'?: string;
}

const PUBLIC_GRAPH = 'https://graph.microsoft.com';

/**
 * The name Graph knows itself by, in token scopes and `@odata.id` references: the Graph URL of a sovereign cloud
 * (`https://graph.microsoft.us`), and the public cloud's for a local stand-in (plain http is allowed only to loopback).
 */
function graphResource(graphUrl: string): string {
  return graphUrl.startsWith('https://') ? graphUrl : PUBLIC_GRAPH;
}
/** A token is renewed this long before it expires, so no call goes out with one about to lapse. */
const RENEW_BEFORE_MS = 5 * 60_000;
const WRITE_MEMBERSHIP_ROLES = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];
// Listing users by mail as the app itself needs User.Read.All: User.ReadBasic.All is granted to signed-in users only.
const READ_USER_ROLES = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const ALREADY_MEMBER = /added object references already exist/i;
const NOT_A_MEMBER = /removed object references do not exist/i;

/**
 * Microsoft Entra ID through Microsoft Graph, as the app itself (client credentials, application permissions): group
 * search and direct members of security groups, people by mail or user principal name.
 */
export function createEntraConnector(config: EntraConfig): IdentityConnector {
  const login = (config.loginUrl ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const graph = (config.graphUrl ?? PUBLIC_GRAPH).replace(/\/+$/, '');
  const resource = graphResource(graph);
  const pageSize = config.pageSize ?? 999;
  const http: VendorHttp = {
    vendor: 'entra',
    fetch: config.fetch ?? fetch,
    clock: config.clock,
    secrets: [config.clientSecret, encodeURIComponent(config.clientSecret)],
    vendorMessage: (body) => {
      if (!body || typeof body !== 'object') return undefined;
      const graphError = (body as { error?: { code?: string; message?: string } | string; error_description?: string });
      if (typeof graphError.error === 'string') return graphError.error_description?.split(/\r?\n/)[0] ?? graphError.error;
      return graphError.error?.message ? `${graphError.error.code ?? 'Error'}: ${graphError.error.message}` : undefined;
    },
    fixes: {
      credentials: 'Check ENTRA_TENANT_ID, ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET (a client secret expires; make a new one under the app registration’s Certificates & secrets).',
      permission: 'Grant the app registration the Microsoft Graph application permissions GroupMember.ReadWrite.All and User.Read.All, with admin consent.',
      not_found: 'Check that the group and the person still exist in Entra ID.',
    },
  };
  let cached: { token: string; renewAt: number } | undefined;

  async function token(): Promise<string> {
    if (cached && cached.renewAt > config.clock().getTime()) return cached.token;
    const action = 'get a Microsoft Graph token';
    const body = new URLSearchParams({ client_id: config.clientId, client_secret: config.clientSecret, scope: `${resource}/.default`, grant_type: 'client_credentials' }).toString();
    const response = await send(http, { method: 'POST', url: `${login}/${encodeURIComponent(config.tenantId)}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body, action, allow: [400, 401] });
    const answer = (await readJson(response)) as { access_token?: string; expires_in?: number };
    // The identity platform answers a wrong tenant, client or secret with 400 or 401 and an OAuth error.
    if (response.status !== 200 || !answer.access_token) throw await errorFrom(http, response, action, answer, 401);
    http.secrets = [...http.secrets.filter((secret) => secret !== cached?.token), answer.access_token];
    cached = { token: answer.access_token, renewAt: config.clock().getTime() + (answer.expires_in ?? 3599) * 1000 - RENEW_BEFORE_MS };
    return cached.token;
  }

  async function call(request: Omit<VendorRequest, 'headers'> & { headers?: Record<string, string> }): Promise<Response> {
    const attempt = async () => send(http, { ...request, headers: { authorization: `Bearer ${await token()}`, accept: 'application/json', ...request.headers } });
    try {
      return await attempt();
    } catch (error) {
      // A token revoked or rotated before its expiry: fetch a fresh one once, then let the refusal stand.
      if (!isConnectorError(error) || error.reason !== 'credentials' || !cached) throw error;
      cached = undefined;
      return attempt();
    }
  }

  const quoted = (text: string) => `'${text.replace(/'/g, "''")}'`;

  function toPerson(user: GraphUser): IdentityPerson {
    return { id: user.id, email: user.mail ?? user.userPrincipalName, name: user.displayName ?? undefined };
  }

  async function readGroup(groupId: string): Promise<GraphGroup | undefined> {
    const url = `${graph}/v1.0/groups/${encodeURIComponent(groupId)}?$select=id,displayName,description,groupTypes,isAssignableToRole,onPremisesSyncEnabled`;
    const response = await call({ method: 'GET', url, action: 'look up the Entra group', allow: [404] });
    return response.status === 404 ? undefined : ((await readJson(response)) as GraphGroup);
  }

  function roles(): string[] {
    const payload = cached?.token.split('.')[1];
    if (!payload) return [];
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { roles?: unknown };
      return Array.isArray(claims.roles) ? claims.roles.filter((role): role is string => typeof role === 'string') : [];
    } catch {
      return [];
    }
  }

  return {
    kind: 'identity',
    vendor: 'entra',

    async searchGroups(query) {
      // startswith is a default query; $search would need `ConsistencyLevel: eventual` and matches inside words.
      const url = `${graph}/v1.0/groups?$filter=${encodeURIComponent(`startswith(displayName,${quoted(query)})`)}&$select=id,displayName,description&$top=20`;
      const list = (await readJson(await call({ method: 'GET', url, action: 'search Entra groups' }))) as GraphList<GraphGroup>;
      return list.value.map((group): BypassGroup => ({ id: group.id, name: group.displayName ?? group.id, description: group.description ?? undefined }));
    },

    async findGroup(groupId) {
      const group = await readGroup(groupId);
      return group && { id: group.id, name: group.displayName ?? group.id, description: group.description ?? undefined };
    },

    async findUserByEmail(email) {
      const filter = `mail eq ${quoted(email)} or userPrincipalName eq ${quoted(email)}`;
      const url = `${graph}/v1.0/users?$filter=${encodeURIComponent(filter)}&$select=id,mail,userPrincipalName,displayName&$top=2`;
      const list = (await readJson(await call({ method: 'GET', url, action: 'find the person in Entra ID' }))) as GraphList<GraphUser>;
      const first = list.value[0];
      return first && toPerson(first);
    },

    async groupMembers(groupId, next): Promise<MemberPage> {
      const url = next ?? `${graph}/v1.0/groups/${encodeURIComponent(groupId)}/members?$select=id,mail,userPrincipalName,displayName&$top=${pageSize}`;
      const list = (await readJson(await call({ method: 'GET', url, action: 'read the members of the Entra group' }))) as GraphList<GraphUser>;
      // Devices, contacts and nested groups can be members too; the register grants exceptions to people.
      const people = list.value.filter((member) => (member['@odata.type'] ?? '#microsoft.graph.user') === '#microsoft.graph.user');
      return { members: people.map(toPerson), next: nextPageUrl(http, list['@odata.nextLink'], graph) };
    },

    async addMember(groupId, userId) {
      const action = 'add the person to the Entra group';
      const response = await call({
        method: 'POST',
        url: `${graph}/v1.0/groups/${encodeURIComponent(groupId)}/members/$ref`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ '@odata.id': `${resource}/v1.0/directoryObjects/${userId}` }),
        action,
        allow: [400],
      });
      if (response.status !== 400) return;
      const body = await readJson(response);
      if (!ALREADY_MEMBER.test(http.vendorMessage(body) ?? '')) throw await errorFrom(http, response, action, body);
    },

    async removeMember(groupId, userId) {
      const action = 'remove the person from the Entra group';
      const url = `${graph}/v1.0/groups/${encodeURIComponent(groupId)}/members/${encodeURIComponent(userId)}/$ref`;
      const response = await call({ method: 'DELETE', url, action, allow: [400, 404] });
      if (response.ok) return;
      const body = await readJson(response);
      if (NOT_A_MEMBER.test(http.vendorMessage(body) ?? '')) return;
      // Graph says 404 for a member not in the group and for an unknown group alike.
      if (response.status === 400 || !(await readGroup(groupId))) throw await errorFrom(http, response, action, body);
    },

    async check(groupIds = []) {
      const { findings, attempt } = checkFindings();
      const refuse = (message: string) => new ConnectorError({ code: 'refused', reason: 'permission', vendor: 'entra', message });
      cached = undefined;
      const signedIn = await attempt('ENTRA_CLIENT_ID and ENTRA_CLIENT_SECRET are accepted', async () => {
        await token();
        return `The app has a Microsoft Graph token for tenant ${config.tenantId}.`;
      });
      if (signedIn) {
        const granted = roles();
        await attempt('May change group members', async () => {
          const role = WRITE_MEMBERSHIP_ROLES.find((candidate) => granted.includes(candidate));
          if (!role) throw refuse(`The app has none of ${WRITE_MEMBERSHIP_ROLES.join(', ')}. ${http.fixes.permission}`);
          return `Granted ${role}${role === WRITE_MEMBERSHIP_ROLES[0] ? '' : ` (more than needed: GroupMember.ReadWrite.All is enough)`}.`;
        });
        await attempt('May look people up by email', async () => {
          const role = READ_USER_ROLES.find((candidate) => granted.includes(candidate));
          if (!role) throw refuse(`The app has none of ${READ_USER_ROLES.join(', ')}. ${http.fixes.permission}`);
          return `Granted ${role}.`;
        });
        for (const groupId of groupIds) {
          await attempt(`Group ${groupId}`, async () => {
            const group = await readGroup(groupId);
            const name = group?.displayName ?? groupId;
            if (!group) throw await errorFrom(http, new Response(null, { status: 404 }), `find Entra group ${groupId}`);
            if (group.groupTypes?.includes('DynamicMembership')) throw refuse(`"${name}" has dynamic membership: Entra ID decides its members by a rule, so the register cannot add or remove people. Use an assigned security group.`);
            if (group.onPremisesSyncEnabled) throw refuse(`"${name}" is synchronised from on-premises Active Directory: change its members there, or use a cloud group.`);
            if (group.isAssignableToRole) throw refuse(`"${name}" can be assigned Entra roles: changing its members needs RoleManagement.ReadWrite.Directory, far more than this needs. Use a group that cannot be assigned roles.`);
            return `"${name}" exists and its members can be changed.`;
          });
        }
      }
      return { vendor: 'entra', ok: findings.every((finding) => finding.ok), findings };
    },
  };
}
