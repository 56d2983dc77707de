import type { types } from '@slack/bolt';
import { ESCALATE_AFTER_WORKING_DAYS } from '../../domain/follow-ups';
import type { ExceptionRecord } from '../../services/exception-record';
import { ACTION_IDS } from '../ids';
import type { SlackMessage } from './exception-cards';
import { escapeMrkdwn, mention, plainText, truncate } from './mrkdwn';

/** Block Kit allows 50 blocks a message; a digest keeps room for its heading and the "more" note. */
const MAX_ITEMS_WITH_BUTTONS = 20;

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } };
}

function line(record: ExceptionRecord): string {
  return `*${record.ref}* · ${escapeMrkdwn(truncate(record.title, 150))} (${escapeMrkdwn(record.policy.key)})`;
}

function days(n: number): string {
  if (n === 0) return 'today';
  return n === 1 ? 'tomorrow' : `in ${n} days`;
}

/** One DM per owner per run: each exception that needs a reminder, with its own Renew and Close buttons. */
export function reminderDigest(items: { record: ExceptionRecord; daysLeft: number }[]): SlackMessage {
  const shown = items.slice(0, MAX_ITEMS_WITH_BUTTONS);
  const blocks: types.KnownBlock[] = [
    section(
      items.length === 1
        ? 'An exception you own expires soon. When it expires the policy applies again in full.'
        : `${items.length} exceptions you own expire soon. When an exception expires the policy applies again in full.`,
    ),
  ];
  for (const { record, daysLeft } of shown) {
    blocks.push(section(`${line(record)}\nExpires *${days(daysLeft)}*, at the end of ${record.expiresOn}. Renew it with evidence of remediation progress, or close it if the gap is fixed.`));
    blocks.push({
      type: 'actions',
      block_id: `reminder_${record.id}`,
      elements: [
        { type: 'button', action_id: ACTION_IDS.renew, text: plainText('Renew'), value: String(record.id) },
        { type: 'button', action_id: ACTION_IDS.close, text: plainText('Close'), value: String(record.id) },
      ],
    });
  }
  const rest = items.slice(shown.length);
  if (rest.length > 0) blocks.push(section(`…and ${rest.length} more: ${rest.map((i) => i.record.ref).join(', ')}. Use \`/exception renew EXC-n\` or \`/exception close EXC-n\` for each.`));
  const soonest = Math.min(...items.map((i) => i.daysLeft));
  return { text: `${items.length === 1 ? `${items[0]!.record.ref} expires` : `${items.length} of your exceptions expire`} soon (first ${days(soonest)}).`, blocks };
}

/** Text a list may take in one message, below Slack's 12,000 for all the blocks of a message together. */
const LIST_BUDGET = 9000;

/**
 * One line per exception, in sections of up to 2,900 characters, while the message has room; whatever does not
 * fit is named by its ID on a last line, so nothing listed is silently left out.
 */
function listSections(records: ExceptionRecord[], describe: (record: ExceptionRecord) => string): types.SectionBlock[] {
  const sections: types.SectionBlock[] = [];
  let current = '';
  let used = 0;
  let shown = 0;
  for (const record of records) {
    const text = describe(record);
    if (used + text.length > LIST_BUDGET) break;
    if (current && current.length + text.length + 1 > 2900) {
      sections.push(section(current));
      current = '';
    }
    current = current ? `${current}\n${text}` : text;
    used += text.length + 1;
    shown++;
  }
  if (current) sections.push(section(current));
  const rest = records.slice(shown);
  if (rest.length > 0) sections.push(section(truncate(`…and ${rest.length} more: ${rest.map((r) => r.ref).join(', ')}`, 2900)));
  return sections;
}

/** One summary per sweep in the approvals channel, so the channel does not fill with one post per expiry. */
export function expirySummary(records: ExceptionRecord[]): SlackMessage {
  return {
    text: `${records.length} exception${records.length === 1 ? '' : 's'} expired: ${records.map((r) => r.ref).join(', ')}`,
    blocks: [
      section(`:hourglass: *${records.length} exception${records.length === 1 ? '' : 's'} expired* at the end of ${records.length === 1 ? records[0]?.expiresOn : 'their expiry days'}; the policies apply again in full.`),
      ...listSections(records, (r) => `• ${line(r)} · owner ${mention(r.ownerId)} · expired after ${r.expiresOn}`),
    ],
  };
}

/** One DM to a person several of whose exceptions expired in the same sweep. */
export function expiryDigest(records: ExceptionRecord[]): SlackMessage {
  return {
    text: `${records.length} of your exceptions have expired: ${records.map((r) => r.ref).join(', ')}`,
    blocks: [
      section(`:hourglass: *${records.length} of your exceptions have expired*; their policies apply again in full. If a gap is not fixed yet, request a new exception with \`/exception request\`.`),
      ...listSections(records, (r) => `• ${line(r)} · expired after ${r.expiresOn}`),
    ],
  };
}

export function stallEscalation(records: ExceptionRecord[], workingDays: number): SlackMessage {
  return {
    text: `${records.length} request${records.length === 1 ? ' has' : 's have'} waited more than ${ESCALATE_AFTER_WORKING_DAYS} working days: ${records.map((r) => r.ref).join(', ')}`,
    blocks: [
      section(`:rotating_light: *Escalated to the committee:* waiting more than ${ESCALATE_AFTER_WORKING_DAYS} working days (up to ${workingDays}) for someone to act.`),
      ...listSections(
        records,
        (r) => `• ${line(r)} · waiting for ${r.open?.stage === 'assessment' ? 'risk assessment by the security team' : 'a decision'}${r.renewal ? ` on renewal ${r.round}` : ''} · requested by ${mention(r.renewal?.requestedBy ?? r.requesterId)}`,
      ),
    ],
  };
}

export function stallNudge(record: ExceptionRecord, mentions: string[], workingDays: number): SlackMessage {
  const who = mentions.length > 0 ? `${mentions.map(mention).join(' ')} ` : '';
  const what = `${record.open?.stage === 'assessment' ? 'a risk assessment' : 'a decision'}${record.renewal ? ` on renewal ${record.round}` : ''}`;
  return {
    text: `${record.ref} has waited ${workingDays} working days for ${what}.`,
    blocks: [section(`${who}${record.ref} has waited *${workingDays} working days* for ${what}. Please act on it above, or say here why it should wait. After ${ESCALATE_AFTER_WORKING_DAYS} working days it goes to the steering committee.`)],
  };
}

export function renewalRequestedNote(record: ExceptionRecord, mentions: string[]): SlackMessage {
  const renewal = record.renewal;
  const who = mentions.length > 0 ? `${mentions.map(mention).join(' ')}: ` : '';
  return {
    text: `Renewal ${record.round} of ${record.ref} requested.`,
    blocks: [
      section(
        `${who}renewal ${record.round} of ${record.ref} was requested by ${mention(renewal?.requestedBy ?? record.ownerId)}, ${renewal?.percentComplete ?? 0}% remediated. ` +
          'It needs a fresh risk assessment: press *Assess risk* on the card above.',
      ),
    ],
  };
}

export function checkinQuestion(record: ExceptionRecord, checkinId: number): SlackMessage {
  return {
    text: `${record.ref}: is the compensating control still in place and working?`,
    blocks: [
      section(`Control check-in for ${line(record)}:\n*Is the compensating control still in place and working?*`),
      section(`*Compensating control*\n${escapeMrkdwn(truncate(record.compensatingControls, 2000))}`),
      {
        type: 'actions',
        block_id: `checkin_${checkinId}`,
        elements: [
          { type: 'button', action_id: ACTION_IDS.checkinYes, text: plainText('Yes, it works'), style: 'primary', value: String(checkinId) },
          { type: 'button', action_id: ACTION_IDS.checkinNo, text: plainText('No'), style: 'danger', value: String(checkinId) },
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'No answer in time is reported to the approvers, as a No would be.' }] },
    ],
  };
}

/** What an unanswered question becomes once a newer one is asked: no buttons, and where to answer instead. */
export function checkinSuperseded(record: ExceptionRecord): SlackMessage {
  const text = `This control check-in for ${record.ref} is closed: a newer one was asked, below. Answer that one; only the latest question counts.`;
  return { text, blocks: [section(text)] };
}

export function checkinAnswered(record: ExceptionRecord, answer: 'yes' | 'no'): SlackMessage {
  const text =
    answer === 'yes'
      ? `Thank you: recorded that the compensating control of ${record.ref} is in place and working.`
      : `Recorded: the compensating control of ${record.ref} is not in place or not working. The approvers have been told; fix the control or close the exception.`;
  return { text, blocks: [section(text)] };
}

export function checkinAlert(records: ExceptionRecord[], reason: 'answered_no' | 'no_answer', approverIds: readonly string[]): SlackMessage {
  const why = reason === 'answered_no' ? 'the owner says the compensating control is *not in place or not working*' : 'the owner did *not answer* the control check-in in time';
  return {
    text: `Needs attention: ${records.map((r) => r.ref).join(', ')}`,
    blocks: [
      section(`:warning: ${approverIds.map(mention).join(' ')} *Needs attention*: ${why}. Decide whether to keep the exception: revoke it, or agree a fix with the owner.`),
      ...listSections(records, (r) => `• ${line(r)} · owner ${mention(r.ownerId)} · expires ${r.expiresOn}`),
    ],
  };
}

export function reviewSummary(quarter: string, counts: Record<string, number>, overdue: number): SlackMessage {
  const order = ['active', 'requested', 'pending_approval', 'expired', 'closed', 'revoked', 'rejected'];
  const figures = order.map((status) => `${status.replace('_', ' ')}: *${counts[status] ?? 0}*`).join(' · ');
  return {
    text: `Quarterly review of the exception register, ${quarter}`,
    blocks: [
      { type: 'header', text: plainText(`Quarterly review of the exception register, ${quarter}`, 150) },
      section(figures),
      section(
        overdue > 0
          ? `*${overdue} exception${overdue === 1 ? ' is' : 's are'} open past the original expiry.* Each needs a committee member to re-approve it with a fresh justification, or to close it.`
          : 'No exception is open past its original expiry.',
      ),
    ],
  };
}

export function reviewOverdue(records: ExceptionRecord[]): SlackMessage {
  const blocks: types.KnownBlock[] = [];
  for (const record of records) {
    blocks.push(
      section(
        `${line(record)}\nOwner ${mention(record.ownerId)} · original expiry ${record.originalExpiresOn} · now ${record.expiresOn} · renewed ${record.renewalCount}×${record.attentionReason ? `\n:warning: ${escapeMrkdwn(record.attentionReason)}` : ''}`,
      ),
    );
    blocks.push({
      type: 'actions',
      block_id: `review_${record.id}`,
      elements: [
        { type: 'button', action_id: ACTION_IDS.reapprove, text: plainText('Re-approve'), value: String(record.id) },
        { type: 'button', action_id: ACTION_IDS.close, text: plainText('Close'), style: 'danger', value: String(record.id) },
      ],
    });
  }
  return { text: `Open past the original expiry: ${records.map((r) => r.ref).join(', ')}`, blocks };
}

export function reviewRegister(records: ExceptionRecord[]): SlackMessage {
  return {
    text: `Active register: ${records.length} exceptions`,
    blocks: listSections(records, (r) => `• ${r.ref} · ${escapeMrkdwn(truncate(r.title, 80))} · ${escapeMrkdwn(r.policy.key)} · ${mention(r.ownerId)} · until ${r.expiresOn}${r.attentionReason ? ' :warning:' : ''}`),
  };
}

/** The app's one answer in a watched thread: the formal way in, and why a chat approval counts for nothing. */
export function informalPointer(askedBy: string, askId: number): SlackMessage {
  return {
    text: 'Security exceptions go through a formal request; an approval in chat does not count.',
    blocks: [
      section(
        `${mention(askedBy)} it sounds like you need an exception to a security policy. Those go through a formal request: ` +
          'the policy, a business justification, a compensating control, an owner and an expiry date. The security team assesses it and the right approver decides.\n' +
          '*An approval given here in the thread (such as "ok, approved") does not count*: only a decision recorded on the request does.',
      ),
      {
        type: 'actions',
        block_id: `informal_${askId}`,
        elements: [{ type: 'button', action_id: ACTION_IDS.requestFromThread, text: plainText('Request an exception'), style: 'primary', value: String(askId) }],
      },
    ],
  };
}
