import { readJson, send, type VendorHttp } from './http';
import { isConnectorError, type ChangeConnector, checkFindings, type RemediationIssue, type TrackedIssue, type TransitionOutcome } from './port';

export interface JiraConfig {
  /** JIRA_BASE_URL, e.g. https://example.atlassian.net */
  baseUrl: string;
  /** JIRA_EMAIL: the Atlassian account the API token belongs to. */
  email: string;
  /** JIRA_API_TOKEN */
  apiToken: string;
  /** JIRA_PROJECT_KEY: where remediation issues are created. */
  projectKey: string;
  clock: () => Date;
  fetch?: typeof fetch;
  issueType?: string;
}

interface JiraIssue {
  key: string;
  fields?: { summary?: string; status?: { name?: string } };
}

interface JiraTransition {
  id: string;
  name: string;
  to?: { name?: string };
}

/** Jira's summary field holds at most 255 characters. */
const SUMMARY_LIMIT = 255;
/** Every remediation issue carries this label too, so the security team can find them all in Jira. */
export const REGISTER_LABEL = 'security-exception';
/** The project permissions the account needs, and what each is for. */
const PERMISSIONS: Record<string, string> = {
  BROWSE_PROJECTS: 'see issues, to check a referenced key exists',
  CREATE_ISSUES: 'create the remediation issue on approval',
  ADD_COMMENTS: 'comment on renewal, expiry, close and revocation',
  TRANSITION_ISSUES: 'move the issue where its workflow allows',
};

/** Jira Cloud REST API v3, with basic authentication (account email and API token). */
export function createJiraConnector(config: JiraConfig): ChangeConnector {
  const base = config.baseUrl.replace(/\/+$/, '');
  const basic = Buffer.from(`${config.email}:${config.apiToken}`).toString('base64');
  const http: VendorHttp = {
    vendor: 'jira',
    fetch: config.fetch ?? fetch,
    clock: config.clock,
    secrets: [config.apiToken, basic],
    vendorMessage: (body) => {
      if (typeof body === 'string') return body.slice(0, 300) || undefined;
      if (!body || typeof body !== 'object') return undefined;
      const error = body as { errorMessages?: string[]; errors?: Record<string, string> };
      const said = [...(error.errorMessages ?? []), ...Object.entries(error.errors ?? {}).map(([field, message]) => `${field}: ${message}`)];
      return said.length ? said.join('; ') : undefined;
    },
    fixes: {
      credentials: 'Check JIRA_EMAIL and JIRA_API_TOKEN: the token must belong to that account and may have been revoked or expired (id.atlassian.com › Security › API tokens).',
      permission: `The account JIRA_EMAIL needs Browse projects, Create issues, Add comments and Transition issues in project ${config.projectKey}.`,
      not_found: 'Check the issue key, and that the account JIRA_EMAIL may browse its project.',
    },
  };
  const headers = { authorization: `Basic ${basic}`, accept: 'application/json' };
  const jsonHeaders = { ...headers, 'content-type': 'application/json' };
  const issuePath = (key: string) => `${base}/rest/api/3/issue/${encodeURIComponent(key)}`;

  function tracked(issue: JiraIssue): TrackedIssue {
    return { key: issue.key, summary: issue.fields?.summary ?? '', status: issue.fields?.status?.name ?? '', url: `${base}/browse/${issue.key}` };
  }

  async function findIssue(key: string): Promise<TrackedIssue | undefined> {
    // Jira answers 404 for a key that does not exist and for one this account may not see, alike.
    const response = await send(http, { method: 'GET', url: `${issuePath(key)}?fields=summary,status`, headers, action: `look up Jira issue ${key}`, allow: [404] });
    return response.status === 404 ? undefined : tracked((await readJson(response)) as JiraIssue);
  }

  async function findByLabel(label: string): Promise<TrackedIssue | undefined> {
    const jql = `project = "${config.projectKey}" AND labels = "${label}" ORDER BY created ASC`;
    const url = `${base}/rest/api/3/search/jql?jql=${encodeURIComponent(jql)}&fields=summary,status&maxResults=1`;
    const found = (await readJson(await send(http, { method: 'GET', url, headers, action: `look for the Jira issue labelled ${label}` }))) as { issues?: JiraIssue[] };
    const first = found.issues?.[0];
    return first && tracked(first);
  }

  return {
    kind: 'change',
    vendor: 'jira',
    findIssue,

    async createIssue(issue) {
      // A create that timed out may still have happened: the label finds it, so a retry never makes a second issue.
      const existing = await findByLabel(issue.exceptionRef);
      if (existing) return existing;
      const summary = truncate(`${issue.exceptionRef}: ${issue.summary}`, SUMMARY_LIMIT);
      const body = {
        fields: {
          project: { key: config.projectKey },
          issuetype: { name: config.issueType ?? 'Task' },
          summary,
          labels: [issue.exceptionRef, REGISTER_LABEL],
          description: remediationDocument(issue),
        },
      };
      const response = await send(http, { method: 'POST', url: `${base}/rest/api/3/issue`, headers: jsonHeaders, body: JSON.stringify(body), action: `create the Jira issue for ${issue.exceptionRef}` });
      const created = (await readJson(response)) as { key: string };
      return { key: created.key, summary, status: '', url: `${base}/browse/${created.key}` };
    },

    async comment(key, text) {
      await send(http, { method: 'POST', url: `${issuePath(key)}/comment`, headers: jsonHeaders, body: JSON.stringify({ body: document(text.split(/\n{2,}/)) }), action: `comment on Jira issue ${key}` });
    },

    async transition(key, toStatus): Promise<TransitionOutcome> {
      const wanted = toStatus.trim().toLowerCase();
      const current = await findIssue(key);
      if (current?.status.toLowerCase() === wanted) return 'already_there';
      const action = `move Jira issue ${key} to ${toStatus}`;
      const { transitions = [] } = (await readJson(await send(http, { method: 'GET', url: `${issuePath(key)}/transitions`, headers, action }))) as { transitions?: JiraTransition[] };
      // A workflow is the customer's own: only a transition that lands on the status named is taken, never a guess.
      const match = transitions.find((transition) => transition.to?.name?.toLowerCase() === wanted);
      if (!match) return 'no_matching_transition';
      await send(http, { method: 'POST', url: `${issuePath(key)}/transitions`, headers: jsonHeaders, body: JSON.stringify({ transition: { id: match.id } }), action });
      return 'transitioned';
    },

    async check() {
      const { findings, attempt } = checkFindings();
      const signedIn = await attempt('JIRA_EMAIL and JIRA_API_TOKEN are accepted', async () => {
        const me = (await readJson(await send(http, { method: 'GET', url: `${base}/rest/api/3/myself`, headers, action: 'check the Jira credentials' }))) as { displayName?: string; emailAddress?: string };
        return `Signed in as ${me.displayName ?? me.emailAddress ?? config.email}.`;
      });
      if (!signedIn) return { vendor: 'jira', ok: false, findings };
      const project = await attempt(`Project ${config.projectKey}`, async () => {
        const found = (await readJson(await send(http, { method: 'GET', url: `${base}/rest/api/3/project/${encodeURIComponent(config.projectKey)}`, headers, action: `find Jira project ${config.projectKey}` }))) as { name?: string };
        return `"${found.name ?? config.projectKey}" exists and this account can see it.`;
      });
      if (project) {
        const url = `${base}/rest/api/3/mypermissions?projectKey=${encodeURIComponent(config.projectKey)}&permissions=${Object.keys(PERMISSIONS).join(',')}`;
        let granted: Record<string, { havePermission?: boolean; name?: string }> | undefined;
        try {
          granted = ((await readJson(await send(http, { method: 'GET', url, headers, action: "read the account's Jira permissions" }))) as { permissions?: typeof granted }).permissions ?? {};
        } catch (error) {
          if (!isConnectorError(error)) throw error;
          findings.push({ what: 'Project permissions', ok: false, detail: error.message });
        }
        for (const [permission, why] of granted ? Object.entries(PERMISSIONS) : []) {
          const entry = granted?.[permission];
          findings.push({ what: entry?.name ?? permission, ok: entry?.havePermission === true, detail: entry?.havePermission ? `Granted: to ${why}.` : `Missing: needed to ${why}. Grant it to ${config.email} in project ${config.projectKey}'s permission scheme.` });
        }
      }
      return { vendor: 'jira', ok: findings.every((finding) => finding.ok), findings };
    },
  };
}

type AdfNode = Record<string, unknown>;

function text(value: string, href?: string): AdfNode {
  return href ? { type: 'text', text: value, marks: [{ type: 'link', attrs: { href } }] } : { type: 'text', text: value };
}

/** Atlassian Document Format: the rich text v3 requires for descriptions and comments. Empty text nodes are invalid. */
function document(paragraphs: readonly string[], extra: AdfNode[] = []): AdfNode {
  const content = paragraphs.filter((paragraph) => paragraph.trim()).map((paragraph) => ({ type: 'paragraph', content: [text(paragraph)] }));
  return { type: 'doc', version: 1, content: [...content, ...extra] };
}

function remediationDocument(issue: RemediationIssue): AdfNode {
  const facts: [string, string][] = [
    ['Policy', issue.policy],
    ['Scope', issue.scope],
    ['Compensating control', issue.compensatingControl],
    ['Owner', issue.owner],
    ['Expires', issue.expiresOn],
  ];
  const items = facts
    .filter(([, value]) => value.trim())
    .map(([label, value]) => ({ type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: `${label}: `, marks: [{ type: 'strong' }] }, text(value)] }] }));
  const link = issue.recordUrl ? [{ type: 'paragraph', content: [text('The record in the register: '), text(issue.exceptionRef, issue.recordUrl)] }] : [];
  return document([`This issue tracks the remediation for security exception ${issue.exceptionRef}. When the exception ends, the register comments here and moves the issue where the workflow allows.`], [{ type: 'bulletList', content: items }, ...link]);
}

function truncate(value: string, limit: number): string {
  return value.length <= limit ? value : `${value.slice(0, limit - 1)}…`;
}
