/**
 * A local stand-in for the Okta Management API (Groups and Users APIs), written from Okta's public documentation: a
 * real HTTP server on 127.0.0.1 that answers with Okta's shapes and refuses what Okta refuses. Authentication is an
 * API token (`Authorization: SSWS <token>`); errors are `{ errorCode, errorSummary, errorLink, errorId, errorCauses }`;
 * lists page with an RFC 8288 `Link: <…>; rel="next"` header; every answer carries the `X-Rate-Limit-*` headers and a
 * limited one is 429 with `X-Rate-Limit-Reset` in epoch seconds.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface OktaStandInGroup { id: string; name: string; description?: string; type: 'OKTA_GROUP' | 'APP_GROUP' | 'BUILT_IN'; members: Set<string> }
export interface OktaStandInUser { id: string; email: string; firstName?: string; lastName?: string }
export interface OktaCall { method: string; path: string; status: number }

export interface OktaStandIn {
  url: string;
  /** An API token made by a Super Administrator: may do everything. */
  apiToken: string;
  /** An API token whose admin may only read (Read-only Administrator): membership changes get 403 E0000006. */
  readOnlyToken: string;
  calls: OktaCall[];
  addGroup(group: { name: string; description?: string; type?: OktaStandInGroup['type'] }): string;
  addUser(user: { email: string; firstName?: string; lastName?: string }): string;
  /** Adds `count` people straight into a group (a large bypass group for paging and benchmarks). */
  fillGroup(groupId: string, count: number): string[];
  group(groupId: string): OktaStandInGroup | undefined;
  /** The next `times` API calls are refused with 429 and a reset `resetInSeconds` from now. */
  rateLimit(times: number, resetInSeconds: number): void;
  /** The next `times` API calls fail with `status`. */
  fail(times: number, status?: 500 | 503): void;
  /** Every answer from now on waits `ms` first, as from an org that is slow to answer (0: answer at once). */
  slowDown(ms: number): void;
  close(): Promise<void>;
}

const MAX_PAGE = 1000;
const RATE_LIMIT = 600;

export async function startOktaStandIn(): Promise<OktaStandIn> {
  const apiToken = `00${randomBytes(20).toString('base64url')}`;
  const readOnlyToken = `00${randomBytes(20).toString('base64url')}`;
  const groups = new Map<string, OktaStandInGroup>();
  const users = new Map<string, OktaStandInUser>();
  const calls: OktaCall[] = [];
  const admin: OktaStandInUser = { id: '00uadmin', email: 'okta-admin@example.com', firstName: 'Okta', lastName: 'Admin' };
  users.set(admin.id, admin);
  let limited = { times: 0, resetInSeconds: 0 };
  let failing = { times: 0, status: 500 };
  let sequence = 0;
  const newId = (prefix: string) => `${prefix}${String(++sequence).padStart(17, '0')}`;

  function reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
    const resetAt = Math.floor(Date.now() / 1000) + 60;
    res.writeHead(status, {
      'x-rate-limit-limit': String(RATE_LIMIT),
      'x-rate-limit-remaining': String(RATE_LIMIT - 1),
      'x-rate-limit-reset': String(resetAt),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  function error(res: ServerResponse, status: number, errorCode: string, errorSummary: string, headers: Record<string, string> = {}) {
    reply(res, status, { errorCode, errorSummary, errorLink: errorCode, errorId: `oae${randomBytes(8).toString('hex')}`, errorCauses: [] }, headers);
  }

  const notFound = (res: ServerResponse, what: string) => error(res, 404, 'E0000007', `Not found: Resource not found: ${what}`);

  function groupJson(group: OktaStandInGroup) {
    return { id: group.id, type: group.type, objectClass: ['okta:user_group'], profile: { name: group.name, description: group.description ?? null } };
  }

  function userJson(user: OktaStandInUser) {
    return { id: user.id, status: 'ACTIVE', profile: { login: user.email, email: user.email, firstName: user.firstName ?? null, lastName: user.lastName ?? null } };
  }

  function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const done = res.end.bind(res);
    res.end = ((...args: Parameters<typeof res.end>) => {
      calls.push({ method, path: `${path}${url.search}`, status: res.statusCode });
      return done(...args);
    }) as typeof res.end;

    const authorization = req.headers.authorization ?? '';
    const token = authorization.startsWith('SSWS ') ? authorization.slice(5) : undefined;
    if (token !== apiToken && token !== readOnlyToken) return error(res, 401, 'E0000011', 'Invalid token provided');
    if (limited.times > 0) {
      limited.times--;
      const reset = Math.floor(Date.now() / 1000) + limited.resetInSeconds;
      return error(res, 429, 'E0000047', 'API call exceeded rate limit due to too many requests.', { 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(reset) });
    }
    if (failing.times > 0) {
      failing.times--;
      return failing.status === 503 ? error(res, 503, 'E0000010', 'Service is in read only mode') : error(res, 500, 'E0000009', 'Internal Server Error');
    }

    if (method === 'GET' && path === '/api/v1/users/me') return reply(res, 200, userJson(admin));

    if (method === 'GET' && path === '/api/v1/users') {
      const search = url.searchParams.get('search') ?? url.searchParams.get('filter');
      let found = [...users.values()].filter((user) => user !== admin);
      if (search) {
        const match = /^profile\.email eq "([^"]*)"$/.exec(search);
        if (!match) return error(res, 400, 'E0000031', 'Invalid search criteria.');
        found = found.filter((user) => user.email.toLowerCase() === match[1]!.toLowerCase());
      }
      return reply(res, 200, found.slice(0, limitOf(url)).map(userJson));
    }

    if (method === 'GET' && path === '/api/v1/groups') {
      const q = (url.searchParams.get('q') ?? '').toLowerCase();
      const found = [...groups.values()].filter((group) => group.name.toLowerCase().startsWith(q));
      return reply(res, 200, found.slice(0, limitOf(url)).map(groupJson));
    }

    const groupPath = /^\/api\/v1\/groups\/([^/]+)(\/users(?:\/([^/]+))?)?$/.exec(path);
    if (!groupPath) return error(res, 404, 'E0000022', 'The endpoint does not support the provided HTTP method');
    const group = groups.get(decodeURIComponent(groupPath[1]!));
    if (!group) return notFound(res, `${groupPath[1]} (UserGroup)`);

    if (!groupPath[2]) return method === 'GET' ? reply(res, 200, groupJson(group)) : error(res, 405, 'E0000022', 'The endpoint does not support the provided HTTP method');

    if (!groupPath[3]) {
      if (method !== 'GET') return error(res, 405, 'E0000022', 'The endpoint does not support the provided HTTP method');
      const members = [...group.members].sort();
      const after = url.searchParams.get('after');
      const start = after ? members.findIndex((id) => id > after) : 0;
      const page = start < 0 ? [] : members.slice(start, start + limitOf(url));
      const self = `<http://${req.headers.host}${path}${url.search}>; rel="self"`;
      const last = page[page.length - 1];
      const more = last !== undefined && members[members.length - 1] !== last;
      const next = more ? `, <http://${req.headers.host}${path}?limit=${limitOf(url)}&after=${last}>; rel="next"` : '';
      return reply(res, 200, page.map((id) => userJson(users.get(id)!)), { link: `${self}${next}` });
    }

    const user = users.get(decodeURIComponent(groupPath[3]));
    if (method !== 'PUT' && method !== 'DELETE') return error(res, 405, 'E0000022', 'The endpoint does not support the provided HTTP method');
    if (token === readOnlyToken) return error(res, 403, 'E0000006', 'You do not have permission to perform the requested action');
    if (!user) return notFound(res, `${groupPath[3]} (User)`);
    // Both are idempotent in Okta: assigning a member again, or unassigning a non-member, is 204.
    if (method === 'PUT') group.members.add(user.id);
    else group.members.delete(user.id);
    return reply(res, 204);
  }

  let slowMs = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => (slowMs > 0 ? setTimeout(() => handle(req, res), slowMs) : handle(req, res)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiToken,
    readOnlyToken,
    calls,
    addGroup({ name, description, type = 'OKTA_GROUP' }) {
      const id = newId('00g');
      groups.set(id, { id, name, description, type, members: new Set() });
      return id;
    },
    addUser(user) {
      const id = newId('00u');
      users.set(id, { id, ...user });
      return id;
    },
    fillGroup(groupId, count) {
      const group = groups.get(groupId)!;
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = newId('00u');
        users.set(id, { id, email: `member${sequence}@example.com` });
        group.members.add(id);
        ids.push(id);
      }
      return ids;
    },
    group: (groupId) => groups.get(groupId),
    rateLimit(times, resetInSeconds) {
      limited = { times, resetInSeconds };
    },
    fail(times, status = 500) {
      failing = { times, status };
    },
    slowDown(ms) {
      slowMs = ms;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

function limitOf(url: URL): number {
  const limit = Number(url.searchParams.get('limit') ?? 200);
  return Number.isInteger(limit) && limit > 0 ? Math.min(limit, MAX_PAGE) : 200;
}
