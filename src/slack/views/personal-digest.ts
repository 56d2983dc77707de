import type { types } from '@slack/bolt';
import type { CheckinAnswer } from '../../db/schema';
import type { CalendarDate } from '../../domain/calendar';
import { STATUS_LABELS } from '../../domain/exception';
import type { ExceptionRecord } from '../../services/exception-record';
import { ACTION_IDS } from '../ids';
import type { SlackMessage } from './exception-cards';
import { calendarDay, calendarDayFrom, escapeMrkdwn, escapeMrkdwnWithin, mention, plainText, slackTime, truncate } from './mrkdwn';
import { viewDetailsButton } from './record-modal';

/** The organisation's calendar: an expiry day ends at midnight in its time zone, whoever reads the message. */
export interface OrgCalendar {
  today: CalendarDate;
  timeZone: string;
}

export interface CheckinState {
  id: number;
  askedOn: CalendarDate;
  answer: CheckinAnswer | null;
  answeredAt: string | null;
  /** A newer question was asked since: only the latest can be answered. */
  superseded: boolean;
}

/** Everything one job run has to tell one person, each item rendered as it stands now. */
export interface PersonalNotices {
  reminders: { record: ExceptionRecord; expiresOn: CalendarDate }[];
  checkins: { record: ExceptionRecord; checkin: CheckinState }[];
  /** Each with the day that ended as its `expiresOn`, even if a renewal approved since has moved the record on. */
  expired: ExceptionRecord[];
}

/** Block Kit allows 50 blocks a message: the items with buttons take at most this many, the rest are named. */
const BLOCKS_FOR_ITEMS = 44;
/** Slack takes about 12,000 characters of text for a whole message: what the items may use together, and each check-in's control. */
const TEXT_ROOM = 10_500;
const CONTROL_TEXT_ROOM = 3000;

function textOf(blocks: types.KnownBlock[]): number {
  return blocks.reduce((n, b) => n + (b.type === 'section' ? (b.text?.text.length ?? 0) : b.type === 'context' ? 200 : 0), 0);
}

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } };
}

function context(text: string): types.ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, 3000) }] };
}

function line(record: ExceptionRecord): string {
  return `*${record.ref}* · ${escapeMrkdwn(truncate(record.title, 150))} (${escapeMrkdwn(record.policy.key)})`;
}

/** "Fri 15 Jan (in 7 days), ending at midnight Europe/London": the zone said once, where the day ends. */
export function endOfDay(day: CalendarDate, cal: OrgCalendar): string {
  return `${calendarDayFrom(day, cal.today)}, ending at midnight ${cal.timeZone}`;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** What became of an exception a reminder or question was about, when it no longer needs the owner's click. */
function outcome(record: ExceptionRecord, cal: OrgCalendar): string {
  switch (record.status) {
    case 'closed':
      return `:white_check_mark: ${record.ref} was *closed*; nothing more to do.`;
    case 'revoked':
      return `:no_entry: ${record.ref} was *revoked*; the ${escapeMrkdwn(record.policy.key)} policy applies again in full.`;
    case 'expired':
      return `:hourglass: ${record.ref} *expired* at the end of ${calendarDay(record.expiresOn ?? record.requestedExpiresOn, cal.today)}.`;
    default:
      return `${record.ref} is ${STATUS_LABELS[record.status].toLowerCase()}.`;
  }
}

function reminderBlocks({ record, expiresOn }: PersonalNotices['reminders'][number], cal: OrgCalendar): types.KnownBlock[] {
  if (record.status === 'active' && record.open) {
    const waiting = record.open.stage === 'assessment' ? 'the security team’s risk assessment' : 'a decision';
    if (record.amendment) {
      // A change of terms never moves the expiry, and no renewal can be asked while it is open; an earlier renewal may have moved it since the reminder.
      return [
        section(
          `${line(record)}\n:hourglass_flowing_sand: Change of terms requested by ${mention(record.amendment.requestedBy)}, waiting for ${waiting}. It does not move the expiry: it ${record.expiresOn && record.expiresOn !== expiresOn ? 'was renewed and now' : 'still'} expires ${endOfDay(record.expiresOn ?? expiresOn, cal)}, and can be renewed once the change is decided.`,
        ),
      ];
    }
    return [section(`${line(record)}\n:hourglass_flowing_sand: Renewal requested${record.renewal ? ` by ${mention(record.renewal.requestedBy)}` : ''}, waiting for ${waiting}. Until it is approved it still expires ${endOfDay(expiresOn, cal)}.`)];
  }
  if (record.status === 'active' && record.expiresOn !== expiresOn && record.expiresOn) {
    return [section(`${line(record)}\n:white_check_mark: *Renewed*: it now expires ${endOfDay(record.expiresOn, cal)}.`)];
  }
  if (record.status !== 'active') return [section(`${line(record)}\n${outcome(record, cal)}`)];
  return [
    section(`${line(record)}\nExpires *${calendarDayFrom(expiresOn, cal.today)}*, ending at midnight ${cal.timeZone}. Renew it with evidence of remediation progress, or close it if the gap is fixed.`),
    {
      type: 'actions',
      block_id: `reminder_${record.id}`,
      elements: [
        { type: 'button', action_id: ACTION_IDS.renew, text: plainText('Renew'), style: 'primary', value: String(record.id) },
        { type: 'button', action_id: ACTION_IDS.close, text: plainText('Close as fixed'), value: String(record.id) },
        viewDetailsButton(record.id),
      ],
    },
  ];
}

function checkinBlocks({ record, checkin }: PersonalNotices['checkins'][number], cal: OrgCalendar, controlRoom: number): types.KnownBlock[] {
  const asked = `Control check-in for ${line(record)}, asked ${calendarDay(checkin.askedOn, cal.today)}`;
  if (checkin.answer === 'yes') {
    return [section(`${asked}\n:white_check_mark: You answered *Yes*${checkin.answeredAt ? ` (${slackTime(checkin.answeredAt)})` : ''}: recorded that the compensating control is in place and working. Thank you.`)];
  }
  if (checkin.answer === 'no') {
    return [
      section(
        `${asked}\n:warning: You answered *No*${checkin.answeredAt ? ` (${slackTime(checkin.answeredAt)})` : ''}: recorded that the compensating control is not in place or not working. The approvers have been told; fix the control or close the exception.`,
      ),
    ];
  }
  if (checkin.superseded) return [section(`This control check-in for ${record.ref} is closed: a newer one was asked, below. Answer that one; only the latest question counts.`)];
  if (record.status !== 'active') return [section(`${asked}\nThis check-in is closed: ${outcome(record, cal)}`)];
  return [
    section(`${asked}:\n*Is the compensating control still in place and working?*\n_Compensating control:_ ${escapeMrkdwnWithin(record.compensatingControls, controlRoom)}`),
    {
      type: 'actions',
      block_id: `checkin_${checkin.id}`,
      elements: [
        { type: 'button', action_id: ACTION_IDS.checkinYes, text: plainText('Yes, it works'), style: 'primary', value: String(checkin.id) },
        { type: 'button', action_id: ACTION_IDS.checkinNo, text: plainText('No'), style: 'danger', value: String(checkin.id) },
      ],
    },
    context('No answer within the grace period is reported to the approvers, as a No would be.'),
  ];
}

function expiredBlocks(expired: ExceptionRecord[], cal: OrgCalendar, room: number): types.KnownBlock[] {
  if (expired.length === 0) return [];
  if (expired.length === 1) {
    const record = expired[0]!;
    return [
      section(
        `:hourglass: ${line(record)} *expired* at the end of ${calendarDay(record.expiresOn ?? record.requestedExpiresOn, cal.today)} (midnight ${cal.timeZone}). The ${escapeMrkdwn(record.policy.key)} policy applies again in full.\n` +
          'If the gap is not fixed yet, request a new exception with `/exception request`.',
      ),
    ];
  }
  const lines = expired.map((r) => `• ${line(r)} · expired at the end of ${calendarDay(r.expiresOn ?? r.requestedExpiresOn, cal.today)}`);
  return [
    section(`:hourglass: *${expired.length} of your exceptions have expired* (at midnight ${cal.timeZone}); their policies apply again in full. If a gap is not fixed yet, request a new exception with \`/exception request\`.`),
    ...chunk(lines, Math.min(9000, room - 400)).map(section),
  ];
}

/** Lines in sections of up to 2,900 characters, and no more than `room` in all; what does not fit is counted. */
function chunk(lines: string[], room: number): string[] {
  const out: string[] = [];
  let current = '';
  let used = 0;
  let shown = 0;
  for (const text of lines) {
    if (used + text.length > room) break;
    if (current && current.length + text.length + 1 > 2900) {
      out.push(current);
      current = '';
    }
    current = current ? `${current}\n${text}` : text;
    used += text.length + 1;
    shown++;
  }
  if (current) out.push(current);
  if (shown < lines.length) out.push(`…and ${lines.length - shown} more.`);
  return out;
}

/** Live: still waiting for the owner's click, as first posted. */
const reminderIsLive = ({ record, expiresOn }: PersonalNotices['reminders'][number]) => record.status === 'active' && !record.open && record.expiresOn === expiresOn;
const checkinIsLive = ({ record, checkin }: PersonalNotices['checkins'][number]) => record.status === 'active' && checkin.answer === null && !checkin.superseded;

/** The notification's words: what still asks for a click, then what happened; an updated message says what it shows now. */
function summaryText(notices: PersonalNotices): string {
  const parts: string[] = [];
  const { reminders, checkins, expired } = notices;
  const soon = reminders.filter(reminderIsLive);
  if (soon.length === 1) parts.push(`${soon[0]!.record.ref} expires soon.`);
  else if (soon.length > 1) parts.push(`${soon.length} of your exceptions expire soon.`);
  const moved = reminders.filter((r) => !reminderIsLive(r)).map((r) => r.record.ref);
  if (moved.length > 0) parts.push(`No longer waiting for you: ${moved.join(', ')}.`);
  const open = checkins.filter(checkinIsLive);
  if (open.length === 1) parts.push(`${open[0]!.record.ref}: is the compensating control still in place and working?`);
  else if (open.length > 1) parts.push(`${open.length} control check-ins: is each compensating control still in place and working?`);
  for (const { record, checkin } of checkins.filter((c) => !checkinIsLive(c))) {
    if (checkin.answer) parts.push(`${record.ref}: you answered ${checkin.answer === 'yes' ? 'Yes' : 'No'} to the control check-in.`);
    else if (checkin.superseded) parts.push(`This control check-in for ${record.ref} is closed: a newer one was asked.`);
    else parts.push(`This control check-in for ${record.ref} is closed: it is no longer active.`);
  }
  if (expired.length === 1) parts.push(`${expired[0]!.ref} has expired; the policy applies again in full.`);
  else if (expired.length > 1) parts.push(`${expired.length} of your exceptions have expired: ${expired.map((r) => r.ref).join(', ')}`);
  return parts.join(' ');
}

/**
 * One DM per person per job run: what asks for a click first (renew or close, answer a check-in), then what has
 * happened (expiries). Rendered from the register each time, so a renewed or closed exception loses its buttons.
 */
export function personalDigest(notices: PersonalNotices, cal: OrgCalendar): SlackMessage | undefined {
  const { reminders, checkins, expired } = notices;
  if (reminders.length + checkins.length + expired.length === 0) return undefined;
  const blocks: types.KnownBlock[] = [];
  const kinds = [reminders.length, checkins.length, expired.length].filter((n) => n > 0).length;
  if (kinds > 1) {
    const counts = [
      reminders.length > 0 ? plural(reminders.length, 'expires soon', 'expire soon') : '',
      checkins.length > 0 ? plural(checkins.length, 'control check-in', 'control check-ins') : '',
      expired.length > 0 ? `${expired.length} expired` : '',
    ].filter(Boolean);
    blocks.push(section(`*Your security exceptions today*: ${counts.join(' · ')}`));
  }
  if (reminders.length > 0) {
    blocks.push(section(reminders.length === 1 ? '*Expires soon.* When it expires the policy applies again in full.' : `*${reminders.length} exceptions you own expire soon.* When an exception expires its policy applies again in full.`));
  }
  const room = Math.floor(CONTROL_TEXT_ROOM / Math.max(1, checkins.length));
  const items = [...reminders.map((r) => ({ ref: r.record.ref, blocks: reminderBlocks(r, cal) })), ...checkins.map((c) => ({ ref: c.record.ref, blocks: checkinBlocks(c, cal, Math.max(200, room)) }))];
  const left: string[] = [];
  let budget = BLOCKS_FOR_ITEMS - blocks.length - (expired.length > 0 ? 6 : 0);
  let textRoom = expired.length > 0 ? TEXT_ROOM - 4000 : TEXT_ROOM;
  for (const item of items) {
    const size = textOf(item.blocks);
    if (item.blocks.length > budget || size > textRoom) {
      left.push(item.ref);
      continue;
    }
    blocks.push(...item.blocks);
    budget -= item.blocks.length;
    textRoom -= size;
  }
  if (left.length > 0) blocks.push(section(truncate(`…and ${left.length} more: ${left.join(', ')}. Use \`/exception show EXC-n\` for each, or see your App Home.`, 2900)));
  if (expired.length > 0) {
    if (blocks.length > 0) blocks.push({ type: 'divider' });
    blocks.push(...expiredBlocks(expired, cal, textRoom + 4000));
  }
  return { text: summaryText(notices), blocks };
}
