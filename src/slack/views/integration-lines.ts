import type { types } from '@slack/bolt';
import type { BoundPerson, BypassState, BypassStatus, IntegrationStatus, PendingChange } from '../../db/integrations';
import { bypassIntent } from '../../domain/integrations';
import { STATUS_LABELS, type ExceptionStatus } from '../../domain/exception';
import { escapeMrkdwn, escapeMrkdwnWithin, mention, slackTime, truncate } from './mrkdwn';

/**
 * Where an exception is applied, said the same way on its cards, its record, App Home and the weekly post: the
 * bypass group and its people, the Jira issue, and plainly when a vendor has not taken a change.
 */

const STATE_WORDS: Record<BypassState, string> = {
  not_applied: 'not applied yet',
  applying: 'being applied',
  applied: 'applied',
  removing: 'being removed',
  removed: 'removed',
};

function stateWords(status: ExceptionStatus, bypass: BypassStatus): string {
  if (bypass.state !== 'not_applied') return STATE_WORDS[bypass.state];
  const intent = bypassIntent(status);
  return intent === 'none' ? 'added on approval' : intent === 'remove' ? 'never applied' : STATE_WORDS.not_applied;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** "Okta group *MFA-exempt* · 3 people · applied". */
export function bypassLine(status: ExceptionStatus, bypass: BypassStatus): string {
  return `${bypass.vendorLabel} group *${escapeMrkdwnWithin(bypass.groupName, 200)}* · ${plural(bypass.people.length, 'person', 'people')} · ${stateWords(status, bypass)}`;
}

/** A Slack mention where the person was picked in Slack, else their address in the vendor. */
export function personName(person: BoundPerson): string {
  if (person.slackUserId) return mention(person.slackUserId);
  return escapeMrkdwnWithin(person.email ?? person.displayName ?? person.vendorUserId, 200);
}

/** Only an address that cannot break out of Slack's link syntax is shown as a link; anything else is just the key. */
const SAFE_URL = /^https?:\/\/[^\s<>|]+$/;

/** "Jira SEC-142", the key linking to the issue. */
export function issueLink(integration: IntegrationStatus): string | undefined {
  const issue = integration.issue;
  if (!issue) return undefined;
  const key = escapeMrkdwnWithin(issue.key, 100);
  return `${issue.vendorLabel} ${SAFE_URL.test(issue.url) ? `<${issue.url.replace(/&/g, '&amp;')}|${key}>` : key}`;
}

const FAILURE_WORDS: Record<string, string> = { refused: 'refused', unavailable: 'could not be reached for', rate_limited: 'asked the register to slow down with' };

/** Why the vendor has not taken a change yet, in its own words, and that the register keeps trying. */
function failing(vendorLabel: string, change: string, pending: PendingChange, room: number): string {
  const how = FAILURE_WORDS[pending.lastErrorCode ?? ''] ?? 'has not taken';
  const said = pending.lastError ? `: “${escapeMrkdwnWithin(pending.lastError, room)}”` : '';
  return `${vendorLabel} ${how} the ${change}${said} Trying again since ${slackTime(pending.since)} (${plural(pending.attempts, 'attempt', 'attempts')}; next ${slackTime(pending.nextAttemptAt)}).`;
}

/**
 * The warning when the register and the identity provider disagree and the register cannot put it right: a removal
 * (or an addition) that has failed, or a bypass still held after the exception ended with nothing left to retry.
 */
export function bypassWarning(status: ExceptionStatus, bypass: BypassStatus, room = 300): string | undefined {
  const intent = bypassIntent(status);
  const where = `${bypass.vendorLabel} group ${escapeMrkdwnWithin(bypass.groupName, 200)}`;
  const pending = bypass.pending;
  if (pending && pending.attempts > 0) {
    const headline = intent === 'apply' ? `${STATUS_LABELS[status]}, but not yet applied in ${where}` : `${STATUS_LABELS[status]}, but still applied in ${where}`;
    return `:warning: *${headline}:* ${failing(bypass.vendorLabel, intent === 'apply' ? 'addition' : 'removal', pending, room)}`;
  }
  if (!pending && !bypass.inSync && intent === 'remove' && bypass.state === 'applied') {
    return `:warning: *${STATUS_LABELS[status]}, but still applied in ${where}:* the register has no removal left to try. Remove the people from the group in ${bypass.vendorLabel} by hand.`;
  }
  return undefined;
}

/** The warning when Jira work has failed: the issue not created yet, or a comment or transition not taken. */
export function issueWarning(integration: IntegrationStatus, room = 300): string | undefined {
  const pending = integration.issue?.pending ?? integration.issuePending;
  if (!pending || pending.attempts === 0) return undefined;
  const label = integration.issue?.vendorLabel ?? 'Jira';
  return integration.issue
    ? `:warning: *${label} ${escapeMrkdwn(integration.issue.key)} is behind the register:* ${failing(label, 'update', pending, room)}`
    : `:warning: *No ${label} issue yet:* ${failing(label, 'new issue', pending, room)}`;
}

/** The short line (and any warning) a card carries under its first line; nothing when it names no vendor. */
export function integrationBlocks(status: ExceptionStatus, integration: IntegrationStatus): types.KnownBlock[] {
  const facts = [
    ...(integration.bypass ? [bypassLine(status, integration.bypass)] : []),
    ...(integration.issue ? [issueLink(integration)!] : integration.issuePending ? ['Jira issue being created'] : []),
  ];
  const warnings = [...(integration.bypass ? [bypassWarning(status, integration.bypass)] : []), issueWarning(integration)].filter((w): w is string => w !== undefined);
  return [
    ...(facts.length > 0 ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(facts.join(' · '), 3000) }] } as types.ContextBlock] : []),
    ...warnings.map((text): types.SectionBlock => ({ type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } })),
  ];
}

/** Whether the vendor holds what the register says, and if not, why, in a few words. */
export function syncWords(status: ExceptionStatus, bypass: Pick<BypassStatus, 'inSync' | 'pending' | 'state'>): string {
  if (bypass.inSync) return 'in sync with the register';
  if (bypass.pending) return bypass.pending.attempts === 0 ? 'not in sync yet: the change is on its way' : 'not in sync: the change keeps failing (below)';
  return bypassIntent(status) === 'apply' ? 'not in sync: approved, but nothing is on its way to apply it' : 'not in sync: ended, but still applied';
}

/** People named on the record, as many as fit; the rest counted. */
const NAMED_PEOPLE = 25;

/** The record's "Where it is applied": the group, its people, the issue, whether each is in sync and why not. */
export function appliedSection(status: ExceptionStatus, integration: IntegrationStatus, room = 500): types.SectionBlock[] {
  const lines: string[] = [];
  const { bypass, issue } = integration;
  if (bypass) {
    lines.push(`${bypassLine(status, bypass)} · ${syncWords(status, bypass)}`);
    const named = bypass.people.slice(0, NAMED_PEOPLE).map(personName);
    const more = bypass.people.length - named.length;
    if (named.length > 0) lines.push(`People: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
    const warning = bypassWarning(status, bypass, room);
    if (warning) lines.push(warning);
  }
  if (issue) lines.push(`${issueLink(integration)!}${issue.createdByApp ? ', created by the register' : ', referenced in the request'} · ${issue.inSync ? 'in sync with the register' : 'not in sync yet: an update is on its way'}`);
  else if (integration.issuePending) lines.push('Jira issue: being created');
  const issueTrouble = issueWarning(integration, room);
  if (issueTrouble) lines.push(issueTrouble);
  if (lines.length === 0) return [];
  return [{ type: 'section', text: { type: 'mrkdwn', text: truncate(`*Where it is applied*\n${lines.join('\n')}`, 3000) } }];
}

/** The warning in a few words, for a list item whose *View details* has the rest. */
export function bypassTrouble(status: ExceptionStatus, bypass: BypassStatus): string {
  const where = `${bypass.vendorLabel} group ${escapeMrkdwnWithin(bypass.groupName, 100)}`;
  const headline = bypassIntent(status) === 'apply' ? `not yet applied in ${where}` : `${STATUS_LABELS[status].toLowerCase()}, but still applied in ${where}`;
  const since = bypass.pending ? `: failing since ${slackTime(bypass.pending.since)}` : ': nothing left to retry, remove it by hand';
  return `:warning: It is ${headline}${since}. *View details* says why.`;
}
