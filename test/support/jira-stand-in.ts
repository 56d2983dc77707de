/**
 * A local stand-in for the Jira Cloud platform REST API v3, written from Atlassian's public documentation: a real
 * HTTP server on 127.0.0.1. Basic authentication with an account email and API token; errors are
 * `{ errorMessages: [], errors: { field: message } }`; an issue that does not exist and one the account may not see
 * are both 404; descriptions and comments must be Atlassian Document Format; labels may not contain spaces; a
 * transition is taken by id from the ones the issue's workflow offers; a limited request is 429 with `Retry-After`
 * (seconds) and `X-RateLimit-Reset` (ISO 8601).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export const JIRA_PERMISSIONS = ['BROWSE_PROJECTS', 'CREATE_ISSUES', 'ADD_COMMENTS', 'TRANSITION_ISSUES'] as const;
export type JiraPermission = (typeof JIRA_PERMISSIONS)[number];

export interface JiraAccount { email: string; apiToken: string; displayName: string; permissions: Set<JiraPermission> }
export interface JiraStandInIssue { id: string; key: string; project: string; summary: string; status: string; labels: string[]; description?: unknown; comments: unknown[]; issueType: string }
export interface JiraCall { method: string; path: string; status: number }

export interface JiraStandIn {
  url: string;
  projectKey: string;
  /** May do everything the register needs in the project. */
  account: JiraAccount;
  calls: JiraCall[];
  /** An account with only the permissions given (in the project); other projects it cannot browse at all. */
  addAccount(permissions: JiraPermission[]): JiraAccount;
  addIssue(issue: { summary: string; status?: string; project?: string }): string;
  issue(key: string): JiraStandInIssue | undefined;
  issues(): JiraStandInIssue[];
  rateLimit(times: number, retryAfterSeconds: number): void;
  fail(times: number, status?: 500 | 503): void;
  /** Every answer from now on waits `ms` first, as from a site that is slow to answer (0: answer at once). */
  slowDown(ms: number): void;
  close(): Promise<void>;
}

/** A simple workflow: To Do → In Progress → Done, with a way back; no "Closed" status exists. */
const WORKFLOW: Record<string, { id: string; name: string; to: string }[]> = {
  'To Do': [
    { id: '11', name: 'Start remediation', to: 'In Progress' },
    { id: '31', name: 'Mark done', to: 'Done' },
  ],
  'In Progress': [
    { id: '21', name: 'Stop', to: 'To Do' },
    { id: '31', name: 'Mark done', to: 'Done' },
  ],
  Done: [{ id: '41', name: 'Reopen', to: 'To Do' }],
};
const ISSUE_TYPES = ['Task', 'Bug'];

export async function startJiraStandIn(options: { projectKey?: string } = {}): Promise<JiraStandIn> {
  const projectKey = options.projectKey ?? 'SEC';
  const projects = new Map([[projectKey, 'Security remediation'], ['HR', 'People team']]);
  const accounts: JiraAccount[] = [];
  const issues = new Map<string, JiraStandInIssue>();
  const counters = new Map<string, number>();
  const calls: JiraCall[] = [];
  let limited = { times: 0, retryAfterSeconds: 0 };
  let failing = { times: 0, status: 500 };
  let ids = 10_000;

  function addAccount(permissions: JiraPermission[]): JiraAccount {
    const account = { email: `bot-${accounts.length}@example.com`, apiToken: `ATATT${randomBytes(24).toString('base64url')}`, displayName: `Exception register ${accounts.length}`, permissions: new Set(permissions) };
    accounts.push(account);
    return account;
  }
  const account = addAccount([...JIRA_PERMISSIONS]);

  function addIssue({ summary, status = 'To Do', project = projectKey, labels = [], description, issueType = 'Task' }: { summary: string; status?: string; project?: string; labels?: string[]; description?: unknown; issueType?: string }) {
    const next = (counters.get(project) ?? 0) + 1;
    counters.set(project, next);
    const key = `${project}-${next}`;
    issues.set(key, { id: String(++ids), key, project, summary, status, labels, description, comments: [], issueType });
    return key;
  }

  function json(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json;charset=UTF-8' }), ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }
  const refuse = (res: ServerResponse, status: number, errorMessages: string[], errors: Record<string, string> = {}) => json(res, status, { errorMessages, errors });
  const noIssue = (res: ServerResponse) => refuse(res, 404, ['Issue does not exist or you do not have permission to see it.']);

  function isDocument(value: unknown): boolean {
    const doc = value as { type?: string; version?: number; content?: unknown[] } | undefined;
    return doc?.type === 'doc' && doc.version === 1 && Array.isArray(doc.content) && !JSON.stringify(doc).includes('"text":""');
  }

  function handle(req: IncomingMessage, res: ServerResponse, url: URL, raw: string) {
    const basic = (req.headers.authorization ?? '').replace(/^Basic /, '');
    const [email, token] = Buffer.from(basic, 'base64').toString('utf8').split(/:(.*)/s);
    const caller = accounts.find((candidate) => candidate.email === email && candidate.apiToken === token);
    if (!caller) {
      res.writeHead(401, { 'content-type': 'text/plain;charset=UTF-8', 'www-authenticate': 'Basic realm="protected-area"' });
      return res.end('Client must be authenticated to access this resource.');
    }
    if (limited.times > 0) {
      limited.times--;
      const reset = new Date(Date.now() + limited.retryAfterSeconds * 1000).toISOString();
      return json(res, 429, { errorMessages: ['Rate limit exceeded.'], errors: {} }, { 'retry-after': String(limited.retryAfterSeconds), 'x-ratelimit-reset': reset, 'ratelimit-reason': 'jira-burst-based' });
    }
    if (failing.times > 0) {
      failing.times--;
      return refuse(res, failing.status, ['Internal server error']);
    }
    const can = (permission: JiraPermission, project: string) => project === projectKey && caller.permissions.has(permission);
    const method = req.method ?? 'GET';
    const path = url.pathname;
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      return refuse(res, 400, ['Unexpected character in the request body.']);
    }

    if (method === 'GET' && path === '/rest/api/3/myself') return json(res, 200, { accountId: `5b10${caller.email.length}`, emailAddress: caller.email, displayName: caller.displayName, active: true });

    if (method === 'GET' && path === '/rest/api/3/mypermissions') {
      const wanted = (url.searchParams.get('permissions') ?? '').split(',').filter(Boolean);
      if (!wanted.length) return refuse(res, 400, ['The permissions query parameter is required.']);
      const project = url.searchParams.get('projectKey') ?? '';
      const permissions = Object.fromEntries(wanted.map((key) => [key, { key, name: key.toLowerCase().replace(/_/g, ' ').replace(/^./, (first) => first.toUpperCase()), havePermission: can(key as JiraPermission, project) }]));
      return json(res, 200, { permissions });
    }

    const projectPath = /^\/rest\/api\/3\/project\/([^/]+)$/.exec(path);
    if (method === 'GET' && projectPath) {
      const key = decodeURIComponent(projectPath[1]!);
      if (!projects.has(key) || !can('BROWSE_PROJECTS', key)) return refuse(res, 404, [`No project could be found with key '${key}'.`]);
      return json(res, 200, { key, name: projects.get(key) });
    }

    if (method === 'GET' && path === '/rest/api/3/search/jql') {
      const match = /^project = "([^"]+)" AND labels = "([^"]+)"/.exec(url.searchParams.get('jql') ?? '');
      if (!match) return refuse(res, 400, ["Error in the JQL Query: the query could not be parsed."]);
      const found = [...issues.values()].filter((issue) => issue.project === match[1] && issue.labels.includes(match[2]!) && can('BROWSE_PROJECTS', issue.project));
      return json(res, 200, { issues: found.slice(0, Number(url.searchParams.get('maxResults') ?? 50)).map(issueJson), isLast: true });
    }

    if (method === 'POST' && path === '/rest/api/3/issue') {
      const fields = (body.fields ?? {}) as { project?: { key?: string }; issuetype?: { name?: string }; summary?: string; labels?: string[]; description?: unknown };
      const project = fields.project?.key ?? '';
      if (!projects.has(project)) return refuse(res, 400, [], { project: 'valid project is required' });
      if (!can('CREATE_ISSUES', project)) return refuse(res, 403, ['You do not have permission to create issues in this project.']);
      const errors: Record<string, string> = {};
      if (!ISSUE_TYPES.includes(fields.issuetype?.name ?? '')) errors.issuetype = 'Specify a valid issue type';
      if (!fields.summary?.trim()) errors.summary = 'You must specify a summary of the issue.';
      else if (fields.summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
      const spaced = (fields.labels ?? []).find((label) => /\s/.test(label));
      if (spaced) errors.labels = `The label '${spaced}' contains spaces which is invalid.`;
      if (fields.description !== undefined && !isDocument(fields.description)) errors.description = 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
      if (Object.keys(errors).length) return refuse(res, 400, [], errors);
      const key = addIssue({ summary: fields.summary!, project, labels: fields.labels ?? [], description: fields.description, issueType: fields.issuetype!.name! });
      const created = issues.get(key)!;
      return json(res, 201, { id: created.id, key, self: `http://${req.headers.host}/rest/api/3/issue/${created.id}` });
    }

    const issuePath = /^\/rest\/api\/3\/issue\/([^/]+)(\/comment|\/transitions)?$/.exec(path);
    if (!issuePath) return refuse(res, 404, ['null for uri: ' + path]);
    const issue = issues.get(decodeURIComponent(issuePath[1]!));
    if (!issue || !can('BROWSE_PROJECTS', issue.project)) return noIssue(res);

    if (!issuePath[2] && method === 'GET') return json(res, 200, issueJson(issue));

    if (issuePath[2] === '/comment' && method === 'POST') {
      if (!can('ADD_COMMENTS', issue.project)) return refuse(res, 403, ['You do not have the permission to comment on this issue.']);
      if (!isDocument(body.body)) return refuse(res, 400, [], { comment: 'Comment body can not be empty!' });
      issue.comments.push(body.body);
      return json(res, 201, { id: String(++ids), body: body.body, created: new Date().toISOString() });
    }

    if (issuePath[2] === '/transitions') {
      const offered = can('TRANSITION_ISSUES', issue.project) ? WORKFLOW[issue.status] ?? [] : [];
      if (method === 'GET') return json(res, 200, { expand: 'transitions', transitions: offered.map((step) => ({ id: step.id, name: step.name, to: { name: step.to }, isAvailable: true })) });
      if (method === 'POST') {
        if (!can('TRANSITION_ISSUES', issue.project)) return refuse(res, 403, ['You do not have permission to transition this issue.']);
        const wanted = (body.transition as { id?: string } | undefined)?.id;
        const step = offered.find((candidate) => candidate.id === wanted);
        if (!step) return refuse(res, 400, [`Transition id '${wanted}' is not valid for this issue.`]);
        issue.status = step.to;
        return json(res, 204);
      }
    }
    return refuse(res, 405, ['Method not allowed.']);
  }

  function issueJson(issue: JiraStandInIssue) {
    return { id: issue.id, key: issue.key, fields: { summary: issue.summary, status: { name: issue.status }, labels: issue.labels, issuetype: { name: issue.issueType } } };
  }

  let slowMs = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      res.on('finish', () => calls.push({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, status: res.statusCode }));
      const body = Buffer.concat(chunks).toString('utf8');
      if (slowMs > 0) setTimeout(() => handle(req, res, url, body), slowMs);
      else handle(req, res, url, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    projectKey,
    account,
    calls,
    addAccount,
    addIssue: (issue) => addIssue(issue),
    issue: (key) => issues.get(key),
    issues: () => [...issues.values()],
    rateLimit(times, retryAfterSeconds) {
      limited = { times, retryAfterSeconds };
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
