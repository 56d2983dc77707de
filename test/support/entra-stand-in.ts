/**
 * A local stand-in for the Microsoft identity platform's token endpoint and the parts of Microsoft Graph v1.0 the
 * Entra connector uses, on one HTTP server on 127.0.0.1, written from Microsoft's public documentation. Tokens come
 * from the client-credentials flow (`/{tenant}/oauth2/v2.0/token`, scope `https://graph.microsoft.com/.default`) and
 * carry the app's application permissions in their `roles` claim; Graph errors are `{ error: { code, message } }`;
 * lists page with `@odata.nextLink` and `$top` of at most 999; throttling is 429 with `Retry-After` in seconds.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';

export interface EntraStandInGroup { id: string; displayName: string; description?: string; groupTypes: string[]; isAssignableToRole: boolean; onPremisesSyncEnabled: boolean | null; members: Set<string> }
export interface EntraStandInUser { id: string; mail: string | null; userPrincipalName: string; displayName?: string }
export interface EntraApp { clientId: string; clientSecret: string; roles: string[] }
export interface GraphCall { method: string; path: string; status: number; consistencyLevel?: string }

export interface EntraStandIn {
  url: string;
  tenantId: string;
  /** An app granted the application permissions GroupMember.ReadWrite.All and User.Read.All, with admin consent. */
  app: EntraApp;
  calls: GraphCall[];
  tokensIssued(): number;
  addApp(roles: string[]): EntraApp;
  addGroup(group: { displayName: string; description?: string; dynamic?: boolean; roleAssignable?: boolean; synced?: boolean }): string;
  addUser(user: { mail: string | null; userPrincipalName?: string; displayName?: string }): string;
  fillGroup(groupId: string, count: number): string[];
  group(groupId: string): EntraStandInGroup | undefined;
  /** Every token issued so far stops working (as when a secret is rotated); new ones are issued as usual. */
  revokeTokens(): void;
  /** The next `times` Graph calls are throttled with `Retry-After: retryAfterSeconds`. */
  throttle(times: number, retryAfterSeconds: number): void;
  fail(times: number, status?: 500 | 503): void;
  close(): Promise<void>;
}

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const MAX_TOP = 999;
const READ_GROUPS = ['GroupMember.Read.All', 'GroupMember.ReadWrite.All', 'Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const WRITE_MEMBERS = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];
const READ_USERS = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];

export async function startEntraStandIn(options: { tokenLifetimeSeconds?: number } = {}): Promise<EntraStandIn> {
  const tenantId = randomUUID();
  const apps = new Map<string, EntraApp>();
  const tokens = new Map<string, { roles: string[]; expiresAt: number }>();
  const groups = new Map<string, EntraStandInGroup>();
  const users = new Map<string, EntraStandInUser>();
  const calls: GraphCall[] = [];
  let issued = 0;
  let throttled = { times: 0, retryAfterSeconds: 0 };
  let failing = { times: 0, status: 500 };
  const lifetime = options.tokenLifetimeSeconds ?? 3599;

  function addApp(roles: string[]): EntraApp {
    const app = { clientId: randomUUID(), clientSecret: `${randomBytes(3).toString('hex')}~${randomBytes(24).toString('base64url')}`, roles };
    apps.set(app.clientId, app);
    return app;
  }
  const app = addApp(['GroupMember.ReadWrite.All', 'User.Read.All']);

  function json(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), 'request-id': randomUUID(), ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }
  const graphError = (res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) =>
    json(res, status, { error: { code, message, innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': randomUUID() } } }, headers);
  const oauthError = (res: ServerResponse, status: number, error: string, aadsts: number, description: string) =>
    json(res, status, { error, error_description: `AADSTS${aadsts}: ${description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`, error_codes: [aadsts] });
  const notFound = (res: ServerResponse, id: string) => graphError(res, 404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);

  function issueToken(res: ServerResponse, tenant: string, form: URLSearchParams) {
    if (tenant !== tenantId) return oauthError(res, 400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    if (form.get('grant_type') !== 'client_credentials') return oauthError(res, 400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    const client = apps.get(form.get('client_id') ?? '');
    if (!client) return oauthError(res, 400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id')}' was not found in the directory.`);
    if (form.get('client_secret') !== client.clientSecret) return oauthError(res, 401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
    if (form.get('scope') !== GRAPH_SCOPE) return oauthError(res, 400, 'invalid_scope', 1002012, 'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.');
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const expiresAt = Math.floor(Date.now() / 1000) + lifetime;
    const token = `${part({ typ: 'JWT', alg: 'RS256' })}.${part({ aud: 'https://graph.microsoft.com', tid: tenantId, appid: client.clientId, roles: client.roles, exp: expiresAt, jti: randomUUID() })}.${randomBytes(32).toString('base64url')}`;
    tokens.set(token, { roles: client.roles, expiresAt });
    issued++;
    return json(res, 200, { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token });
  }

  function userJson(user: EntraStandInUser) {
    return { '@odata.type': '#microsoft.graph.user', id: user.id, mail: user.mail, userPrincipalName: user.userPrincipalName, displayName: user.displayName ?? null };
  }

  function graphCall(req: IncomingMessage, res: ServerResponse, url: URL, body: string) {
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const grant = tokens.get(bearer);
    if (!bearer) return graphError(res, 401, 'InvalidAuthenticationToken', 'Access token is empty.');
    if (!grant) return graphError(res, 401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.');
    if (grant.expiresAt * 1000 < Date.now()) return graphError(res, 401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.');
    if (throttled.times > 0) {
      throttled.times--;
      return graphError(res, 429, 'TooManyRequests', 'Too many requests, retry after some time.', { 'retry-after': String(throttled.retryAfterSeconds) });
    }
    if (failing.times > 0) {
      failing.times--;
      return graphError(res, failing.status, failing.status === 503 ? 'serviceNotAvailable' : 'generalException', 'The service is temporarily unavailable.', failing.status === 503 ? { 'retry-after': '10' } : {});
    }
    const may = (roles: string[]) => roles.some((role) => grant.roles.includes(role));
    const denied = () => graphError(res, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    const method = req.method ?? 'GET';
    const path = url.pathname;

    if (method === 'GET' && path === '/v1.0/groups') {
      if (!may(READ_GROUPS)) return denied();
      const search = url.searchParams.get('$search');
      if (search && req.headers.consistencylevel !== 'eventual') return graphError(res, 400, 'Request_UnsupportedQuery', "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'");
      const filter = url.searchParams.get('$filter');
      const prefix = filter ? /^startswith\(displayName,'((?:[^']|'')*)'\)$/i.exec(filter)?.[1]?.replace(/''/g, "'") : '';
      if (prefix === undefined) return graphError(res, 400, 'Request_UnsupportedQuery', 'Unsupported or invalid query filter clause specified.');
      const found = [...groups.values()].filter((group) => group.displayName.toLowerCase().startsWith(prefix.toLowerCase()));
      return json(res, 200, { value: found.map(({ members: _members, ...group }) => group) });
    }

    if (method === 'GET' && path === '/v1.0/users') {
      if (!may(READ_USERS)) return denied();
      const match = /^mail eq '((?:[^']|'')*)' or userPrincipalName eq '((?:[^']|'')*)'$/.exec(url.searchParams.get('$filter') ?? '');
      if (!match) return graphError(res, 400, 'Request_UnsupportedQuery', 'Unsupported or invalid query filter clause specified.');
      const [mail, upn] = [match[1]!, match[2]!].map((value) => value.replace(/''/g, "'").toLowerCase());
      const found = [...users.values()].filter((user) => user.mail?.toLowerCase() === mail || user.userPrincipalName.toLowerCase() === upn);
      return json(res, 200, { value: found.map(userJson) });
    }

    const groupPath = /^\/v1\.0\/groups\/([^/]+)(?:\/members(?:\/(?!\$ref)([^/]+))?(\/\$ref)?)?$/.exec(path);
    const isMembers = path.includes('/members');
    if (!groupPath) return graphError(res, 400, 'BadRequest', `Resource not found for the segment '${path.split('/').pop()}'.`);
    if (!may(READ_GROUPS)) return denied();
    const group = groups.get(decodeURIComponent(groupPath[1]!));
    if (!group) return notFound(res, decodeURIComponent(groupPath[1]!));

    if (!isMembers && method === 'GET') {
      const { members: _members, ...shape } = group;
      return json(res, 200, shape);
    }

    if (isMembers && !groupPath[2] && !groupPath[3] && method === 'GET') {
      const top = Number(url.searchParams.get('$top') ?? 100);
      if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) return graphError(res, 400, 'Request_BadRequest', `Invalid page size specified: '${url.searchParams.get('$top')}'. Must be between 1 and 999 inclusive.`);
      const members = [...group.members].sort();
      const skip = Number(url.searchParams.get('$skiptoken') ? Buffer.from(url.searchParams.get('$skiptoken')!, 'base64url').toString() : 0);
      const page = members.slice(skip, skip + top);
      const next = skip + top < members.length ? `http://${req.headers.host}${path}?$select=${url.searchParams.get('$select') ?? ''}&$top=${top}&$skiptoken=${Buffer.from(String(skip + top)).toString('base64url')}` : undefined;
      return json(res, 200, { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#directoryObjects', ...(next ? { '@odata.nextLink': next } : {}), value: page.map((id) => userJson(users.get(id)!)) });
    }

    if (isMembers && !groupPath[2] && groupPath[3] && method === 'POST') {
      if (!may(WRITE_MEMBERS)) return denied();
      let reference: string | undefined;
      try {
        reference = (JSON.parse(body) as { '@odata.id'?: string })['@odata.id'];
      } catch {
        reference = undefined;
      }
      const userId = reference && /^https:\/\/graph\.microsoft\.com\/v1\.0\/directoryObjects\/([^/]+)$/.exec(reference)?.[1];
      if (!userId) return graphError(res, 400, 'Request_BadRequest', 'Invalid object identifier.');
      if (!users.has(userId)) return notFound(res, userId);
      if (group.members.has(userId)) return graphError(res, 400, 'Request_BadRequest', "One or more added object references already exist for the following modified properties: 'members'.");
      group.members.add(userId);
      return json(res, 204);
    }

    if (isMembers && groupPath[2] && groupPath[3] && method === 'DELETE') {
      if (!may(WRITE_MEMBERS)) return denied();
      const userId = decodeURIComponent(groupPath[2]);
      if (!group.members.delete(userId)) return graphError(res, 404, 'Request_ResourceNotFound', "One or more removed object references do not exist for the following modified properties: 'members'.");
      return json(res, 204);
    }

    return graphError(res, 405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = Buffer.concat(chunks).toString('utf8');
      const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
      if (token && req.method === 'POST') return issueToken(res, decodeURIComponent(token[1]!), new URLSearchParams(body));
      res.on('finish', () => calls.push({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, status: res.statusCode, consistencyLevel: req.headers.consistencylevel as string | undefined }));
      graphCall(req, res, url, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    tenantId,
    app,
    calls,
    tokensIssued: () => issued,
    addApp,
    addGroup({ displayName, description, dynamic = false, roleAssignable = false, synced = false }) {
      const id = randomUUID();
      groups.set(id, { id, displayName, description, groupTypes: dynamic ? ['DynamicMembership'] : [], isAssignableToRole: roleAssignable, onPremisesSyncEnabled: synced ? true : null, members: new Set() });
      return id;
    },
    addUser({ mail, userPrincipalName, displayName }) {
      const id = randomUUID();
      users.set(id, { id, mail, userPrincipalName: userPrincipalName ?? mail ?? `${id}@example.onmicrosoft.com`, displayName });
      return id;
    },
    fillGroup(groupId, count) {
      const group = groups.get(groupId)!;
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = randomUUID();
        users.set(id, { id, mail: `member-${i}@example.com`, userPrincipalName: `member-${i}@example.com` });
        group.members.add(id);
        ids.push(id);
      }
      return ids;
    },
    group: (groupId) => groups.get(groupId),
    revokeTokens: () => tokens.clear(),
    throttle(times, retryAfterSeconds) {
      throttled = { times, retryAfterSeconds };
    },
    fail(times, status = 500) {
      failing = { times, status };
    },
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
