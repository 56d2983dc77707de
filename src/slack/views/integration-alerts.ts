import type { types } from '@slack/bolt';
import { STATUS_LABELS } from '../../domain/exception';
import type { ChangeFacts } from '../../integrations/apply-changes';
import { VENDOR_LABELS, type ConnectorErrorCode } from '../../integrations/port';
import type { ExceptionRecord } from '../../services/exception-record';
import type { SlackMessage } from './exception-cards';
import { escapeMrkdwnWithin, slackTime, truncate } from './mrkdwn';
import { viewDetailsButton } from './record-modal';

/**
 * The approvals channel is told once when a vendor has not taken a change the register made (an expiry whose
 * bypass is still in Okta is the failure this whole integration exists to prevent), and once more when it has.
 */

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** "the removal of 3 people from group MFA-exempt", "the new Jira issue", "the comment on SEC-142". */
function changeWords(facts: ChangeFacts): string {
  const group = escapeMrkdwnWithin(facts.groupName ?? facts.groupId ?? 'its group', 200);
  const people = plural(facts.people ?? 0, 'person', 'people');
  const key = facts.issueKey ? escapeMrkdwnWithin(facts.issueKey, 100) : undefined;
  switch (facts.taskKind) {
    case 'sync_membership':
      return facts.change === 'add' ? `the addition of ${people} to group ${group}` : `the removal of ${people} from group ${group}`;
    case 'link_issue':
      return key ? `the link to issue ${key}` : 'the new issue';
    case 'comment_issue':
      return `the comment on ${key ?? 'its issue'}`;
    case 'transition_issue':
      return `the move of ${key ?? 'its issue'} to Done`;
  }
}

/** What stays wrong while the vendor does not take it, in the words of whoever has to decide whether to step in. */
function meanwhile(facts: ChangeFacts): string {
  if (facts.taskKind !== 'sync_membership') return 'until then the issue does not show what the register says';
  return facts.change === 'add' ? 'until then they are not exempted yet, though the exception is approved' : 'until then they are still exempted';
}

function retryWords(code: ConnectorErrorCode, retryEveryMs: number | undefined, nextAt: string | undefined): string {
  if (code === 'refused') return `The app keeps trying every ${retryEveryMs && retryEveryMs !== 60 * 60_000 ? `${Math.round(retryEveryMs / 60_000)} minutes` : 'hour'}, in case the permission or token is put right`;
  return `The app keeps trying, waiting longer each time${nextAt ? ` (next ${slackTime(nextAt)})` : ''}`;
}

/** What to do instead of waiting. */
function whatToDo(facts: ChangeFacts, code: ConnectorErrorCode): string {
  const vendor = VENDOR_LABELS[facts.vendor];
  if (code !== 'refused') return '';
  if (facts.taskKind === 'sync_membership') {
    return facts.change === 'add'
      ? ` Fix what ${vendor} says above, or add them to the group in ${vendor} by hand.`
      : ` Fix what ${vendor} says above, or remove them from the group in ${vendor} by hand.`;
  }
  return ` Fix what ${vendor} says above; the exception itself is not affected.`;
}

export function integrationFailureAlert(record: ExceptionRecord, alert: { facts: ChangeFacts; error: string; code: ConnectorErrorCode; retryEveryMs?: number; nextAttemptAt?: string }): SlackMessage {
  const vendor = VENDOR_LABELS[alert.facts.vendor];
  const status = STATUS_LABELS[record.status].toLowerCase();
  const headline = `${vendor} did not take ${changeWords(alert.facts)} for ${record.ref} (${status})`;
  const text = `:warning: *${headline}:* ${escapeMrkdwnWithin(alert.error, 1500)} ${retryWords(alert.code, alert.retryEveryMs, alert.nextAttemptAt)}; ${meanwhile(alert.facts)}.${whatToDo(alert.facts, alert.code)}`;
  const blocks: types.KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 2900) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(`${escapeMrkdwnWithin(record.title, 150)} · its card and record show where it stands`, 300) }] },
    { type: 'actions', block_id: `integration_${record.id}`, elements: [viewDetailsButton(record.id)] },
  ];
  // The fallback text is read as mrkdwn too: what a vendor said is escaped there as well.
  return { text: truncate(`${headline}: ${escapeMrkdwnWithin(alert.error, 2000)}`, 3000), blocks };
}

export function integrationDoneNote(record: ExceptionRecord, done: { facts: ChangeFacts; sentence: string }): SlackMessage {
  const vendor = VENDOR_LABELS[done.facts.vendor];
  const what = `${escapeMrkdwnWithin(done.sentence, 500)}, which ${vendor} had not taken when it was reported here`;
  return {
    text: `Now done in ${vendor}: ${escapeMrkdwnWithin(done.sentence, 500)}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: truncate(`:white_check_mark: *Now done in ${vendor}:* ${what}.`, 2900) } },
      { type: 'actions', block_id: `integration_${record.id}`, elements: [viewDetailsButton(record.id)] },
    ],
  };
}
