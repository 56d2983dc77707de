import type { types } from '@slack/bolt';
import { STATUS_LABELS, type ExceptionStatus } from '../../domain/exception';
import { riskBand } from '../../domain/risk';
import type { ExceptionSummary } from '../../services/list-exceptions';
import type { ListGroup, RecordView, RegisterListing } from '../../services/view-register';
import type { CardContext, SlackMessage } from './exception-cards';
import { calendarDay, calendarDayFrom, escapeMrkdwnWithin, labelledSection, mention, plainText, truncate } from './mrkdwn';
import { appliedSection } from './integration-lines';
import { historyLines, packedSections, partiesLine, recordButtons, rejectionReasons, standingLine, viewDetailsButton } from './record-modal';
import { termChangeBlocks } from './term-change-lines';

function section(text: string): types.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3000) } };
}

function context(text: string): types.ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, 3000) }] };
}

/** What "none" means for each status, said as a fact about the register, not about the reader. */
const NONE_WITH_STATUS: Record<ExceptionStatus, string> = {
  requested: 'No exceptions are waiting for risk assessment',
  pending_approval: 'No exceptions are waiting for approval',
  active: 'No exceptions are active',
  expired: 'No exceptions have expired',
  rejected: 'No exceptions have been rejected',
  closed: 'No exceptions have been closed',
  revoked: 'No exceptions have been revoked',
};

const GROUP_HEADINGS: Record<ListGroup, string> = {
  waiting: 'Waiting for assessment or a decision',
  sent_back: 'Sent back to their requesters for changes',
  expiring_soon: 'Expiring within 14 days',
  needs_attention: 'Needs attention: its control check-in failed or went unanswered',
  active: 'Active',
};

const GROUP_STATUS: Record<ListGroup, string> = { waiting: 'pending_approval', sent_back: 'requested', expiring_soon: 'active', needs_attention: 'active', active: 'active' };

function line(r: ExceptionSummary, ctx: CardContext, today: string, renewing: ReadonlySet<number>, changing: ReadonlySet<number>): string {
  const renewal = renewing.has(r.id) ? ` · ${changing.has(r.id) ? 'the change of its terms' : 'its renewal'} waits for assessment or a decision` : '';
  const until = r.status === 'active' && r.expiresOn ? ` · until ${calendarDayFrom(r.expiresOn, today)}` : r.expiresOn ? ` · ${calendarDay(r.expiresOn, today)}` : '';
  const risk = r.riskScore === null ? '' : ` · risk ${r.riskScore} (${riskBand(r.riskScore, ctx.committeeRiskThreshold)})`;
  return `*${r.ref}* · ${escapeMrkdwnWithin(r.title, 120)} · ${escapeMrkdwnWithin(r.policyKey, 64)} · ${r.sentBack ? 'Sent back for changes' : STATUS_LABELS[r.status]}${until}${renewal}${risk} · owner ${mention(r.ownerId)}`;
}

function linesIn(rows: readonly ExceptionSummary[], ctx: CardContext, today: string, renewing: ReadonlySet<number> = new Set(), changing: ReadonlySet<number> = new Set()): types.SectionBlock[] {
  const lines = rows.map((r) => line(r, ctx, today, renewing, changing));
  const blocks: types.SectionBlock[] = [];
  for (let i = 0; i < lines.length; i += 10) blocks.push(section(lines.slice(i, i + 10).join('\n')));
  return blocks;
}

/** `/exception list`: one line per exception; `list all` groups the open register by what needs attention first. */
export function registerList(listing: RegisterListing, ctx: CardContext): SlackMessage {
  const { today } = listing;
  if (listing.groups) {
    if (listing.groups.length === 0) return { text: 'No exceptions are open.', blocks: [section('No exceptions are open: none waits, none is active.')] };
    const renewing = new Set(listing.renewing);
    const changing = new Set(listing.changingTerms);
    const blocks: types.KnownBlock[] = [section('*The register*, what needs attention first:')];
    for (const group of listing.groups) {
      blocks.push(section(`*${GROUP_HEADINGS[group.group]}* (${group.total})`), ...linesIn(group.rows, ctx, today, renewing, changing));
      const left = group.total - group.rows.length;
      if (left > 0) blocks.push(context(`…and ${left} more. \`/exception list all ${GROUP_STATUS[group.group]}\` lists them by status, or ask for the export.`));
    }
    const ended = Object.entries(listing.ended ?? {}).filter(([, n]) => n > 0);
    if (ended.length > 0) {
      blocks.push(context(`Not shown: ${ended.map(([status, n]) => `${n} ${STATUS_LABELS[status as ExceptionStatus].toLowerCase()}`).join(', ')}. \`/exception list all expired\` (or rejected, closed, revoked) lists them.`));
    }
    blocks.push(context(`See one in full with \`/exception show ${listing.rows[0]?.ref ?? 'EXC-1'}\`.`));
    const shown = listing.rows.length;
    return { text: `${shown} open exceptions${listing.more ? ' shown, and more' : ''}`, blocks };
  }
  if (listing.rows.length === 0) {
    const none = listing.status
      ? `${NONE_WITH_STATUS[listing.status]}${listing.scope === 'mine' ? ' among those you requested or own' : ''}.`
      : listing.scope === 'mine'
        ? 'You have no exceptions as requester or owner.'
        : 'No exceptions match.';
    return { text: none, blocks: [section(listing.status ? none : `${none} Request one with \`/exception request\`.`)] };
  }
  const heading = listing.scope === 'mine' ? '*Your exceptions* (as requester or owner), newest first:' : `*The register*${listing.status ? `, ${STATUS_LABELS[listing.status].toLowerCase()}` : ''}, newest first:`;
  const blocks: types.KnownBlock[] = [section(heading), ...linesIn(listing.rows, ctx, today)];
  if (listing.more) blocks.push(context('More exceptions match: narrow with a status (e.g. `/exception list all active`) or ask for the export.'));
  blocks.push(context(`See one in full with \`/exception show ${listing.rows[0]!.ref}\`.`));
  return { text: `${listing.rows.length}${listing.more ? '+' : ''} exceptions`, blocks };
}

/** How many of the latest events `show` lists; the record modal has them all. */
const SHOW_HISTORY = 15;

/** Slack takes about 12,000 characters of text in one message; `show` keeps a margin below it. */
const MESSAGE_TEXT_ROOM = 11_000;

/** Characters of text in blocks, counted as Slack counts them (code points of every `text`). */
function textLength(blocks: readonly types.KnownBlock[]): number {
  const count = (value: unknown): number => {
    if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + count(item), 0);
    if (value === null || typeof value !== 'object') return 0;
    return Object.entries(value).reduce((sum: number, [key, item]) => sum + (key === 'text' && typeof item === 'string' ? Array.from(item).length : count(item)), 0);
  };
  return count(blocks);
}

/**
 * `/exception show`: where it stands and what the reader may do, why it ended if it did, the request's own text,
 * then its latest history in plain words, as much as fits. All of it is one click away in the record modal.
 */
export function recordDetails(view: RecordView, ctx: CardContext): SlackMessage {
  const { record, history, today } = view;
  const fields: [label: string, value: string | null, budget: number][] = [
    [record.status === 'revoked' ? 'Why it was revoked' : 'Closing note', record.closingNote, 800],
    ['Scope', record.scope, 700],
    ['Business justification', record.justification, 900],
    ['Compensating control', record.compensatingControls, 900],
    ['Affected systems', record.affectedSystems, 300],
    ['External reference', record.externalRef, 200],
    ['Why structural', record.structuralReason, 500],
  ];
  const blocks: types.KnownBlock[] = [
    { type: 'header', text: plainText(`${record.ref} · ${record.title}`, 150) },
    section(standingLine(record, ctx, today)),
    context(partiesLine(record, today)),
    { type: 'actions', block_id: `record_${record.id}`, elements: [...recordButtons(view), viewDetailsButton(record.id)] },
    ...rejectionReasons(record, 700),
    ...appliedSection(record.status, record.integration),
    ...fields.flatMap(([label, value, budget]) => (value ? [labelledSection(label, value, budget)] : [])),
    // A change of terms waiting, in both versions; once decided the history says so, and the record modal keeps both.
    ...(record.amendment && record.open ? termChangeBlocks(record.amendment, 500) : []),
  ];
  const room = MESSAGE_TEXT_ROOM - textLength(blocks);
  let lines = historyLines(history.slice(-SHOW_HISTORY), ctx, today, 180);
  while (lines.length > 1 && lines.reduce((sum, l) => sum + Array.from(l).length + 1, 0) > room - 120) lines = lines.slice(1);
  const heading = `*History*${history.length > lines.length ? ` (the latest ${lines.length} of ${history.length}; *View details* has them all)` : ''}`;
  blocks.push(...packedSections(lines, heading));
  return { text: `${record.ref}: ${STATUS_LABELS[record.status]}`, blocks };
}
