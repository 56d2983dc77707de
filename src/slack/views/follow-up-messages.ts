import type { types } from '@slack/bolt';
import type { ExceptionRecord } from '../../services/exception-record';
import { ACTION_IDS } from '../ids';
import type { SlackMessage } from './exception-cards';
import { calendarDay, calendarDayFrom, escapeMrkdwn, mention, plainText, truncate } from './mrkdwn';
import type { OrgCalendar } from './personal-digest';
import { viewDetailsButton } from './record-modal';
import { changedTerms } from './term-change-lines';

/** Block Kit allows 50 blocks a message; an alert keeps room for its heading and the "more" note. */
const MAX_ITEMS_WITH_BUTTONS = 20;

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } };
}

function line(record: ExceptionRecord): string {
  return `*${record.ref}* · ${escapeMrkdwn(truncate(record.title, 150))} (${escapeMrkdwn(record.policy.key)})`;
}

/** Text a list may take in one message, below Slack's 12,000 for all the blocks of a message together. */
const LIST_BUDGET = 9000;

/**
 * Each owner's lines, packed into sections as they fit; one owner's long list is split line by line rather than
 * cut, and what is past the message's budget is still named, by ID.
 */
function ownerSections(groups: { owned: ExceptionRecord[] }[], lines: (owned: ExceptionRecord[]) => string[]): types.SectionBlock[] {
  const sections: types.SectionBlock[] = [];
  const left: ExceptionRecord[] = [];
  let current = '';
  let used = 0;
  for (const { owned } of groups) {
    const [heading, ...items] = lines(owned);
    const entries = owned.length === 1 ? [{ text: heading!, records: owned }] : [{ text: heading!, records: [] }, ...items.map((text, i) => ({ text, records: [owned[i]!] }))];
    for (const entry of entries) {
      if (left.length > 0 || used + entry.text.length > LIST_BUDGET) {
        left.push(...entry.records);
        continue;
      }
      if (current && current.length + entry.text.length + 1 > 2900) {
        sections.push(section(current));
        current = '';
      }
      current = current ? `${current}\n${entry.text}` : entry.text;
      used += entry.text.length + 1;
    }
  }
  if (current) sections.push(section(current));
  if (left.length > 0) sections.push(section(truncate(`…and ${left.length} more: ${left.map((r) => r.ref).join(', ')}`, 2900)));
  return sections;
}

/**
 * One summary per sweep in the approvals channel, only when something expired: grouped by owner, each owner
 * mentioned once, and the day that ended said as people say it, with the zone where it ended.
 */
export function expirySummary(records: ExceptionRecord[], cal: OrgCalendar): SlackMessage {
  const days = [...new Set(records.map((r) => r.expiresOn ?? r.requestedExpiresOn))];
  const oneDay = days.length === 1 ? days[0] : undefined;
  const byOwner = new Map<string, ExceptionRecord[]>();
  for (const record of records) byOwner.set(record.ownerId, [...(byOwner.get(record.ownerId) ?? []), record]);
  const item = (r: ExceptionRecord) => `${line(r)}${oneDay ? '' : ` · expired after ${calendarDay(r.expiresOn ?? r.requestedExpiresOn, cal.today)}`}`;
  const groups = [...byOwner].map(([ownerId, owned]) => ({ ownerId, owned }));
  return {
    text: `${records.length} exception${records.length === 1 ? '' : 's'} expired: ${records.map((r) => r.ref).join(', ')}`,
    blocks: [
      section(
        `:hourglass: *${records.length} exception${records.length === 1 ? '' : 's'} expired* at the end of ${oneDay ? calendarDay(oneDay, cal.today) : 'their expiry days'} (midnight ${cal.timeZone}); ${records.length === 1 ? 'its policy applies' : 'their policies apply'} again in full. Owners were told by DM.`,
      ),
      ...ownerSections(groups, (owned) =>
        owned.length === 1 ? [`• ${mention(owned[0]!.ownerId)}: ${item(owned[0]!)}`] : [`• ${mention(owned[0]!.ownerId)}, ${owned.length}:`, ...owned.map((r) => `    ◦ ${item(r)}`)],
      ),
    ],
  };
}

export function renewalRequestedNote(record: ExceptionRecord, mentions: string[]): SlackMessage {
  const renewal = record.renewal;
  const who = mentions.length > 0 ? `${mentions.map(mention).join(' ')}: ` : '';
  return {
    text: `Renewal ${renewal?.number ?? record.round} of ${record.ref} requested.`,
    blocks: [
      section(
        `${who}renewal ${renewal?.number ?? record.round} of ${record.ref} was requested by ${mention(renewal?.requestedBy ?? record.ownerId)}, ${renewal?.percentComplete ?? 0}% remediated. ` +
          'It needs a fresh risk assessment: press *Assess risk* on the card above.',
      ),
    ],
  };
}

/** Told in the card's thread: the owner asks to change the terms of an active exception, which needs a fresh assessment. */
export function amendmentRequestedNote(record: ExceptionRecord, mentions: string[]): SlackMessage {
  const amendment = record.amendment;
  const who = mentions.length > 0 ? `${mentions.map(mention).join(' ')}: ` : '';
  const fields = amendment ? changedTerms(amendment) : 'terms';
  return {
    text: `${record.ref}: a change of its terms was requested.`,
    blocks: [
      section(
        `${who}${mention(amendment?.requestedBy ?? record.ownerId)} asks to change the ${fields} of ${record.ref}. It stays active on its current terms until the change is approved. ` +
          'The change needs a fresh risk assessment: press *Assess risk* on the card above.',
      ),
    ],
  };
}

/**
 * The needs-attention alert: each exception with Revoke while it still needs attention; once it has moved on
 * (revoked, closed, expired, or the owner has confirmed the control) the line says so instead, without buttons.
 */
export function checkinAlert(records: ExceptionRecord[], reason: 'answered_no' | 'no_answer', approverIds: readonly string[], cal: OrgCalendar): SlackMessage {
  const why = reason === 'answered_no' ? 'the owner says the compensating control is *not in place or not working*' : 'the owner did *not answer* the control check-in in time';
  const blocks: types.KnownBlock[] = [section(`:warning: ${approverIds.map(mention).join(' ')} *Needs attention*: ${why}. Decide whether to keep the exception: revoke it, or agree a fix with the owner.`)];
  const shown = records.slice(0, MAX_ITEMS_WITH_BUTTONS);
  for (const record of shown) {
    const live = record.status === 'active' && record.attentionReason !== null;
    if (!live) {
      blocks.push(section(`${line(record)} · owner ${mention(record.ownerId)}\n${attentionOutcome(record, cal)}`));
      continue;
    }
    blocks.push(section(`${line(record)} · owner ${mention(record.ownerId)} · expires ${calendarDayFrom(record.expiresOn ?? record.requestedExpiresOn, cal.today)}`));
    blocks.push({
      type: 'actions',
      block_id: `attention_${record.id}`,
      elements: [{ type: 'button', action_id: ACTION_IDS.revoke, text: plainText('Revoke'), style: 'danger', value: String(record.id) }, viewDetailsButton(record.id)],
    });
  }
  const rest = records.slice(shown.length);
  if (rest.length > 0) blocks.push(section(truncate(`…and ${rest.length} more: ${rest.map((r) => r.ref).join(', ')}. Use \`/exception show EXC-n\` for each.`, 2900)));
  return { text: `Needs attention: ${records.map((r) => r.ref).join(', ')}`, blocks };
}

function attentionOutcome(record: ExceptionRecord, cal: OrgCalendar): string {
  switch (record.status) {
    case 'revoked':
      return ':no_entry: *Revoked*; nothing more to decide.';
    case 'closed':
      return ':white_check_mark: *Closed* by its owner; nothing more to decide.';
    case 'expired':
      return `:hourglass: *Expired* at the end of ${calendarDay(record.expiresOn ?? record.requestedExpiresOn, cal.today)}; nothing more to decide.`;
    default:
      return `:white_check_mark: The owner has since confirmed the compensating control${record.lastCheckinOn ? ` (${calendarDay(record.lastCheckinOn, cal.today)})` : ''}; it no longer needs attention.`;
  }
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
