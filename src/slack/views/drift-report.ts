import type { types } from '@slack/bolt';
import { formatExceptionRef } from '../../domain/exception';
import { VENDOR_LABELS } from '../../integrations/port';
import type { DriftReportItem } from '../../services/run-reconciliation';
import type { SlackMessage } from './exception-cards';
import { escapeMrkdwnWithin, truncate } from './mrkdwn';

/** Slack's 3,000 characters a section, with room to spare for the entities escaping adds. */
const SECTION_CHARS = 2900;
/** Of the 12,000 characters all the blocks of a message may hold together. */
const LIST_BUDGET = 9000;
/** Of Slack's 50 blocks a message: the heading, the "more" note and the footnote keep theirs. */
const MAX_LIST_SECTIONS = 40;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** Findings of one kind about one group (and, for people missing, one exception): said in one sentence. */
interface Entry {
  first: DriftReportItem;
  people: string[];
}

function grouped(findings: readonly DriftReportItem[]): Entry[] {
  const entries = new Map<string, Entry>();
  for (const item of findings) {
    const key = JSON.stringify([item.vendor, item.groupName, item.kind, item.exceptionId ?? null]);
    const entry = entries.get(key);
    if (entry) entry.people.push(item.person);
    else entries.set(key, { first: item, people: [item.person] });
  }
  return [...entries.values()];
}

function listOf(names: readonly string[], others: number): string {
  const all = others > 0 ? [...names, plural(others, 'other', 'others')] : [...names];
  return all.length <= 1 ? (all[0] ?? '') : `${all.slice(0, -1).join(', ')} and ${all.at(-1)}`;
}

/** The finding and what to do about it, in the words of the security team; `others` are counted, not named. */
export function driftLine(item: Pick<DriftReportItem, 'vendor' | 'groupName' | 'kind' | 'exceptionId'>, people: readonly string[], others = 0): string {
  const vendor = VENDOR_LABELS[item.vendor];
  const group = `${vendor} group *${escapeMrkdwnWithin(item.groupName, 200)}*`;
  const who = listOf(
    people.map((person) => escapeMrkdwnWithin(person, 254)),
    others,
  );
  const one = people.length + others === 1;
  if (item.kind === 'uncovered') {
    return `${group}: ${who} ${one ? 'is' : 'are'} in the group without an exception covering them (added by hand, or left behind). Remove them in ${vendor}, or request an exception that covers them.`;
  }
  return `*${formatExceptionRef(item.exceptionId ?? 0)}* covers ${who}, who ${one ? 'is' : 'are'} not in ${group}: add them, or amend the exception.`;
}

/** Past this many names in one sentence, the advice is lost in the list: the rest are counted. */
const NAMED_PER_LINE = 10;

/** As many of the entry's people as fit in `room` characters (and NAMED_PER_LINE), the rest counted. */
function fittedLine(entry: Entry, room: number): { line: string; accounted: number } | undefined {
  for (let named = Math.min(entry.people.length, NAMED_PER_LINE); named >= 1; named--) {
    const line = `• ${driftLine(entry.first, entry.people.slice(0, named), entry.people.length - named)}`;
    if (line.length <= room) return { line, accounted: entry.people.length };
  }
  return undefined;
}

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } };
}

/**
 * One post per reconciliation run in the approvals channel, naming each new finding once, one sentence per group
 * and kind. Lines are packed into sections as they fit; what is past the message's limits is counted, never cut.
 */
export function driftReport(findings: readonly DriftReportItem[], total: number): SlackMessage {
  const vendors = [...new Set(findings.map((item) => VENDOR_LABELS[item.vendor]))];
  const where = vendors.length > 0 ? vendors.join(' and ') : 'the identity providers';
  const heading = `:mag: *The daily reconciliation found ${plural(total, 'difference', 'differences')}* between the register and ${where}.`;
  const sections: types.SectionBlock[] = [];
  let current = '';
  let used = 0;
  let accounted = 0;
  for (const entry of grouped(findings)) {
    const fitted = fittedLine(entry, Math.min(SECTION_CHARS, LIST_BUDGET - used));
    if (!fitted) break;
    if (current && current.length + 1 + fitted.line.length > SECTION_CHARS) {
      if (sections.length + 1 >= MAX_LIST_SECTIONS) break;
      sections.push(section(current));
      current = '';
    }
    current = current ? `${current}\n${fitted.line}` : fitted.line;
    used += fitted.line.length + 1;
    accounted += fitted.accounted;
  }
  if (current) sections.push(section(current));
  const more = total - accounted;
  return {
    text: `The daily reconciliation found ${plural(total, 'difference', 'differences')} between the register and ${where}.`,
    blocks: [
      section(heading),
      ...sections,
      ...(more > 0 ? [section(`…and ${more} more, each recorded in the audit trail (integration.drift_found).`)] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'Each difference is posted once. Once it is put right it is forgotten, so if it comes back it is posted again.' }] },
    ],
  };
}
