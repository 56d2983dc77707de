import type { AuditEntry } from '../db/audit-chain';
import type { IntegrationStatus, PendingChange } from '../db/integrations';
import type { ExceptionStatus } from '../domain/exception';
import { bypassIntent } from '../domain/integrations';
import { visible } from './terminal-text';

/**
 * `exceptions show`'s account of where an exception is applied, in the words the Slack record uses: the bypass
 * group, its people, the Jira issue, and whether each vendor holds what the register says.
 */

const STATE_WORDS = { not_applied: 'not applied yet', applying: 'being applied', applied: 'applied', removing: 'being removed', removed: 'removed' } as const;

function pendingWords(pending: PendingChange): string {
  if (pending.attempts === 0) return `on its way since ${pending.since}`;
  const error = pending.lastError ? `: ${visible(pending.lastError)}` : '';
  return `failing since ${pending.since} (${pending.attempts} attempt${pending.attempts === 1 ? '' : 's'}, next ${pending.nextAttemptAt}), last error${pending.lastErrorCode ? ` (${pending.lastErrorCode})` : ''}${error}`;
}

/** The lines, each `[label, value]`, for the caller's own field layout; none when the exception names no vendor. */
export function appliedFields(status: ExceptionStatus, integration: IntegrationStatus): [label: string, value: string][] {
  const fields: [string, string][] = [];
  const { bypass, issue } = integration;
  if (bypass) {
    const state = bypass.state === 'not_applied' && bypassIntent(status) === 'none' ? 'added on approval' : STATE_WORDS[bypass.state];
    const stillHeld = !bypass.pending && !bypass.inSync && bypass.state === 'applied' ? ' (ended, but still applied: remove them by hand)' : '';
    fields.push(['Applied in', `${bypass.vendorLabel} group ${visible(bypass.groupName)} (${visible(bypass.groupId)}), ${state}, ${bypass.inSync ? 'in sync' : 'NOT in sync'}${stillHeld}`]);
    const people = bypass.people.map((p) => `${visible(p.email ?? p.displayName ?? p.vendorUserId)}${p.slackUserId ? ` (${visible(p.slackUserId)})` : ''}`);
    fields.push(['People', people.length > 0 ? people.join(', ') : 'none']);
    if (bypass.pending) fields.push([`${bypass.vendorLabel} change`, pendingWords(bypass.pending)]);
  }
  if (issue) {
    fields.push([`${issue.vendorLabel} issue`, `${visible(issue.key)} ${visible(issue.url)}${issue.createdByApp ? ' (created by the register)' : ' (referenced in the request)'}, ${issue.inSync ? 'in sync' : 'NOT in sync'}`]);
    if (issue.pending) fields.push([`${issue.vendorLabel} update`, pendingWords(issue.pending)]);
  } else if (integration.issuePending) {
    fields.push(['Jira issue', `not created yet, ${pendingWords(integration.issuePending)}`]);
  }
  return fields;
}

/** A connector's audit event carries its sentence; the history line shows it. */
export function historyNote(entry: AuditEntry): string {
  if (!entry.kind.startsWith('integration.')) return '';
  const sentence = entry.payload.sentence;
  return typeof sentence === 'string' && sentence.trim() !== '' ? `  ${visible(sentence)}` : '';
}
